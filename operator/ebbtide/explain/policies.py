"""``ebbtide policies`` and ``ebbtide why scalingpolicy NAME``: what each policy decided, and why.

Everything comes from what the operator wrote: the status (load, forecast, model, the last
decision and its message), the conditions and the Events. The replica counts the load and the
forecast call for are worked out again here with the HPA formula the planner uses as its floor
(``ceil(load / targetPerReplica)``), so a reader can check the arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from ebbtide.api.workloads import parse_timestamp
from ebbtide.explain.events import event_lines, event_rows
from ebbtide.explain.output import age

Obj = Mapping[str, Any]

POLICY_COLUMNS: Final = {
    "NAMESPACE": "namespace",
    "NAME": "name",
    "TARGET": "target",
    "MIN": "minReplicas",
    "MAX": "maxReplicas",
    "CURRENT": "currentReplicas",
    "DESIRED": "desiredReplicas",
    "LOAD": "load",
    "PREDICTED": "predictedLoad",
    "MODEL": "model",
    "MODE": "mode",
    "READY": "ready",
    "REASON": "reason",
    "AGE": "age",
}


def policy_rows(policies: Iterable[Obj], *, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per ScalingPolicy, sorted by namespace and name."""
    now = now or datetime.now(UTC)
    rows = []
    for obj in policies:
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        target = spec.get("targetRef") or {}
        ready = _condition(status, "Ready")
        rows.append(
            {
                "namespace": metadata.get("namespace"),
                "name": metadata.get("name"),
                "target": f"{target.get('kind')}/{target.get('name')}",
                "minReplicas": spec.get("minReplicas"),
                "maxReplicas": spec.get("maxReplicas"),
                "currentReplicas": status.get("currentReplicas"),
                "desiredReplicas": status.get("desiredReplicas"),
                "load": status.get("load"),
                "predictedLoad": status.get("predictedLoad"),
                "model": status.get("model"),
                "mode": spec.get("mode", "Active"),
                "ready": ready.get("status"),
                "reason": (status.get("lastDecision") or {}).get("reason") or ready.get("reason"),
                "message": (status.get("lastDecision") or {}).get("message") or ready.get("message"),
                "age": age(parse_timestamp(metadata.get("creationTimestamp")), now=now),
            }
        )
    return sorted(rows, key=lambda row: (str(row["namespace"]), str(row["name"])))


def explain_policy(obj: Obj, *, events: Sequence[Obj], now: datetime | None = None) -> dict[str, Any]:
    """The explanation of a ScalingPolicy: its row's facts, the conditions, and ``text``."""
    now = now or datetime.now(UTC)
    facts = policy_rows([obj], now=now)[0]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    lines = [
        f"ScalingPolicy {facts['namespace']}/{facts['name']} scales {facts['target']} between "
        f"{facts['minReplicas']} and {facts['maxReplicas']} replicas (mode {facts['mode']})."
    ]
    if not status:
        lines.append(
            "The operator has not reported on it yet: is `ebbtide operator` running the scaling controller?"
        )
    else:
        lines.extend(_decision_lines(facts, spec=spec, status=status, now=now))
    facts["conditions"] = list(status.get("conditions") or ())
    if facts["conditions"]:
        lines.append("Conditions:")
        lines.extend(
            f"  {c.get('type')}={c.get('status')} ({c.get('reason')})"
            + (f": {c['message']}" if c.get("message") else "")
            for c in facts["conditions"]
        )
    facts["events"] = event_rows(events, now=now)
    lines.extend(event_lines(facts["events"]))
    facts["text"] = "\n".join(lines)
    return facts


def replicas_for(load: float | None, target_per_replica: float | None) -> int | None:
    """``ceil(load / targetPerReplica)``, the HPA formula; None when either is unknown."""
    if load is None or not target_per_replica or not math.isfinite(load):
        return None
    return max(0, math.ceil(load / target_per_replica))


def _decision_lines(facts: Mapping[str, Any], *, spec: Obj, status: Obj, now: datetime) -> list[str]:
    lines = [
        f"It wants {_count(facts['desiredReplicas'])} replicas; "
        f"the target has {_count(facts['currentReplicas'])}."
    ]
    decision = status.get("lastDecision") or {}
    if decision:
        when = age(parse_timestamp(decision.get("time")), now=now) if decision.get("time") else None
        lines.append(
            f"Last decision ({when or '?'} ago): {decision.get('reason')}: {decision.get('message', '')}"
        )
    per_replica = (spec.get("metric") or {}).get("targetPerReplica")
    load = status.get("load")
    if load is not None:
        lines.append(
            f"Load now: {load:g}; at {per_replica:g} per replica that alone needs "
            f"{replicas_for(load, per_replica)} replicas."
            if per_replica
            else f"Load now: {load:g}."
        )
    predicted = status.get("predictedLoad")
    horizon = (spec.get("prediction") or {}).get("horizon")
    if predicted is not None:
        lines.append(
            f"Forecast ({status.get('model') or 'model'}, {horizon or 'horizon'} ahead): {predicted:g}, "
            f"which needs {replicas_for(predicted, per_replica)} replicas."
        )
    elif status.get("model") in (None, "None"):
        lines.append("No forecast: the policy scales on observed load only (prediction.model None).")
    return lines


def _count(value: Any) -> str:
    return "?" if value is None else str(value)


def _condition(status: Obj, type_: str) -> Obj:
    return next((c for c in status.get("conditions") or () if c.get("type") == type_), {})
