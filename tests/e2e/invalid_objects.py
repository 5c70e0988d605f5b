"""Objects the API refuses, shared by the unit tests (pydantic) and the e2e tests (API server).

Each :class:`InvalidCase` is a manifest that breaks one constraint of the CRDs, the field path
the error is reported at, and the text both sides must say about it. A CEL rule's message is the
same on both sides (it is defined once, in a :class:`~ebbtide.api.rules.Rule`); for a schema
constraint (types, required fields, bounds, enums, patterns) the API server and pydantic each
word it their own way, so the case names both wordings.

This is a plain module, not a test file: tests load it by path (see ``load()`` in the tests).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

GROUP_VERSION = "ebbtide.io/v1alpha1"

#: Marks a key to delete in :func:`changed`.
DELETE = object()


def changed(obj: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``obj`` with dotted-path ``changes`` applied (``DELETE`` removes a key)."""
    result = copy.deepcopy(obj)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = result
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    return result


def scaling_policy(name: str = "web", **changes: Any) -> dict[str, Any]:
    """A valid ScalingPolicy manifest; keyword arguments are dotted-path changes with ``__``
    for ``.`` (``spec__minReplicas=3``)."""
    obj = {
        "apiVersion": GROUP_VERSION,
        "kind": "ScalingPolicy",
        "metadata": {"name": name},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metric": {
                "query": 'sum(rate(http_requests_total{service="web"}[1m]))',
                "targetPerReplica": 100,
            },
        },
    }
    return changed(obj, {key.replace("__", "."): value for key, value in changes.items()})


def fair_queue(name: str = "batch", **changes: Any) -> dict[str, Any]:
    """A valid FairQueue manifest; keyword arguments as for :func:`scaling_policy`."""
    obj = {
        "apiVersion": GROUP_VERSION,
        "kind": "FairQueue",
        "metadata": {"name": name},
        "spec": {"weight": 2, "order": "FIFO", "cohort": "batch"},
    }
    return changed(obj, {key.replace("__", "."): value for key, value in changes.items()})


@dataclass(frozen=True)
class InvalidCase:
    """One refused object.

    ``path`` is where both sides report the error ("" for the object itself).
    ``server_message`` is a substring of the API server's error, ``python_message`` of the
    pydantic error line at ``path`` (when None, the same text as the server's: a CEL rule).
    ``old`` makes the case an update of ``old`` (whose status is written first): transition
    rules. ``strict`` cases are rejected only with ``fieldValidation=Strict`` (kubectl's
    default); otherwise the API server prunes the unknown field.
    """

    name: str
    obj: dict[str, Any]
    path: str
    server_message: str
    python_message: str | None = None
    old: dict[str, Any] | None = None
    strict: bool = False

    @property
    def kind(self) -> str:
        return str(self.obj["kind"])

    @property
    def expected_python_message(self) -> str:
        return self.server_message if self.python_message is None else self.python_message


REQUIRED = ("Required value", "Field required")
DURATION = "must be a duration such as 15s, 5m or 1h30m"
QUANTITY = "must be a non-negative quantity such as 500m, 2 or 32Gi"

CASES: tuple[InvalidCase, ...] = (
    # --- ScalingPolicy: required fields and types --------------------------------------------
    InvalidCase(
        "maxReplicas missing",
        scaling_policy(spec__maxReplicas=DELETE),
        "spec.maxReplicas",
        *REQUIRED,
    ),
    InvalidCase(
        "targetRef name missing",
        scaling_policy(spec__targetRef__name=DELETE),
        "spec.targetRef.name",
        *REQUIRED,
    ),
    InvalidCase("metric missing", scaling_policy(spec__metric=DELETE), "spec.metric", *REQUIRED),
    InvalidCase(
        "thresholds without scaleDown",
        scaling_policy(spec__thresholds={"scaleUp": 0.8}),
        "spec.thresholds.scaleDown",
        *REQUIRED,
    ),
    InvalidCase(
        "minReplicas is a string",
        scaling_policy(spec__minReplicas="two"),
        "spec.minReplicas",
        "must be of type integer",
        "Input should be a valid integer",
    ),
    InvalidCase(
        "maxReplicas is fractional",
        scaling_policy(spec__maxReplicas=2.5),
        "spec.maxReplicas",
        "must be of type integer",
        "Input should be a valid integer",
    ),
    InvalidCase(
        "tolerance is a string",
        scaling_policy(spec__tolerance="high"),
        "spec.tolerance",
        "must be of type number",
        "Input should be a valid number",
    ),
    InvalidCase(
        "interval is a number",
        scaling_policy(spec__interval=15),
        "spec.interval",
        "must be of type string",
        "must be a duration string such as 15s or 5m",
    ),
    # --- ScalingPolicy: bounds, enums, patterns, formats ----------------------------------
    InvalidCase(
        "negative minReplicas",
        scaling_policy(spec__minReplicas=-1),
        "spec.minReplicas",
        "should be greater than or equal to 0",
        "Input should be greater than or equal to 0",
    ),
    InvalidCase(
        "maxReplicas zero",
        scaling_policy(spec__minReplicas=0, spec__maxReplicas=0),
        "spec.maxReplicas",
        "should be greater than or equal to 1",
        "Input should be greater than or equal to 1",
    ),
    InvalidCase(
        "targetPerReplica zero",
        scaling_policy(spec__metric__targetPerReplica=0),
        "spec.metric.targetPerReplica",
        "should be greater than 0",
        "Input should be greater than 0",
    ),
    InvalidCase(
        "empty query",
        scaling_policy(spec__metric__query=""),
        "spec.metric.query",
        "should be at least 1 chars long",
        "String should have at least 1 character",
    ),
    InvalidCase(
        "tolerance of 1",
        scaling_policy(spec__tolerance=1),
        "spec.tolerance",
        "should be less than 1",
        "Input should be less than 1",
    ),
    InvalidCase(
        "unknown mode",
        scaling_policy(spec__mode="Aggressive"),
        "spec.mode",
        'Unsupported value: "Aggressive"',
        "Input should be 'Active' or 'DryRun'",
    ),
    InvalidCase(
        "negative overload weight",
        scaling_policy(spec__prediction={"overloadWeight": -1}),
        "spec.prediction.overloadWeight",
        "should be greater than or equal to 0",
        "Input should be greater than or equal to 0",
    ),
    InvalidCase(
        "unknown prediction model",
        scaling_policy(spec__prediction={"model": "ARIMA"}),
        "spec.prediction.model",
        'Unsupported value: "ARIMA"',
        "Input should be 'None', 'Naive', 'Linear', 'HoltWinters', 'SeasonalNaive' or 'Auto'",
    ),
    InvalidCase(
        "lowercase target kind",
        scaling_policy(spec__targetRef__kind="deployment"),
        "spec.targetRef.kind",
        "should match '^[A-Z][A-Za-z0-9]*$'",
        "String should match pattern '^[A-Z][A-Za-z0-9]*$'",
    ),
    InvalidCase(
        "rate limit of zero pods",
        scaling_policy(spec__rateLimits={"scaleUp": {"maxPods": 0}}),
        "spec.rateLimits.scaleUp.maxPods",
        "should be greater than or equal to 1",
        "Input should be greater than or equal to 1",
    ),
    InvalidCase(
        "interval without a unit",
        scaling_policy(spec__interval="15"),
        "spec.interval",
        DURATION,
    ),
    InvalidCase(
        "cooldown in words",
        scaling_policy(spec__cooldown={"scaleDown": "5 minutes"}),
        "spec.cooldown.scaleDown",
        DURATION,
    ),
    InvalidCase(
        "negative horizon",
        scaling_policy(spec__prediction={"horizon": "-3m"}),
        "spec.prediction.horizon",
        DURATION,
    ),
    # --- ScalingPolicy: CEL rules -------------------------------------------------------------
    InvalidCase(
        "minReplicas above maxReplicas",
        scaling_policy(spec__minReplicas=5, spec__maxReplicas=3),
        "spec.minReplicas",
        "minReplicas must be less than or equal to maxReplicas",
    ),
    InvalidCase(
        "scaleDown threshold not below scaleUp",
        scaling_policy(spec__thresholds={"scaleUp": 0.5, "scaleDown": 0.5}),
        "spec.thresholds.scaleDown",
        "thresholds.scaleDown must be less than thresholds.scaleUp",
    ),
    InvalidCase(
        "zero horizon",
        scaling_policy(spec__prediction={"horizon": "0s"}),
        "spec.prediction.horizon",
        "horizon must be greater than 0s",
    ),
    InvalidCase(
        "history not longer than horizon",
        scaling_policy(spec__prediction={"horizon": "10m", "history": "10m"}),
        "spec.prediction.history",
        "history must be longer than horizon",
    ),
    InvalidCase(
        "HoltWinters with less than two seasons of history",
        scaling_policy(spec__prediction={"model": "HoltWinters", "history": "36h", "seasonality": "24h"}),
        "spec.prediction.history",
        "history must cover at least two seasons (2 x seasonality) for HoltWinters",
    ),
    InvalidCase(
        "SeasonalNaive with less than a season of history",
        scaling_policy(spec__prediction={"model": "SeasonalNaive", "history": "6h", "seasonality": "24h"}),
        "spec.prediction.history",
        "history must cover at least one season (seasonality) for SeasonalNaive",
    ),
    InvalidCase(
        "zero seasonality",
        scaling_policy(spec__prediction={"seasonality": "0s"}),
        "spec.prediction.seasonality",
        "seasonality must be greater than 0s",
    ),
    InvalidCase(
        "fallback to replicas without a count",
        scaling_policy(spec__fallback={"action": "Replicas"}),
        "spec.fallback.replicas",
        "replicas is required when action is Replicas",
    ),
    InvalidCase(
        "fallback replicas above maxReplicas",
        scaling_policy(spec__fallback={"action": "Replicas", "replicas": 50}),
        "spec.fallback.replicas",
        "fallback.replicas must be between minReplicas and maxReplicas",
    ),
    InvalidCase(
        "interval below one second",
        scaling_policy(spec__interval="500ms"),
        "spec.interval",
        "interval must be at least 1s",
    ),
    InvalidCase(
        "zero rate-limit period",
        scaling_policy(spec__rateLimits={"scaleDown": {"period": "0s"}}),
        "spec.rateLimits.scaleDown.period",
        "period must be greater than 0s",
    ),
    InvalidCase(
        "unknown spec field",
        scaling_policy(spec__replicas=3),
        "spec.replicas",
        'unknown field "spec.replicas"',
        "Extra inputs are not permitted",
        strict=True,
    ),
    # --- FairQueue ------------------------------------------------------------------------------
    InvalidCase(
        "zero weight",
        fair_queue(spec__weight=0),
        "spec.weight",
        "weight must be greater than 0",
    ),
    InvalidCase(
        "negative weight",
        fair_queue(spec__weight=-1.5),
        "spec.weight",
        "weight must be greater than 0",
    ),
    InvalidCase(
        "weight is a string",
        fair_queue(spec__weight="heavy"),
        "spec.weight",
        "must be of type number",
        "Input should be a valid number",
    ),
    InvalidCase(
        "unknown order",
        fair_queue(spec__order="LIFO"),
        "spec.order",
        'Unsupported value: "LIFO"',
        "Input should be 'FIFO', 'RoundRobin', 'ShortestJobFirst', 'Priority' or 'TimeSlice'",
    ),
    InvalidCase(
        "TimeSlice order without its quantum",
        fair_queue(spec__order="TimeSlice"),
        "spec.timeSlice",
        "timeSlice is required when order is TimeSlice, and only then",
    ),
    InvalidCase(
        "a quantum for another order",
        fair_queue(spec__order="FIFO", spec__timeSlice="5m"),
        "spec.timeSlice",
        "timeSlice is required when order is TimeSlice, and only then",
    ),
    InvalidCase(
        "time slice below a second",
        fair_queue(spec__order="TimeSlice", spec__timeSlice="500ms"),
        "spec.timeSlice",
        "timeSlice must be at least 1s",
    ),
    InvalidCase(
        "unknown reclaim policy",
        fair_queue(spec__preemption={"reclaimWithinCohort": "Always"}),
        "spec.preemption.reclaimWithinCohort",
        'Unsupported value: "Always"',
        "Input should be 'Never' or 'LowerShare'",
    ),
    InvalidCase(
        "cohort is not a DNS label",
        fair_queue(spec__cohort="Batch_Jobs"),
        "spec.cohort",
        "should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'",
        "String should match pattern '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'",
    ),
    InvalidCase(
        "queue name is not a DNS label",
        fair_queue(name="batch.queue"),
        "",
        "metadata.name must be a DNS label",
    ),
    InvalidCase(
        "guaranteed cpu above limit",
        fair_queue(spec__guaranteed={"cpu": "8"}, spec__limit={"cpu": "4000m"}),
        "spec.guaranteed.cpu",
        "guaranteed.cpu must be less than or equal to limit.cpu",
    ),
    InvalidCase(
        "guaranteed memory above limit",
        fair_queue(spec__guaranteed={"memory": "64Gi"}, spec__limit={"memory": "32Gi"}),
        "spec.guaranteed.memory",
        "guaranteed.memory must be less than or equal to limit.memory",
    ),
    InvalidCase(
        "cpu that is not a quantity",
        fair_queue(spec__guaranteed={"cpu": "lots"}),
        "spec.guaranteed.cpu",
        QUANTITY,
    ),
    InvalidCase(
        "negative memory limit",
        fair_queue(spec__limit={"memory": "-1Gi"}),
        "spec.limit.memory",
        QUANTITY,
    ),
    InvalidCase(
        "cpu as a fraction",
        fair_queue(spec__capacity={"cpu": 0.5}),
        "spec.capacity.cpu",
        "must be of type integer,string",
        "must be a quantity string or an integer",
    ),
    InvalidCase(
        "In selector without values",
        fair_queue(spec__namespaceSelector={"matchExpressions": [{"key": "team", "operator": "In"}]}),
        "spec.namespaceSelector.matchExpressions[0].values",
        "values must be non-empty when operator is In or NotIn",
    ),
    InvalidCase(
        "unknown selector operator",
        fair_queue(
            spec__namespaceSelector={
                "matchExpressions": [{"key": "team", "operator": "Matches", "values": ["a"]}]
            }
        ),
        "spec.namespaceSelector.matchExpressions[0].operator",
        'Unsupported value: "Matches"',
        "Input should be 'In', 'NotIn', 'Exists' or 'DoesNotExist'",
    ),
    InvalidCase(
        "unknown spec field",
        fair_queue(spec__priority=10),
        "spec.priority",
        'unknown field "spec.priority"',
        "Extra inputs are not permitted",
        strict=True,
    ),
    InvalidCase(
        "cohort changed while workloads are admitted",
        fair_queue(spec__cohort="interactive"),
        "spec.cohort",
        "cohort cannot change while the queue has admitted workloads",
        old=fair_queue(status={"pending": 0, "admitted": 2}),
    ),
)
