"""How long one Kubernetes call of a scaling round may take, and how many times it is tried.

A round runs every ``spec.interval`` (15 s by default), and the next round is the natural retry of
anything that failed, so a call gets a short budget: a 10 s read timeout and one retry for
network errors and 5xx (see :mod:`ebbtide.kube.retrying`), at most about 20 s in the worst case.
A longer budget would only make a stuck round hold a thread of the pool that every policy shares.
"""

from __future__ import annotations

from typing import Final

#: ``_request_timeout`` of a round's calls: (connect, read) seconds.
CALL_TIMEOUT: Final = (3.0, 10.0)
#: Tries per call (the first and one retry).
CALL_ATTEMPTS: Final = 2
