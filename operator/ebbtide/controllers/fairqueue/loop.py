"""When admission cycles run: after changes, batched; periodically; never two at once.

One thread runs every cycle, so cycles never overlap. A change (:meth:`AdmissionLoop.poke`,
called from informer threads) wakes the thread, which waits ``debounce`` seconds so that the
burst a single change causes (a Job finishing, a hundred pods arriving) makes one cycle, then
runs. The wait is fixed, not reset by further pokes: a steady stream of changes still gets a
cycle every ``debounce`` seconds rather than none. The wait grows to the last cycle's planning
time when that was longer: planning over a huge backlog then takes at most half of a core, and
more changes are batched into each plan instead of replanning for each. (Waiting for writes
does not count: it costs the operator nothing.)

Without changes a cycle runs every ``resync`` seconds anyway (a safety net: capacity freed by
something no watch reports, a write that failed). A cycle that asks for more (left-over waiting
notes, an admission to redo) gets another one after the wait; one that fails waits
``failure_delay`` first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger(__name__)


class CycleOutcome(Protocol):
    @property
    def more(self) -> bool: ...

    @property
    def plan_seconds(self) -> float: ...


class AdmissionLoop:
    """The admission thread; :meth:`poke` is thread-safe and never blocks."""

    def __init__(
        self,
        *,
        cycle: Callable[[], CycleOutcome],
        debounce: float = 0.2,
        resync: float = 30.0,
        failure_delay: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cycle = cycle
        self.debounce = debounce
        self.resync = resync
        self.failure_delay = failure_delay
        self._clock = clock
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.cycles = 0
        self.last_cycle_at: float | None = None
        self.last_error: str | None = None
        self.last_duration = 0.0

    def poke(self) -> None:
        """Ask for a cycle soon."""
        self._wanted.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ebbtide-admission", daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 30.0) -> None:
        """Stop after the cycle in progress, if any (its writes are not cut short)."""
        self._stopping.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            poked = self._wanted.wait(self.resync)
            if poked and self._stopping.wait(max(self.debounce, self.last_duration)):
                return
            if self._stopping.is_set():
                return
            self._wanted.clear()
            if self._run_one():
                self._wanted.set()

    def _run_one(self) -> bool:
        """One cycle; True when another is wanted right after."""
        try:
            outcome = self._cycle()
        except Exception as error:
            self.last_error = repr(error)
            logger.exception("admission cycle failed")
            self._stopping.wait(self.failure_delay)
            return True
        self.cycles += 1
        self.last_cycle_at = self._clock()
        self.last_duration = outcome.plan_seconds
        self.last_error = None
        return outcome.more
