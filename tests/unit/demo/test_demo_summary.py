"""The demo's closing figures: overload, replica-hours, scale changes, fair share, placement."""

from __future__ import annotations

import json

import pytest

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.demo.summary import capacity, summarise
from ebbtide.demo.timeline import QueueSample, Sample


def sample(
    elapsed: float,
    *,
    load: float = 100.0,
    desired: int | None = 2,
    ready: int | None = 2,
    reason: str | None = reasons.STEADY,
    queues: tuple[QueueSample, ...] = (),
) -> Sample:
    return Sample(
        elapsed=elapsed,
        load=load,
        predicted_load=None,
        desired_replicas=desired,
        ready_replicas=ready,
        model="Linear",
        reason=reason,
        message=None,
        queues=queues,
    )


def queue(name: str, weight: float, *, admitted: int, cpu_seconds: float) -> QueueSample:
    return QueueSample(
        name=name, weight=weight, pending=0, running=0, share=0.0, admitted=admitted, cpu_seconds=cpu_seconds
    )


def test_capacity_is_ready_replicas_at_seventy_percent_of_what_they_carry() -> None:
    assert capacity(7, target_per_replica=50) == pytest.approx(500)
    assert capacity(None, target_per_replica=50) is None


def test_a_sample_is_overloaded_when_load_exceeds_the_ready_capacity() -> None:
    # Two ready replicas of 50 carry up to 142.9 req/s.
    samples = [
        sample(0, load=140),
        sample(2, load=150),
        sample(4, load=200, ready=3),
        sample(6, load=500, ready=None),
    ]
    summary = summarise(samples, target_per_replica=50, ramp_start=0)
    assert summary.overload_share == pytest.approx(1 / 4)


def test_replica_hours_hold_each_count_until_the_next_sample() -> None:
    samples = [sample(0, desired=2), sample(1800, desired=4), sample(3600, desired=10)]
    summary = summarise(samples, target_per_replica=50, ramp_start=0)
    assert summary.replica_hours == pytest.approx(2 * 0.5 + 4 * 0.5)
    assert summary.duration == 3600


def test_scale_changes_count_ups_downs_and_those_made_on_the_forecast() -> None:
    samples = [
        sample(0, desired=2),
        sample(2, desired=3, reason=reasons.SCALE_UP_ON_LOAD),
        sample(4, desired=None),  # the Deployment could not be read: not a change
        sample(6, desired=5, reason=reasons.SCALE_UP_ON_FORECAST),
        sample(8, desired=5, reason=reasons.SCALE_UP_ON_FORECAST),
        sample(10, desired=2, reason=reasons.SCALE_DOWN_ON_LOAD),
    ]
    summary = summarise(samples, target_per_replica=50, ramp_start=0)
    assert (summary.scale_changes, summary.scale_ups, summary.forecast_scale_ups) == (3, 2, 1)
    assert summary.peak_replicas == 5


def test_the_first_scale_up_is_timed_from_the_start_of_the_ramp() -> None:
    samples = [sample(0), sample(30), sample(38, desired=3, reason=reasons.SCALE_UP_ON_FORECAST), sample(40)]
    summary = summarise(samples, target_per_replica=50, ramp_start=30)
    assert summary.first_scale_up_after_ramp == 8
    assert summary.first_scale_up_reason == reasons.SCALE_UP_ON_FORECAST


def test_without_a_scale_up_there_is_no_first_one() -> None:
    summary = summarise([sample(0), sample(2)], target_per_replica=50, ramp_start=1)
    assert summary.first_scale_up_after_ramp is None
    assert summary.first_scale_up_reason is None


def test_queues_are_compared_by_cpu_seconds_against_their_weights() -> None:
    last = sample(
        60,
        queues=(
            queue("low", 1, admitted=10, cpu_seconds=100),
            queue("high", 3, admitted=29, cpu_seconds=290),
        ),
    )
    summary = summarise([sample(0), last], target_per_replica=50, ramp_start=0)
    low, high = summary.queues
    assert (low.weight_share, high.weight_share) == (0.25, 0.75)
    assert high.cpu_share == pytest.approx(290 / 390)
    assert summary.cpu_ratio == pytest.approx(2.9)
    assert summary.weight_ratio == 3


def test_no_cpu_ratio_when_the_lightest_queue_got_nothing_or_there_is_one_queue() -> None:
    starved = sample(
        60, queues=(queue("low", 1, admitted=0, cpu_seconds=0), queue("high", 3, admitted=5, cpu_seconds=50))
    )
    alone = sample(60, queues=(queue("only", 2, admitted=5, cpu_seconds=50),))
    assert summarise([starved], target_per_replica=50, ramp_start=0).cpu_ratio is None
    assert summarise([alone], target_per_replica=50, ramp_start=0).cpu_ratio is None
    assert summarise([alone], target_per_replica=50, ramp_start=0).weight_ratio is None


def test_the_summary_is_json_ready() -> None:
    last = sample(
        2, queues=(queue("low", 1, admitted=1, cpu_seconds=10), queue("high", 3, admitted=2, cpu_seconds=20))
    )
    placement = {"cache-a": {"kwok-node-2": 3}}
    summary = summarise([sample(0), last], target_per_replica=50, ramp_start=0, placement=placement)
    document = json.loads(json.dumps(summary.to_json()))
    assert document["placement"] == placement
    assert document["queues"][1]["name"] == "high"
    assert document["overload_share"] == 0


def test_no_samples_is_an_error() -> None:
    with pytest.raises(ValueError):
        summarise([], target_per_replica=50, ramp_start=0)
