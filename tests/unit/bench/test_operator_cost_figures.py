"""bench/operator_cost.py: what it reads from the operator's /metrics and the policies' status,
and how it sets R replicas against the single one."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest

import ebbtide.metrics.scaling_metrics  # noqa: F401  (registers the operator's families)
from operator_cost import models, replica_counts
from operator_cost_figures import (
    Exposition,
    calibrated_after,
    cpu_split,
    print_configuration,
    print_summary,
    ratios_to_single,
    replica_figures,
    shares,
    totals,
)

#: The operator's metric families the figures are read from.
READ_FAMILIES = {
    "ebbtide_scaling_decisions",
    "ebbtide_scaling_round_seconds",
    "ebbtide_scaling_round_lateness_seconds",
    "ebbtide_prometheus_query_seconds",
    "ebbtide_scaling_kube_call_seconds",
    "ebbtide_scaling_pool_wait_seconds",
    "ebbtide_scaling_replica_changes",
    "ebbtide_scaling_errors",
}


class FakeOperatorMetrics:
    """A few of the operator's metrics, under their names, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "ebbtide_scaling_decisions", "", ["namespace", "name", "reason"], registry=self.registry
        )
        self.lateness = Histogram(
            "ebbtide_scaling_round_lateness_seconds", "", buckets=(0.5, 1.0, 2.5), registry=self.registry
        )

    def scrape(self) -> Exposition:
        return Exposition(generate_latest(self.registry).decode())


def replica(
    *, owned: int, cpu_seconds: float, rss: float, decisions: int, seconds: float = 100.0
) -> dict[str, Any]:
    return {
        "owned_policies": owned,
        "measured_seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "cpu_percent_of_one_core": round(100 * cpu_seconds / seconds, 2),
        "cpu_ms_per_decision": round(1000 * cpu_seconds / decisions, 2),
        "rss_mib_peak_in_window": rss,
        "rss_mib_mean_in_window": rss,
        "decisions": decisions,
        "decisions_per_second": decisions / seconds,
        "rounds_started_over_1s_late": 0,
        "errors": 0,
    }


def record(model: str, *replicas: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": model,
        "replicas": len(replicas),
        "started_at": "2026-12-03T23:30:00+00:00",
        "measured_seconds": 100.0,
        "load_average": {"mean_1m": 1.25, "max_1m": 1.5, "at_start": [1, 1, 1], "at_end": [1, 1, 1]},
        "per_replica": list(replicas),
        "total": totals(replicas),
    }


def test_the_single_replica_is_always_measured_first_as_the_baseline() -> None:
    assert replica_counts("1,3") == [1, 3]
    assert replica_counts("3") == [1, 3]
    assert replica_counts("5,3,3") == [1, 3, 5]
    for wrong in ("0,3", "three"):
        with pytest.raises(argparse.ArgumentTypeError):
            replica_counts(wrong)


def test_models_are_measured_in_the_order_given_and_must_be_prediction_models() -> None:
    assert models("Auto, Linear,Auto") == ["Auto", "Linear"]
    for wrong in ("Linear,Prophet", ","):
        with pytest.raises(argparse.ArgumentTypeError):
            models(wrong)


def test_the_figures_are_read_from_families_the_operator_exports() -> None:
    exported = {metric.name for metric in REGISTRY.collect()}
    assert exported >= READ_FAMILIES


def test_a_replica_s_figures_count_only_what_happened_in_the_window() -> None:
    metrics = FakeOperatorMetrics()
    metrics.decisions.labels("ns", "p-0", "Hold").inc(5)  # before the window
    metrics.lateness.observe(3.0)
    before = metrics.scrape()
    for name in ("p-0", "p-1", "p-1"):
        metrics.decisions.labels("ns", name, "ScaleUp").inc()
    for late in (0.1, 0.7, 2.0):
        metrics.lateness.observe(late)
    after = metrics.scrape()

    figures = replica_figures(
        cpu_before=10.0,
        cpu_after=12.5,
        seconds=50.0,
        metrics_before=before,
        metrics_after=after,
        rss_samples=[100 * 2**20, 120 * 2**20],
        rss_high_water_mark=150 * 2**20,
    )

    assert figures["decisions"] == 3
    assert figures["policies_decided"] == 2
    assert figures["decisions_per_second"] == 0.06
    assert figures["cpu_percent_of_one_core"] == 5.0
    assert figures["rounds_started"] == 3
    assert figures["rounds_started_over_1s_late"] == 1
    assert (figures["rss_mib_peak_in_window"], figures["rss_mib_mean_in_window"]) == (120.0, 110.0)
    assert figures["rss_mib_high_water_mark"] == 150.0


def test_each_replica_s_share_is_the_policies_naming_it_as_owner() -> None:
    policies = [
        {"status": {"owner": "r-0"}},
        {"status": {"owner": "r-1"}},
        {"status": {"owner": "r-1"}},
        {"status": {}},  # no round yet
    ]

    assert shares(policies, owners=["r-0", "r-1", "r-2"]) == {
        "r-0": {"owned_policies": 1, "share": 0.25},
        "r-1": {"owned_policies": 2, "share": 0.5},
        "r-2": {"owned_policies": 0, "share": 0.0},
    }


def test_the_replicas_add_up_to_the_total() -> None:
    total = totals([replica(owned=2, cpu_seconds=2, rss=100, decisions=20)] * 3)

    assert total["owned_policies"] == 6
    assert total["cpu_percent_of_one_core"] == 6.0
    assert total["cpu_ms_per_decision"] == 100.0
    assert total["rss_mib_peak_in_window"] == 300.0
    assert total["decisions_per_second"] == 0.6


def test_sharding_that_costs_nothing_gives_one_over_r_each_and_one_in_total() -> None:
    single = record("Linear", replica(owned=300, cpu_seconds=9, rss=240, decisions=2000))
    free = record("Linear", *[replica(owned=100, cpu_seconds=3, rss=80, decisions=667)] * 3)

    assert ratios_to_single(single, single)["cpu_each"] == [1.0]
    ratios = ratios_to_single(free, single)
    assert ratios["ideal_each"] == 0.333
    assert ratios["cpu_each"] == [0.333] * 3
    assert ratios["cpu_total"] == 1.0
    assert ratios["sharding_cpu_overhead"] == 0.0
    assert ratios["rss_total"] == 1.0


def test_what_r_replicas_use_beyond_the_single_one_is_the_cost_of_sharding() -> None:
    single = record("Auto", replica(owned=300, cpu_seconds=10, rss=200, decisions=2000))
    sharded = record("Auto", *[replica(owned=100, cpu_seconds=4, rss=150, decisions=667)] * 3)

    ratios = ratios_to_single(sharded, single)

    assert ratios["cpu_each"] == [0.4] * 3
    assert ratios["cpu_total"] == 1.2
    assert ratios["sharding_cpu_overhead"] == 0.2
    assert ratios["rss_each"] == [0.75] * 3
    assert ratios["rss_total"] == 2.25


def test_the_summary_shows_every_replica_the_total_and_the_load_average(
    capsys: pytest.CaptureFixture[str],
) -> None:
    single = record("Linear", replica(owned=300, cpu_seconds=10, rss=200, decisions=2000))
    sharded = record("Linear", *[replica(owned=100, cpu_seconds=4, rss=150, decisions=667)] * 3)
    for each in (single, sharded):
        each["vs_single"] = ratios_to_single(each, single)

    print_configuration(sharded)
    print_summary([single, sharded])

    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("Linear ")]
    assert len(rows) == 2 * 4 + 1  # the sharded configuration twice (3 replicas and all), the single once
    assert any(" all " in row and "1.20x" in row for row in rows)
    assert sum("1.25/1.50" in row for row in rows) == 3  # once per configuration printed
    assert any("+20% for sharding" in line for line in lines)


def test_cpu_splits_into_a_fixed_part_per_replica_and_a_part_per_owned_policy() -> None:
    # 1 % of a core per replica, plus 0.01 % per policy it owns.
    single = record("Linear", replica(owned=300, cpu_seconds=4.0, rss=200, decisions=2000))
    sharded = record(
        "Linear",
        replica(owned=100, cpu_seconds=2.0, rss=150, decisions=667),
        replica(owned=120, cpu_seconds=2.2, rss=150, decisions=800),
        replica(owned=80, cpu_seconds=1.8, rss=150, decisions=533),
    )

    assert cpu_split(sharded, single) == {"fixed_cpu_percent": 1.0, "cpu_percent_per_owned_policy": 0.01}
    assert ratios_to_single(single, single)["cpu_split"] is None


def test_no_split_when_every_replica_owns_as_many_policies() -> None:
    single = record("Linear", replica(owned=0, cpu_seconds=1, rss=100, decisions=1))
    idle = record("Linear", *[replica(owned=0, cpu_seconds=1, rss=100, decisions=1)] * 2)

    assert cpu_split(idle, single) is None


def test_decisions_of_a_policy_the_replica_let_go_of_in_the_window_never_count_negative() -> None:
    metrics = FakeOperatorMetrics()
    metrics.decisions.labels("ns", "p-0", "Hold").inc(40)
    before = metrics.scrape()
    metrics.decisions.remove("ns", "p-0", "Hold")  # its Lease lapsed: the loop forgot the policy
    metrics.decisions.labels("ns", "p-0", "Hold").inc(2)  # and decided it again once back
    metrics.decisions.labels("ns", "p-1", "Hold").inc(3)

    figures = replica_figures(
        cpu_before=0.0,
        cpu_after=1.0,
        seconds=10.0,
        metrics_before=before,
        metrics_after=metrics.scrape(),
        rss_samples=[1],
        rss_high_water_mark=1,
    )

    assert figures["decisions"] == 3  # p-1's three; p-0's two are below where it stood before


def test_the_warm_up_lasts_until_every_forecast_is_calibrated_on_its_own_errors() -> None:
    # 20 outcomes of its own at 15 s, the first a minute after its forecast: 6 minutes, and a round.
    assert calibrated_after(interval=15.0, horizon=60.0) == 21 * 15.0 + 60.0
