"""The one place API calls are retried.

A call is retried, with exponential backoff and jitter, when the failure says nothing about
the request itself: a network error (no answer), a 5xx, or a 429 (the API server's priority
and fairness asking the client to come back later; Kubernetes' own clients retry it too).
Any other 4xx is final and raised at once: sending the same request again cannot succeed. A
409 Conflict is raised too: the caller must re-read the object and decide again, which no
blind retry can do for it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import urllib3
from kubernetes.client.exceptions import ApiException

from ebbtide.kube.errors import ApiError, api_error

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: ``_request_timeout`` for single requests: (connect, read) seconds. Watches set their own.
REQUEST_TIMEOUT: Final = (5.0, 30.0)

#: Statuses that retrying may cure; 0 is the client's status for a TLS or connection failure.
RETRYABLE_STATUSES = frozenset({0, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Backoff:
    """``attempts`` tries, waiting ``initial * factor**n`` between them (capped at ``maximum``,
    varied by +-``jitter`` of itself so that many clients do not retry in step)."""

    attempts: int = 5
    initial: float = 0.1
    factor: float = 2.0
    maximum: float = 5.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.factor**attempt)
        return base * (1 + random.uniform(-self.jitter, self.jitter))


DEFAULT_BACKOFF = Backoff()


def is_retryable(error: BaseException) -> bool:
    """True for failures another attempt may cure (see the module docstring)."""
    if isinstance(error, ApiException):
        return error.status is None or error.status in RETRYABLE_STATUSES
    return isinstance(error, urllib3.exceptions.HTTPError | OSError)


def with_retries(
    call: Callable[[], T],
    *,
    attempts: int | None = None,
    what: str = "API call",
    backoff: Backoff = DEFAULT_BACKOFF,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """``call()``, retried per the module's rule; the last error is raised when attempts run out.

    ``attempts`` overrides ``backoff.attempts`` (1 means a single try); ``sleep`` defaults to
    ``time.sleep``, looked up at each wait.
    """
    limit = backoff.attempts if attempts is None else attempts
    attempt = 0
    while True:
        try:
            return call()
        except Exception as error:
            attempt += 1
            if not is_retryable(error) or attempt >= limit:
                if isinstance(error, ApiException) and not isinstance(error, ApiError):
                    raise api_error(error) from error
                raise
            delay = backoff.delay(attempt - 1)
            logger.info("%s failed (%s); retrying in %.2fs", what, _describe(error), delay)
            (sleep or time.sleep)(delay)


def _describe(error: BaseException) -> str:
    if isinstance(error, ApiException):
        return f"{error.status} {error.reason}"
    return repr(error)
