"""Status conditions shaped like ``metav1.Condition``, and helpers to keep them by type.

A status holds at most one condition per ``type`` (the CRD declares the list a list-map keyed by
``type``). :func:`set_condition` follows ``meta.SetStatusCondition`` from apimachinery:
``lastTransitionTime`` moves only when ``status`` changes, so it tells when the state last
flipped, not when the operator last looked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ebbtide.api.base import StatusModel

ConditionStatus = Literal["True", "False", "Unknown"]

#: At most this many conditions per object (bounds the CRD's list for CEL cost estimation).
MAX_CONDITIONS = 16
#: metav1.Condition's patterns: a qualified name for ``type``, a CamelCase word for ``reason``.
TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"


class Condition(StatusModel):
    """One aspect of the object's current state, shaped like metav1.Condition."""

    type: str = Field(max_length=316, pattern=TYPE_PATTERN)
    """Type of condition in CamelCase, e.g. Ready. Unique within the list."""
    status: ConditionStatus
    """Status of the condition: True, False or Unknown."""
    observed_generation: int | None = Field(default=None, ge=0)
    """The metadata.generation the condition was set for; older than the object's generation
    means the condition is out of date."""
    last_transition_time: datetime
    """When the condition last changed from one status to another."""
    reason: str = Field(min_length=1, max_length=1024, pattern=REASON_PATTERN)
    """A programmatic identifier for the reason of the last transition, in CamelCase."""
    message: str = Field(default="", max_length=32768)
    """A human-readable message with details about the transition; may be empty."""


def find_condition(conditions: Sequence[Condition], type_: str) -> Condition | None:
    """The condition of the given type, or None if there is none."""
    return next((condition for condition in conditions if condition.type == type_), None)


def is_condition_true(conditions: Sequence[Condition], type_: str) -> bool:
    """True only if a condition of this type exists and its status is ``"True"``."""
    condition = find_condition(conditions, type_)
    return condition is not None and condition.status == "True"


def set_condition(
    conditions: list[Condition],
    *,
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str = "",
    observed_generation: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Add or update the condition of ``type_`` in place; True if the list changed.

    ``lastTransitionTime`` becomes ``now`` (default: the current UTC time, to the second) when
    the condition is new or its status changes, and is kept otherwise, even if the reason or
    the message change.
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    existing = find_condition(conditions, type_)
    if existing is None:
        conditions.append(
            Condition(
                type=type_,
                status=status,
                reason=reason,
                message=message,
                observed_generation=observed_generation,
                last_transition_time=now,
            )
        )
        return True
    updated = existing.model_copy(
        update={
            "status": status,
            "reason": reason,
            "message": message,
            "observed_generation": observed_generation,
            "last_transition_time": (now if existing.status != status else existing.last_transition_time),
        }
    )
    if updated == existing:
        return False
    conditions[conditions.index(existing)] = updated
    return True


def remove_condition(conditions: list[Condition], type_: str) -> bool:
    """Remove the condition of ``type_`` in place; True if there was one."""
    existing = find_condition(conditions, type_)
    if existing is None:
        return False
    conditions.remove(existing)
    return True


def _unique_types(conditions: list[Condition]) -> list[Condition]:
    types = [condition.type for condition in conditions]
    duplicates = sorted({type_ for type_ in types if types.count(type_) > 1})
    if duplicates:
        raise ValueError(f"duplicate condition type(s): {', '.join(duplicates)}")
    return conditions


#: The ``conditions`` field type of a status: a list-map keyed by ``type`` in the CRD.
Conditions = Annotated[
    list[Condition],
    AfterValidator(_unique_types),
    Field(
        max_length=MAX_CONDITIONS,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    ),
]
