"""A token bucket: at most ``burst`` things at once, then ``rate`` per second on average.

Used where writes that only report (Events) must yield to the writes that do the work: a burst
of 10,000 admissions would otherwise add 10,000 Event writes to an API server that is already
the bottleneck. Kubernetes' own clients limit their request rate the same way (client-go's
``flowcontrol.NewTokenBucketRateLimiter``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Thread-safe; :meth:`take` never blocks. The bucket starts full."""

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1, got {rate}, {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._filled_at = clock()

    def take(self) -> bool:
        """Take one token if there is one: True if taken, False if the bucket is empty."""
        with self._lock:
            now = self._clock()
            # A clock that goes backwards adds nothing (monotonic clocks do not; test clocks may).
            elapsed = max(0.0, now - self._filled_at)
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            self._filled_at = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True
