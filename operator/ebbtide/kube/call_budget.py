"""How long one Kubernetes call of a scaling round may take, and how many times it is tried.

A round runs every ``spec.interval`` (15 s by default), and the next round is the natural retry of
anything that failed, so a call gets a short budget: 3 s to connect, 10 s for each read, and one
retry for network errors, 429 and 5xx (see :mod:`ebbtide.kube.retrying`). A server that accepts
the connection and never answers costs two tries of 3 + 10 s and the backoff between them
(about 0.1 s): about 26 s. The read timeout bounds each wait for data, not the whole answer, so
an answer that keeps trickling in can take longer. A longer budget would only make a stuck
round hold a thread of the pool that every policy shares.
"""

from __future__ import annotations

from typing import Final

#: ``_request_timeout`` of a round's calls: (connect, read) seconds.
CALL_TIMEOUT: Final = (3.0, 10.0)
#: Tries per call (the first and one retry).
CALL_ATTEMPTS: Final = 2

#: ``_request_timeout`` of a fenced write (a target's replicas): ownership is checked right before
#: it, and it must land within the shard's ``write_budget`` (4 s, see
#: :class:`ebbtide.sharding.ownership.ShardTiming`), so it is tried once, with a short timeout.
#: A write that fails is the next round's.
FENCED_WRITE_TIMEOUT: Final = (1.5, 2.5)
