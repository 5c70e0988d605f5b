"""A FairQueue's status after a cycle, and whether it differs from what is written.

Figures count this cycle's admissions as done (``pending`` without them, ``admitted``,
``usage`` and ``share`` with them). Conditions (types in :mod:`ebbtide.api.fairqueue_vocabulary`):

* ``Active``: True (``Admitting``) for a valid spec; False (``InvalidSpec``) with the reason
  the spec was refused, in which case the queue admits nothing and its workloads wait; False
  (``Stopped``) while ``spec.stopPolicy`` holds its admissions.
* ``Backlogged``: True while admittable workloads wait, with the wait reason and message of
  the queue's first waiting workload; False (``NoBacklog``) otherwise.
* ``InadmissibleWorkloads``: True while workloads naming the queue can never be admitted as
  things stand (namespace not allowed, more than the limit or the cohort), with the first
  one's reason; False (``AllAdmissible``) otherwise.

``lastTransitionTime`` moves only when a condition's status flips
(:func:`ebbtide.api.set_condition`), so an unchanged queue compares equal and is not written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from ebbtide.api import Condition, ConditionStatus, Quantity, set_condition
from ebbtide.api.fairqueue_vocabulary import (
    CONDITION_ACTIVE,
    CONDITION_BACKLOGGED,
    CONDITION_INADMISSIBLE,
    REASON_ADMITTING,
    REASON_ALL_ADMISSIBLE,
    REASON_INVALID_SPEC,
    REASON_NO_BACKLOG,
    REASON_STOPPED,
)
from ebbtide.api.resources import Resources
from ebbtide.controllers.fairqueue.records import QueueRecord
from ebbtide.queueing import NEVER_ADMITTABLE, Entitlement, QueueStatus, WaitingWorkload


def amounts(cpu_millis: int, memory_bytes: int) -> dict[str, str]:
    """``{"cpu": "1500m", "memory": "4Gi"}``: quantities as a manifest would write them."""
    return {
        "cpu": str(Quantity.from_number(Decimal(cpu_millis) / 1000)),
        "memory": str(Quantity.from_number(memory_bytes, binary=True)),
    }


def _resources(amount: Resources) -> dict[str, str]:
    return amounts(amount.cpu_millis, amount.memory_bytes)


def _entitlement(entitlement: Entitlement) -> dict[str, str]:
    return amounts(math.ceil(entitlement.cpu_millis), math.ceil(entitlement.memory_bytes))


def _current_conditions(status: Mapping[str, Any]) -> list[Condition]:
    try:
        return [Condition.model_validate(item) for item in status.get("conditions") or ()]
    except ValidationError:
        return []  # unreadable conditions are replaced wholesale


def desired_status(
    *,
    record: QueueRecord,
    planned: QueueStatus | None,
    waiting: Sequence[WaitingWorkload],
    pending: int,
    admitted: int,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """The status to write for ``record``, or None when what is written already says it.

    ``planned`` is the plan's figures for the queue (None for an invalid queue); ``waiting``
    are the queue's waiting workloads in plan order; ``pending`` and ``admitted`` are counts
    after this cycle's admissions.
    """
    conditions = _current_conditions(record.status)
    before = [condition.model_copy() for condition in conditions]
    status: dict[str, Any] = {"observedGeneration": record.generation, "pending": pending}
    if planned is None:
        set_condition(
            conditions,
            type_=CONDITION_ACTIVE,
            status="False",
            reason=REASON_INVALID_SPEC,
            message=record.error or "",
            observed_generation=record.generation,
            now=now,
        )
        status.update(admitted=0, usage=None, entitlement=None, share=None)
    else:
        share = planned.share.as_float()
        status.update(
            admitted=admitted,
            usage=_resources(planned.usage),
            entitlement=_entitlement(planned.entitlement),
            share=None if math.isinf(share) else round(share, 3),
        )
        _set_planned_conditions(conditions, planned=planned, waiting=waiting, record=record, now=now)
    status["conditions"] = [c.model_dump(mode="json", by_alias=True) for c in conditions]
    current = {key: record.status.get(key) for key in status if key != "conditions"}
    if conditions == before and current == {k: v for k, v in status.items() if k != "conditions"}:
        return None
    return status


def _set_planned_conditions(
    conditions: list[Condition],
    *,
    planned: QueueStatus,
    waiting: Sequence[WaitingWorkload],
    record: QueueRecord,
    now: datetime | None,
) -> None:
    def put(type_: str, status: ConditionStatus, reason: str, message: str = "") -> None:
        set_condition(
            conditions,
            type_=type_,
            status=status,
            reason=reason,
            message=message,
            observed_generation=record.generation,
            now=now,
        )

    stop = "None" if record.spec is None else record.spec.stop_policy
    if stop == "None":
        put(CONDITION_ACTIVE, "True", REASON_ADMITTING)
    else:
        put(CONDITION_ACTIVE, "False", REASON_STOPPED, f"spec.stopPolicy is {stop}: the queue admits nothing")
    head = next((item for item in waiting if item.reason not in NEVER_ADMITTABLE), None)
    if planned.blocked is not None and head is not None:
        put(CONDITION_BACKLOGGED, "True", str(planned.blocked), head.message)
    else:
        put(CONDITION_BACKLOGGED, "False", REASON_NO_BACKLOG)
    refused = [item for item in waiting if item.reason in NEVER_ADMITTABLE]
    if refused:
        first = refused[0]
        message = (
            f"{len(refused)} workload(s) cannot be admitted as things stand; "
            f"{first.workload.ref}: {first.message}"
        )
        put(CONDITION_INADMISSIBLE, "True", str(first.reason), message)
    else:
        put(CONDITION_INADMISSIBLE, "False", REASON_ALL_ADMISSIBLE)
