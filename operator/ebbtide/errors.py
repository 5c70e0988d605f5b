"""Every exception ebbtide raises, in one tree.

EbbtideError
└── InvalidInputError (ValueError): values handed over that the rules cannot be applied to
    ├── MalformedObjectError: a Kubernetes object lacks the shape its API defines
    ├── InvalidQuantityError: not a Kubernetes quantity, or beyond the int64 it must fit
    ├── InvalidDurationError: not a duration such as 90s, 5m or 1h30m
    └── QueueingError: values the fair-queue rules cannot be applied to
        └── InvalidSnapshotError: an amount, a weight or a name breaks an invariant
"""

from __future__ import annotations


class EbbtideError(Exception):
    """Base class of every exception ebbtide defines."""


class InvalidInputError(EbbtideError, ValueError):
    """Values handed over that the rules cannot be applied to; nothing was changed."""


class MalformedObjectError(InvalidInputError):
    """A Kubernetes object does not have the shape its API defines; the message names the field."""


class InvalidQuantityError(InvalidInputError):
    """The text is not a Kubernetes quantity, or its amount is out of range."""


class InvalidDurationError(InvalidInputError):
    """A duration string (a spec field, the ``ebbtide.io/expected-duration`` annotation) does
    not parse, or is longer than the longest duration."""


class QueueingError(InvalidInputError):
    """Values the fair-queue rules cannot be applied to. The planner never raises for a
    situation that can happen in a healthy cluster (an unknown queue, a workload too big for
    its queue, an empty cohort): those become wait reasons instead."""


class InvalidSnapshotError(QueueingError):
    """The snapshot breaks an invariant: a negative amount, a bad weight, a duplicate name."""


class KubeError(EbbtideError):
    """A Kubernetes API request failed. The classes that answer an HTTP status are in
    :mod:`ebbtide.kube.errors` (they are also the client's ``ApiException``)."""
