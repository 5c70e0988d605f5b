"""The ScalingPolicy custom resource: predictive autoscaling of one scalable workload.

Field docstrings are the CRD's descriptions: they are what ``kubectl explain scalingpolicy``
prints, so they are written for the user of the manifest.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar, Literal

from pydantic import Field

from ebbtide.api.base import KubeModel, PrinterColumn, Resource, StatusModel
from ebbtide.api.conditions import REASON_PATTERN, Conditions
from ebbtide.api.duration import Duration, when_durations_parse
from ebbtide.api.rules import Rule

PredictionModelName = Literal["None", "Naive", "Linear", "HoltWinters", "SeasonalNaive", "Auto"]
FallbackAction = Literal["Hold", "Replicas"]
ScalingMode = Literal["Active", "DryRun"]
PausedDirections = Literal["None", "ScaleUp", "ScaleDown", "Both"]

_SECOND = timedelta(seconds=1)


class TargetRef(KubeModel):
    """The workload to scale: any resource with a /scale subresource, in the policy's namespace."""

    api_version: str = Field(default="apps/v1", min_length=1, max_length=253)
    """API version of the target, e.g. apps/v1."""
    kind: str = Field(min_length=1, max_length=63, pattern=r"^[A-Z][A-Za-z0-9]*$")
    """Kind of the target, e.g. Deployment or StatefulSet."""
    name: str = Field(min_length=1, max_length=253)
    """Name of the target in the policy's namespace."""


class MetricSpec(KubeModel):
    """Where the load comes from and how much of it one replica should carry."""

    query: str = Field(min_length=1, max_length=8192)
    """PromQL instant query returning the workload's total load as a single sample, e.g.
    sum(rate(http_requests_total{service="web"}[1m])). An empty result or NaN is a failure
    (see fallback), never zero load."""
    target_per_replica: float = Field(gt=0)
    """Load one replica should carry (like an HPA AverageValue target): the desired replica
    count is ceil(load / targetPerReplica)."""


class Thresholds(KubeModel):
    """A utilisation band that gates scaling, utilisation = load / (replicas x targetPerReplica).

    Replicas are added only while utilisation > scaleUp and removed only while utilisation <
    scaleDown; in between the replica count holds. Without thresholds only the tolerance
    applies.
    """

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.scaleDown < self.scaleUp",
            message="thresholds.scaleDown must be less than thresholds.scaleUp",
            check=lambda t: t.scale_down < t.scale_up,
            field_path=".scaleDown",
        ),
    )

    scale_up: float = Field(gt=0)
    """Scale up only while utilisation is above this, e.g. 0.8."""
    scale_down: float = Field(ge=0)
    """Scale down only while utilisation is below this, e.g. 0.3. Must be less than scaleUp."""


class Cooldown(KubeModel):
    """How long to wait after a change before the next change in the same direction."""

    scale_up: Duration = timedelta(0)
    """Minimum time between two scale-ups, e.g. 30s. 0s scales up as soon as the load needs it."""
    scale_down: Duration = timedelta(minutes=5)
    """Scale-down stabilisation window: replicas are only removed down to the highest
    recommendation of this window, so a short dip does not remove pods, e.g. 5m."""


class _RateLimit(KubeModel):
    """Within any period, replicas change by at most max(maxPods, maxPercent% of the current
    replicas), like HPA scaling policies with selectPolicy Max."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel=when_durations_parse("duration(self.period) > duration('0s')"),
            message="period must be greater than 0s",
            check=lambda limit: limit.period > timedelta(0),
            field_path=".period",
        ),
    )

    max_pods: int | None = Field(default=None, ge=1)
    """At most this many pods may change within a period (or maxPercent%, whichever is more)."""
    max_percent: int = Field(default=100, ge=1)
    """At most this percentage of the current replicas may change within a period (or maxPods,
    whichever is more)."""
    period: Duration = timedelta(seconds=15)
    """The window the limits apply to, e.g. 15s or 1m."""


class ScaleUpRateLimit(_RateLimit):
    """How fast replicas may be added: within any period, by at most max(maxPods, maxPercent%
    of the current replicas), like an HPA scaling policy with selectPolicy Max."""

    max_pods: int | None = Field(default=4, ge=1)
    """At most this many pods may be added within a period (or maxPercent%, whichever is more).
    Null: no pod cap, only maxPercent limits."""


class ScaleDownRateLimit(_RateLimit):
    """How fast replicas may be removed: within any period, by at most max(maxPods, maxPercent%
    of the current replicas), like an HPA scaling policy with selectPolicy Max."""

    max_pods: int | None = Field(default=None, ge=1)
    """At most this many pods may be removed within a period (or maxPercent%, whichever is
    more). Unset: no pod cap, only maxPercent limits."""


class RateLimits(KubeModel):
    """Limits on how fast the replica count may change, per direction."""

    scale_up: ScaleUpRateLimit | None = None
    """Limits on adding replicas. Unset: none (maxReplicas bounds the count); an empty object
    paces scale-ups as the HPA does by default (4 pods or 100% per 15s, whichever is more). The HPA
    paces itself because it reads a per-pod average that moves as new pods start; ebbtide sizes
    by the workload's total load, so a limit only delays the replicas a ramp or a forecast asks
    for (a ramp from 1 to 30 replicas waits three periods more under the HPA's)."""
    scale_down: ScaleDownRateLimit = Field(default_factory=ScaleDownRateLimit)
    """Limits on removing replicas (default: 100% per 15s)."""


def _history_seconds(prediction: PredictionSpec) -> int:
    return (prediction.history or timedelta(0)) // _SECOND


def _season_seconds(prediction: PredictionSpec) -> int:
    return (prediction.seasonality or timedelta(0)) // _SECOND


class PredictionSpec(KubeModel):
    """How load is forecast. The policy provisions for an upper quantile of the load it
    forecasts at now+horizon (never below what the observed load needs), and scales down
    early when the forecast is confident the load stays low until a removed replica could be
    back."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel=when_durations_parse("duration(self.horizon) > duration('0s')"),
            message="horizon must be greater than 0s",
            check=lambda p: p.horizon > timedelta(0),
            field_path=".horizon",
        ),
        Rule(
            cel=when_durations_parse("!has(self.history) || duration(self.history) > duration(self.horizon)"),
            message="history must be longer than horizon",
            check=lambda p: p.history is None or p.history > p.horizon,
            field_path=".history",
        ),
        Rule(
            cel=when_durations_parse("!has(self.seasonality) || duration(self.seasonality) > duration('0s')"),
            message="seasonality must be greater than 0s",
            check=lambda p: p.seasonality is None or p.seasonality > timedelta(0),
            field_path=".seasonality",
        ),
        Rule(
            cel=when_durations_parse(
                "self.model != 'HoltWinters' || !has(self.seasonality) || !has(self.history) || "
                "duration(self.history).getSeconds() >= "
                "2 * duration(self.seasonality).getSeconds()"
            ),
            message="history must cover at least two seasons (2 x seasonality) for HoltWinters",
            check=lambda p: (
                p.model != "HoltWinters"
                or p.seasonality is None
                or p.history is None
                or _history_seconds(p) >= 2 * _season_seconds(p)
            ),
            field_path=".history",
        ),
        Rule(
            cel=when_durations_parse(
                "self.model != 'SeasonalNaive' || !has(self.seasonality) || !has(self.history) || "
                "duration(self.history) >= duration(self.seasonality)"
            ),
            message="history must cover at least one season (seasonality) for SeasonalNaive",
            check=lambda p: (
                p.model != "SeasonalNaive"
                or p.seasonality is None
                or p.history is None
                or p.history >= p.seasonality
            ),
            field_path=".history",
        ),
    )

    model: PredictionModelName = "Auto"
    """Forecasting model. None: purely reactive scaling on observed load. Naive: the load stays
    where it is (its uncertainty does the work). Linear: the least-squares trend of the last
    four horizons. HoltWinters: exponential smoothing with trend and season. SeasonalNaive: the
    load one season ago, moved by the level shift since. Auto: the candidate (Naive, Linear,
    SeasonalNaive when there is a season) that needed the least capacity for the same
    protection on the policy's own recent history (status.model, status.candidateScores)."""
    horizon: Duration = timedelta(minutes=3)
    """How far ahead to forecast. Set it to at least the pods' start-up time, so new pods are
    ready when the load arrives; the excess over the start-up time is the safety margin of a
    scale-down on the forecast. Must be greater than 0s."""
    history: Duration | None = None
    """How much past load the model reads from Prometheus. Unset: what the model needs (6h;
    for a seasonal model or Auto two seasons and an hour, or 3 days to find the season in when
    seasonality is unset). Must be longer than horizon."""
    # Nullable so that a manifest may spell "find the season" as `seasonality: null` too (a
    # server-side apply refuses a null for a field whose schema does not allow one).
    seasonality: Duration | None = Field(default=None, json_schema_extra={"nullable": True})
    """Length of one season (the load's repeating cycle), e.g. 24h for a daily pattern or 168h
    for a weekly one. Unset or null: found in the history (the strongest autocorrelation peak
    that is a cycle: the load half a season apart is at most half as alike; none if no peak
    is)."""
    quantile: float = Field(default=0.95, ge=0.5, lt=1)
    """The most to provision for: this quantile of the forecast load at now+horizon, carried at
    targetPerReplica; a quantile estimated from the model's own recent errors (scaled by how
    much the load moved at this time one season ago, when a season is known). 0.95: the load
    exceeds it in about one horizon in twenty, and a replica is overloaded far more rarely, as
    targetPerReplica keeps headroom below a replica's capacity. Higher buys headroom where the
    load has been jumpy. The forecast itself is always provisioned for; between it and this
    quantile, overloadWeight decides how much headroom is worth buying. A load that changes
    only when its source updates (a regular cadence, found in the history) is uncertain only
    over windows its next update can land in, so headroom is bought before an update, not all
    the time. A scale-down below what the observed load asked for within the stabilisation
    window needs the stricter quantile 1 - (1 - quantile) / 4 of the peak load until a removed
    replica could be back to stay within what the smaller count carries at targetPerReplica,
    or within its capacity (targetPerReplica / 0.7 a replica) where the load's own history
    shows that, after falling as it has now, it did not come back past that within the same
    time (at that quantile). In [0.5, 1)."""
    overload_weight: float = Field(default=1.0, ge=0, le=1000)
    """How much overload weighs against replica-hours, each measured against what the HPA rule
    alone would suffer and pay on this load (its overloaded share of the time, estimated from
    the load's history, and its replicas). Between the forecast and its quantile, the policy
    buys the replica count that minimises replicas plus weighted overload, counting a replica
    overloaded above targetPerReplica / 0.7: 1 weighs the two alike, cutting the HPA rule's
    overload by a tenth is worth a tenth more replica-hours. Headroom that would not stop an
    overload (the load moves too little to need it, or jumps too far for it) is not bought. 0:
    always the full quantile. In [0, 1000]."""


class FallbackSpec(KubeModel):
    """What to do when the load cannot be read: never scale on missing data."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.action != 'Replicas' || has(self.replicas)",
            message="replicas is required when action is Replicas",
            check=lambda f: f.action != "Replicas" or f.replicas is not None,
            field_path=".replicas",
        ),
    )

    failure_threshold: int = Field(default=3, ge=1)
    """Consecutive failed load reads (errors, empty results, NaN) before the fallback acts."""
    action: FallbackAction = "Hold"
    """Hold: keep the current replica count. Replicas: scale to fallback.replicas."""
    replicas: int | None = Field(default=None, ge=0)
    """Replica count to scale to when action is Replicas (between minReplicas and
    maxReplicas)."""


class ScalingPolicySpec(KubeModel):
    """The desired behaviour of a ScalingPolicy: which workload to scale, between which bounds,
    on which load signal, and how eagerly."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.minReplicas <= self.maxReplicas",
            message="minReplicas must be less than or equal to maxReplicas",
            check=lambda s: s.min_replicas <= s.max_replicas,
            field_path=".minReplicas",
        ),
        Rule(
            cel=(
                "!has(self.fallback.replicas) || (self.fallback.replicas >= self.minReplicas"
                " && self.fallback.replicas <= self.maxReplicas)"
            ),
            message="fallback.replicas must be between minReplicas and maxReplicas",
            check=lambda s: (
                s.fallback.replicas is None or s.min_replicas <= s.fallback.replicas <= s.max_replicas
            ),
            field_path=".fallback.replicas",
        ),
        Rule(
            cel=when_durations_parse("duration(self.interval) >= duration('1s')"),
            message="interval must be at least 1s",
            check=lambda s: s.interval >= _SECOND,
            field_path=".interval",
        ),
    )

    target_ref: TargetRef
    min_replicas: int = Field(default=1, ge=0)
    """Lower bound of the replica count. 0 allows scaling to zero when there is no load."""
    max_replicas: int = Field(ge=1)
    """Upper bound of the replica count. Must be at least minReplicas."""
    metric: MetricSpec
    tolerance: float = Field(default=0.1, ge=0, lt=1)
    """No change while |load / (replicas x targetPerReplica) - 1| <= tolerance, like the HPA's
    tolerance. In [0, 1). The forecast's quantile is held to it only on the way up: a count
    within the tolerance above what the quantile asks for comes down to it."""
    thresholds: Thresholds | None = None
    cooldown: Cooldown = Field(default_factory=Cooldown)
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    prediction: PredictionSpec = Field(default_factory=PredictionSpec)
    fallback: FallbackSpec = Field(default_factory=FallbackSpec)
    mode: ScalingMode = "Active"
    """Active: scale the target. DryRun: compute and report decisions in status and events,
    never change the target."""
    paused: PausedDirections = "None"
    """Stop changing the target's replica count in one direction or both (during an incident, a
    migration, a load test): None, ScaleUp, ScaleDown or Both. Decisions are still made and
    reported, and ScalingActive is False with reason Paused while any direction is paused; a
    change in a paused direction is not made. Setting None again resumes at the next round."""
    interval: Duration = timedelta(seconds=15)
    """How often the load is read and the replica count reconsidered; at least 1s."""


class ScalingDecision(StatusModel):
    """A replica-count decision of the policy."""

    time: datetime
    """When the decision was made."""
    replicas: int = Field(ge=0)
    """The replica count decided."""
    reason: str = Field(min_length=1, max_length=128, pattern=REASON_PATTERN)
    """Why, as a short CamelCase word, e.g. ScaleUpOnForecast, ScaleDownStabilising, FallbackHold."""
    message: str = Field(default="", max_length=4096)
    """Why, in a sentence a person can read."""


class ModelScore(StatusModel):
    """How one forecasting candidate did on the policy's recent history."""

    model: str = Field(max_length=64)
    """The candidate model."""
    capacity: float
    """Mean load it asked capacity for (its forecast at the horizon, sized as the policy sizes
    it: see prediction.quantile and prediction.overloadWeight)."""
    overload: float
    """Share of horizons in which the peak load overloaded that capacity."""


class ScalingPolicyStatus(StatusModel):
    """The observed state of a ScalingPolicy, written by the operator through the status
    subresource."""

    observed_generation: int | None = Field(default=None, ge=0)
    """The metadata.generation of the spec this status reflects."""
    current_replicas: int | None = Field(default=None, ge=0)
    """The target's replica count when last observed."""
    desired_replicas: int | None = Field(default=None, ge=0)
    """The replica count the policy last decided on (in DryRun mode: would have set)."""
    load: float | None = None
    """The last load read from the metric query."""
    predicted_load: float | None = None
    """The forecast load at now + prediction.horizon."""
    predicted_peak: float | None = None
    """The load the predictive part provisioned for at now + prediction.horizon: the forecast,
    and above it at most its prediction.quantile (see prediction.overloadWeight)."""
    candidate_scores: list[ModelScore] = Field(default_factory=list, max_length=8)
    """With prediction.model Auto: each candidate's mean capacity asked for and overload share
    on the policy's recent history, the figures the choice (model) was made by."""
    model: str | None = Field(default=None, max_length=64)
    """The forecasting model in use (with prediction.model Auto: the one the backtest chose)."""
    last_scale_time: datetime | None = None
    """When the policy last changed the target's replica count."""
    last_decision: ScalingDecision | None = None
    """The most recent decision and its reason."""
    owner: str | None = Field(default=None, max_length=253)
    """The operator replica that decides for this policy (its pod name): the policy's owner on
    the hash ring over the live replicas."""
    conditions: Conditions = Field(default_factory=list)
    """The current state of the policy, one condition per type: Ready, MetricsAvailable,
    ScalingActive, ScalingLimited (as the HorizontalPodAutoscaler's: True with TooManyReplicas,
    TooFewReplicas, ScaleUpLimit or ScaleDownLimit when a bound or rate limit changed the count
    the load asked for) and AutoscalerConflict (present while another autoscaler scales the
    target)."""


class ScalingPolicy(Resource):
    """ScalingPolicy scales a workload ahead of its load: it reads the load from Prometheus,
    forecasts it, and sets the target's replica count through the /scale subresource."""

    KIND: ClassVar[str] = "ScalingPolicy"
    PLURAL: ClassVar[str] = "scalingpolicies"
    SINGULAR: ClassVar[str] = "scalingpolicy"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("sp",)
    NAMESPACED: ClassVar[bool] = True
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(
            name="Target",
            type="string",
            json_path=".spec.targetRef.name",
            description="Name of the scaled workload",
        ),
        PrinterColumn(name="Min", type="integer", json_path=".spec.minReplicas", description="minReplicas"),
        PrinterColumn(name="Max", type="integer", json_path=".spec.maxReplicas", description="maxReplicas"),
        PrinterColumn(
            name="Current",
            type="integer",
            json_path=".status.currentReplicas",
            description="Current replicas of the target",
        ),
        PrinterColumn(
            name="Desired",
            type="integer",
            json_path=".status.desiredReplicas",
            description="Replicas the policy decided on",
        ),
        PrinterColumn(
            name="Predicted",
            type="number",
            json_path=".status.predictedLoad",
            description="Forecast load at now + horizon",
        ),
        PrinterColumn(name="Mode", type="string", json_path=".spec.mode", description="Active or DryRun"),
        PrinterColumn(
            name="Ready",
            type="string",
            json_path='.status.conditions[?(@.type=="Ready")].status',
            description="Whether the last round ran through (the Ready condition)",
        ),
        PrinterColumn(
            name="Age",
            type="date",
            json_path=".metadata.creationTimestamp",
            description="Time since the policy was created",
        ),
        PrinterColumn(
            name="Message",
            type="string",
            json_path='.status.conditions[?(@.type=="Ready")].message',
            description="Why the policy is not ready, if it is not",
        ),
        PrinterColumn(
            name="Kind",
            type="string",
            json_path=".spec.targetRef.kind",
            description="Kind of the scaled workload",
            priority=1,
        ),
        PrinterColumn(
            name="Load",
            type="number",
            json_path=".status.load",
            description="Observed load",
            priority=1,
        ),
        PrinterColumn(
            name="Model",
            type="string",
            json_path=".status.model",
            description="Forecasting model in use",
            priority=1,
        ),
        PrinterColumn(
            name="Reason",
            type="string",
            json_path=".status.lastDecision.reason",
            description="Reason of the last decision",
            priority=1,
        ),
        PrinterColumn(
            name="Decision",
            type="string",
            json_path=".status.lastDecision.message",
            description="The last decision, in words",
            priority=1,
        ),
        PrinterColumn(
            name="Owner",
            type="string",
            json_path=".status.owner",
            description="The operator replica that decides for the policy",
            priority=1,
        ),
    )

    api_version: Literal["ebbtide.io/v1alpha1"] = "ebbtide.io/v1alpha1"
    """APIVersion defines the versioned schema of this representation of an object."""
    kind: Literal["ScalingPolicy"] = "ScalingPolicy"
    """Kind is a string value representing the REST resource this object represents."""
    spec: ScalingPolicySpec
    status: ScalingPolicyStatus = Field(default_factory=ScalingPolicyStatus)
