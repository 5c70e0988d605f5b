"""Why a pending workload is not admitted: the reason strings, all in one place.

Each value is a CamelCase reason as Kubernetes conditions and events use them. The first four
are *never admittable* as things stand (the snapshot itself would have to change); the others
are transient and resolve as capacity frees or shares move.
"""

from enum import StrEnum


class WaitReason(StrEnum):
    # Never admittable with the current queue definitions and capacity.
    QUEUE_NOT_FOUND = "QueueNotFound"
    """The workload names a queue that does not exist."""
    NAMESPACE_NOT_ALLOWED = "NamespaceNotAllowed"
    """The queue's namespace selector does not admit the workload's namespace."""
    EXCEEDS_QUEUE_LIMIT = "ExceedsQueueLimit"
    """The workload alone asks for more than the queue's limit."""
    EXCEEDS_COHORT_CAPACITY = "ExceedsCohortCapacity"
    """The workload alone asks for more than its cohort's whole capacity."""

    # Transient.
    WAITING_FOR_CAPACITY = "WaitingForCapacity"
    """Not enough free capacity in the cohort (it, or its queue's head, waits for some to free)."""
    WAITING_FOR_FAIR_SHARE = "WaitingForFairShare"
    """Free capacity exists but is held for a queue with a stronger claim (fair walk rule 4)."""
    WAITING_FOR_QUEUE_LIMIT = "WaitingForQueueLimit"
    """Admitting it would take the queue's usage above its limit; waits for the queue's own work."""


NEVER_ADMITTABLE = frozenset(
    {
        WaitReason.QUEUE_NOT_FOUND,
        WaitReason.NAMESPACE_NOT_ALLOWED,
        WaitReason.EXCEEDS_QUEUE_LIMIT,
        WaitReason.EXCEEDS_COHORT_CAPACITY,
    }
)
