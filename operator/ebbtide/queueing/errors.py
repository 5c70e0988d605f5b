"""The exceptions the queueing package raises, all in one place.

Everything derives from :class:`QueueingError`, itself a ``ValueError``: each one means the
caller handed over values the rules cannot be applied to. The planner never raises for a
situation that can happen in a healthy cluster (an unknown queue, a workload too big for its
queue, an empty or zero-capacity cohort); those become wait reasons instead.
"""


class QueueingError(ValueError):
    """Base class of every error raised by ``ebbtide.queueing``."""


class InvalidSnapshotError(QueueingError):
    """The snapshot breaks an invariant: a negative amount, a bad weight, a duplicate name."""


class InvalidDurationError(QueueingError):
    """A duration string (e.g. the ``ebbtide.io/expected-duration`` annotation) does not parse."""
