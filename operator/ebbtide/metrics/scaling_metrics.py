"""The scaling controller's own metrics, on the operator's /metrics (prometheus_client's default
registry).

Per-policy series carry the policy's ``namespace`` and ``name``, beside a small fixed vocabulary
(decision reasons, condition types): an alert on them names the policy that fired. Each policy
only ever sees a few of the reasons, so 500 policies make a few thousand series. A policy's
series, counters included, are removed when its loop ends (the policy is deleted or no longer
ours), as kube-state-metrics drops a deleted object's. Operator-wide series (errors by kind,
durations) carry no policy labels: they describe the operator, not a policy.
"""

from __future__ import annotations

import contextlib

from prometheus_client import Counter, Gauge, Histogram

from ebbtide.metrics.conditions import ConditionGauge

DECISIONS = Counter(
    "ebbtide_scaling_decisions",
    "Replica-count decisions made, by policy and reason (see ScalingPolicy status.lastDecision.reason).",
    ["namespace", "name", "reason"],
)
POLICY_ERRORS = Counter(
    "ebbtide_scaling_policy_errors",
    "Rounds of a policy that could not read its load or could not act, by reason: the Ready "
    "condition's reason (InvalidSpec, TargetNotFound, TargetNotScalable, KubernetesAPIError, "
    "ScaleFailed), MetricsUnavailable, StatusWriteFailed or RoundFailed.",
    ["namespace", "name", "reason"],
)
CONDITIONS = ConditionGauge(
    "ebbtide_scalingpolicy_status_condition",
    "The policy's status conditions: 1 for the condition's current status, 0 for the others.",
    ["namespace", "name"],
)
SCALINGS = Counter(
    "ebbtide_scaling_replica_changes",
    "Changes of a target's replica count the controller made, by direction (up, down).",
    ["direction"],
)
ERRORS = Counter(
    "ebbtide_scaling_errors",
    "Failures in scaling rounds over all policies, by kind (prometheus_query, prometheus_unreachable, "
    "prometheus_timeout, prometheus_server, prometheus_answer, no_data, target_not_found, "
    "target_kind, kube_api, invalid_spec, status_write, round).",
    ["kind"],
)
QUERY_SECONDS = Histogram(
    "ebbtide_prometheus_query_seconds",
    "Duration of the load queries sent to Prometheus, by outcome (ok, error).",
    ["outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
MEMBER = Gauge(
    "ebbtide_scaling_member",
    "1 while this replica holds its membership Lease among the scaling replicas (it decides the "
    "policies the ring gives it), 0 before it joins and whenever it has lost the Lease.",
)
MEMBERS = Gauge(
    "ebbtide_scaling_members",
    "Live scaling replicas, this one included, as this replica last listed their Leases.",
)
POLICY_LOOPS = Gauge(
    "ebbtide_scaling_policy_loops",
    "Policy loops running in this replica: one per ScalingPolicy it watches, owned by it or not.",
)
ROUND_SECONDS = Histogram(
    "ebbtide_scaling_round_seconds",
    "Duration of one policy's round: read target and load, plan, scale, write status.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ROUND_LATENESS_SECONDS = Histogram(
    "ebbtide_scaling_round_lateness_seconds",
    "How long after its scheduled time a policy's round started (an overloaded operator shows here first).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
POOL_WAIT_SECONDS = Histogram(
    "ebbtide_scaling_pool_wait_seconds",
    "How long a blocking call waited for a free thread, by pool (kube, prometheus): the first "
    "sign that the pool is too small for the number of policies.",
    ["pool"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
KUBE_CALL_SECONDS = Histogram(
    "ebbtide_scaling_kube_call_seconds",
    "Duration of the scaling controller's Kubernetes calls (retries included), by call.",
    ["call"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
FORECAST_APE = Gauge(
    "ebbtide_scaling_forecast_error_ratio",
    "Absolute error of the latest forecast whose target time has passed, as a fraction of the "
    "load observed then (0.1 = 10 %).",
    ["namespace", "name"],
)
FORECAST_APE_HISTOGRAM = Histogram(
    "ebbtide_scaling_forecast_absolute_percentage_error_ratio",
    "Absolute percentage errors of forecasts (as fractions), by model, over all policies.",
    ["model"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0),
)
CURRENT_REPLICAS = Gauge(
    "ebbtide_scaling_current_replicas",
    "The target's replica count (its /scale spec) when last read.",
    ["namespace", "name"],
)
DESIRED_REPLICAS = Gauge(
    "ebbtide_scaling_desired_replicas",
    "The replica count last decided (in DryRun mode: the one that would be set).",
    ["namespace", "name"],
)
LOAD = Gauge(
    "ebbtide_scaling_load",
    "The load last read by the policy's query.",
    ["namespace", "name"],
)
PREDICTED_LOAD = Gauge(
    "ebbtide_scaling_predicted_load",
    "The load last forecast for now + prediction.horizon.",
    ["namespace", "name"],
)

_PER_POLICY = (FORECAST_APE, CURRENT_REPLICAS, DESIRED_REPLICAS, LOAD, PREDICTED_LOAD)
_PER_POLICY_AND_REASON = (DECISIONS, POLICY_ERRORS)

#: POLICY_ERRORS reasons besides the Ready condition's.
STATUS_WRITE_FAILED = "StatusWriteFailed"
ROUND_FAILED = "RoundFailed"


def forget_policy(*, namespace: str, name: str) -> None:
    """Remove a policy's per-policy series (its loop has ended: deleted, or not ours any more)."""
    for gauge in _PER_POLICY:
        with contextlib.suppress(KeyError):  # never set for this policy
            gauge.remove(namespace, name)
    for counter in _PER_POLICY_AND_REASON:
        counter.remove_by_labels({"namespace": namespace, "name": name})
    CONDITIONS.forget((namespace, name))
