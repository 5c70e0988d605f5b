"""The figures ``ebbtide demo`` ends with, computed from its samples (pure, no I/O).

Overload and replica-hours mean what they mean in ``ebbtide backtest``: ``ready`` replicas
carry up to ``ready x targetPerReplica / 0.7`` (a replica is sized to run at 70 %), a sample
whose load is above that is overloaded, and replica-hours count the replicas asked for.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ebbtide.api.scalingpolicy_vocabulary import SCALE_DOWN_ON_FORECAST, SCALE_UP_ON_FORECAST
from ebbtide.demo.timeline import Sample
from ebbtide.scaling.backtest_summary import OVERLOAD_UTILISATION


def capacity(ready: int | None, *, target_per_replica: float) -> float | None:
    """The most ``ready`` replicas can serve; None when the count is unknown."""
    if ready is None:
        return None
    return ready * target_per_replica / OVERLOAD_UTILISATION


@dataclass(frozen=True)
class QueueSummary:
    """One queue at the end: its weight, the Jobs it admitted and their CPU-seconds, and its
    part of the cohort's weight and of the CPU-seconds given to the demo's queues (0..1)."""

    name: str
    weight: float
    admitted: int
    cpu_seconds: float
    weight_share: float
    cpu_share: float


@dataclass(frozen=True)
class Summary:
    """The demo's figures. Times are seconds since the load pattern began.

    ``overload_share``: the part of the samples whose load exceeded the ready capacity.
    ``replica_hours``: the web Deployment's replica count integrated over the run.
    ``first_scale_up_after_ramp``: when the replica count first rose, relative to the start of
    the ramp (negative: before it), and ``first_scale_up_reason`` why; None if it never rose.
    ``forecast_scale_ups`` of the ``scale_ups`` were made on the forecast, and
    ``forecast_scale_downs`` of the scale-downs. ``plateau_over_provisioning``: on the plateau,
    how far the ready replicas' target load (``ready x targetPerReplica``) exceeded the load,
    on average (0.25: a quarter more replicas than the load needs); None without a plateau.
    ``cpu_ratio``: CPU-seconds of the heaviest-weighted queue over those of the lightest, to
    compare with ``weight_ratio``; None without two queues or without work in the lightest.
    ``placement``: Deployment -> node -> pods, as placed by the extender's scheduler.
    """

    duration: float
    samples: int
    overload_share: float
    replica_hours: float
    scale_changes: int
    scale_ups: int
    forecast_scale_ups: int
    forecast_scale_downs: int
    plateau_over_provisioning: float | None
    peak_replicas: int | None
    peak_load: float
    first_scale_up_after_ramp: float | None
    first_scale_up_reason: str | None
    queues: tuple[QueueSummary, ...]
    cpu_ratio: float | None
    weight_ratio: float | None
    placement: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every figure."""
        return asdict(self)


def summarise(
    samples: Sequence[Sample],
    *,
    target_per_replica: float,
    ramp_start: float,
    plateau: tuple[float, float] | None = None,
    placement: Mapping[str, Mapping[str, int]] | None = None,
) -> Summary:
    """The figures for ``samples`` (in time order); raises ValueError when there are none.

    Each sample's replica count is taken to hold until the next sample (the last one holds for
    no time), which is how ``replica_hours`` integrates it.
    """
    if not samples:
        raise ValueError("no samples to summarise")
    overloaded = 0
    for sample in samples:
        most = capacity(sample.ready_replicas, target_per_replica=target_per_replica)
        if most is not None and sample.load > most:
            overloaded += 1
    replica_seconds = 0.0
    for sample, following in itertools.pairwise(samples):
        replica_seconds += (sample.desired_replicas or 0) * (following.elapsed - sample.elapsed)
    changes = ups = forecast_ups = forecast_downs = 0
    first_up: Sample | None = None
    counts = [(s, s.desired_replicas) for s in samples if s.desired_replicas is not None]
    for (_, before), (sample, after) in itertools.pairwise(counts):
        if after == before:
            continue
        changes += 1
        if after > before:
            ups += 1
            forecast_ups += sample.reason == SCALE_UP_ON_FORECAST
            first_up = first_up or sample
        else:
            forecast_downs += sample.reason == SCALE_DOWN_ON_FORECAST
    replicas = [count for _, count in counts]
    queues = _queue_summaries(samples[-1])
    return Summary(
        duration=samples[-1].elapsed - samples[0].elapsed,
        samples=len(samples),
        overload_share=overloaded / len(samples),
        replica_hours=replica_seconds / 3600.0,
        scale_changes=changes,
        scale_ups=ups,
        forecast_scale_ups=forecast_ups,
        forecast_scale_downs=forecast_downs,
        plateau_over_provisioning=_over_provisioning(samples, plateau, target_per_replica=target_per_replica),
        peak_replicas=max(replicas) if replicas else None,
        peak_load=max(s.load for s in samples),
        first_scale_up_after_ramp=None if first_up is None else first_up.elapsed - ramp_start,
        first_scale_up_reason=None if first_up is None else first_up.reason,
        queues=queues,
        cpu_ratio=_cpu_ratio(queues),
        weight_ratio=_weight_ratio(queues),
        placement={name: dict(nodes) for name, nodes in (placement or {}).items()},
    )


def _over_provisioning(
    samples: Sequence[Sample], plateau: tuple[float, float] | None, *, target_per_replica: float
) -> float | None:
    """Mean of ``ready x target / load - 1`` over the samples within ``plateau``."""
    if plateau is None:
        return None
    start, end = plateau
    shares = [
        s.ready_replicas * target_per_replica / s.load - 1.0
        for s in samples
        if start <= s.elapsed < end and s.ready_replicas is not None and s.load > 0
    ]
    return sum(shares) / len(shares) if shares else None


def _queue_summaries(last: Sample) -> tuple[QueueSummary, ...]:
    total_weight = sum(q.weight for q in last.queues)
    total_cpu = sum(q.cpu_seconds for q in last.queues)
    return tuple(
        QueueSummary(
            name=q.name,
            weight=q.weight,
            admitted=q.admitted,
            cpu_seconds=q.cpu_seconds,
            weight_share=q.weight / total_weight if total_weight > 0 else 0.0,
            cpu_share=q.cpu_seconds / total_cpu if total_cpu > 0 else 0.0,
        )
        for q in last.queues
    )


def _extremes(queues: Sequence[QueueSummary]) -> tuple[QueueSummary, QueueSummary] | None:
    if len(queues) < 2:
        return None
    ordered = sorted(queues, key=lambda q: q.weight)
    return ordered[-1], ordered[0]


def _cpu_ratio(queues: Sequence[QueueSummary]) -> float | None:
    pair = _extremes(queues)
    if pair is None or pair[1].cpu_seconds <= 0:
        return None
    return pair[0].cpu_seconds / pair[1].cpu_seconds


def _weight_ratio(queues: Sequence[QueueSummary]) -> float | None:
    pair = _extremes(queues)
    return None if pair is None else pair[0].weight / pair[1].weight
