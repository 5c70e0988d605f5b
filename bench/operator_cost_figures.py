"""The figures of bench/operator_cost.py, from what it read: per replica, in total, and as
multiples of the single replica; and the tables it prints.

Pure: it takes scrapes, /proc readings and listed policies, and returns plain dicts (the JSON
records), so that it is tested without a cluster.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from ebbtide.scaling.forecasting.calibration import MIN_RESIDUALS


def calibrated_after(*, interval: float, horizon: float) -> float:
    """Seconds from a policy's first round until its forecast is calibrated on errors of its own
    (``MIN_RESIDUALS`` of them, the first known a horizon after its forecast), plus a round to
    spare. Until then a replay of the model stands in for them, which costs more: a window
    measured after this is the policy's steady state."""
    return (MIN_RESIDUALS + 1) * interval + horizon


class Exposition:
    """One scrape of an operator's /metrics: every sample's value by name and labels."""

    def __init__(self, text: str) -> None:
        self._samples: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self._samples[sample.name].append((sample.labels, sample.value))

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
        return sum(
            value
            for have, value in self._samples.get(name, [])
            if all(have.get(key) == wanted for key, wanted in labels.items())
        )

    def series(self, name: str) -> dict[frozenset[tuple[str, str]], float]:
        """Each sample of ``name`` by its label set."""
        return {frozenset(labels.items()): value for labels, value in self._samples.get(name, [])}

    def by_label(self, name: str, label: str) -> dict[str, float]:
        """The samples of ``name`` summed by the value of their ``label``."""
        summed: dict[str, float] = defaultdict(float)
        for labels, value in self._samples.get(name, []):
            summed[labels.get(label, "")] += value
        return dict(summed)


def replica_figures(
    *,
    cpu_before: float,
    cpu_after: float,
    seconds: float,
    metrics_before: Exposition,
    metrics_after: Exposition,
    rss_samples: Sequence[int],
    rss_high_water_mark: int,
) -> dict[str, Any]:
    """One replica's figures over a window of ``seconds``: its CPU time and RSS, and what its
    own counters say it did (decisions, rounds and their lateness, calls, errors)."""
    cpu = cpu_after - cpu_before

    def delta(name: str, **labels: str) -> float:
        return metrics_after.total(name, **labels) - metrics_before.total(name, **labels)

    decisions = _counted_since(metrics_before, metrics_after, "ebbtide_scaling_decisions_total")
    rounds = delta("ebbtide_scaling_round_seconds_count")
    started = delta("ebbtide_scaling_round_lateness_seconds_count")
    late = started - delta("ebbtide_scaling_round_lateness_seconds_bucket", le="1.0")
    queries = delta("ebbtide_prometheus_query_seconds_count")
    kube_calls = delta("ebbtide_scaling_kube_call_seconds_count")
    waits = delta("ebbtide_scaling_pool_wait_seconds_count")
    return {
        "measured_seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 2),
        "cpu_percent_of_one_core": round(100 * cpu / seconds, 2),
        "cpu_ms_per_decision": round(1000 * cpu / max(1.0, decisions), 2),
        "rss_mib_peak_in_window": round(max(rss_samples, default=0) / 2**20, 1),
        "rss_mib_mean_in_window": round(sum(rss_samples) / max(1, len(rss_samples)) / 2**20, 1),
        "rss_mib_high_water_mark": round(rss_high_water_mark / 2**20, 1),
        "decisions": int(decisions),
        "decisions_per_second": round(decisions / seconds, 2),
        "policies_decided": _policies_decided(metrics_before, metrics_after),
        "rounds": int(rounds),
        "rounds_started": int(started),
        "rounds_started_over_1s_late": int(late),
        "mean_round_lateness_ms": round(
            1000 * delta("ebbtide_scaling_round_lateness_seconds_sum") / max(1.0, started), 1
        ),
        "mean_round_ms": round(1000 * delta("ebbtide_scaling_round_seconds_sum") / max(1.0, rounds), 1),
        "prometheus_queries": int(queries),
        "mean_query_ms": round(1000 * delta("ebbtide_prometheus_query_seconds_sum") / max(1.0, queries), 1),
        "kube_calls": int(kube_calls),
        "kube_calls_per_second": round(kube_calls / seconds, 1),
        "mean_kube_call_ms": round(
            1000 * delta("ebbtide_scaling_kube_call_seconds_sum") / max(1.0, kube_calls), 1
        ),
        "mean_pool_wait_ms": round(
            1000 * delta("ebbtide_scaling_pool_wait_seconds_sum") / max(1.0, waits), 1
        ),
        "replica_changes": int(delta("ebbtide_scaling_replica_changes_total")),
        "errors": int(delta("ebbtide_scaling_errors_total")),
    }


def _counted_since(before: Exposition, after: Exposition, name: str) -> float:
    """How much a per-policy counter rose between the two scrapes, summed over its series.

    A replica removes a policy's series when the policy stops being its own (its Lease lapsed,
    or the ring moved the policy). Each series counts only what it rose above where it stood at
    the first scrape (a new one from zero), so the sum never falls; a series removed and made
    anew within the window is undercounted (``rounds``, a counter never removed, is not).
    """
    earlier = before.series(name)
    return sum(max(0.0, value - earlier.get(labels, 0.0)) for labels, value in after.series(name).items())


def _policies_decided(before: Exposition, after: Exposition) -> int:
    """How many policies the replica decided at least once between the two scrapes: the share
    of the policies its own counters show."""
    earlier = before.by_label("ebbtide_scaling_decisions_total", "name")
    later = after.by_label("ebbtide_scaling_decisions_total", "name")
    return sum(1 for name, count in later.items() if count > earlier.get(name, 0.0))


def owner_of(policy: Mapping[str, Any]) -> str:
    """The replica a listed policy names in ``status.owner`` ("" before its first round)."""
    return str((policy.get("status") or {}).get("owner") or "")


def shares(policies: Sequence[Mapping[str, Any]], *, owners: Sequence[str]) -> dict[str, dict[str, Any]]:
    """How many of ``policies``, and what fraction, name each of ``owners`` in ``status.owner``."""
    counted = Counter(owner_of(policy) for policy in policies)
    return {
        owner: {
            "owned_policies": counted[owner],
            "share": round(counted[owner] / len(policies), 3) if policies else 0.0,
        }
        for owner in owners
    }


def totals(per_replica: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The replicas of one configuration together (one window): CPU time, decisions and memory
    add up, each replica being a process of its own."""
    seconds = per_replica[0]["measured_seconds"]
    cpu = sum(replica["cpu_seconds"] for replica in per_replica)
    decisions = sum(replica["decisions"] for replica in per_replica)

    def added(key: str) -> Any:
        return sum(replica[key] for replica in per_replica)

    return {
        "measured_seconds": seconds,
        "owned_policies": added("owned_policies"),
        "cpu_seconds": round(cpu, 2),
        "cpu_percent_of_one_core": round(100 * cpu / seconds, 2),
        "cpu_ms_per_decision": round(1000 * cpu / max(1, decisions), 2),
        "rss_mib_peak_in_window": round(added("rss_mib_peak_in_window"), 1),
        "rss_mib_mean_in_window": round(added("rss_mib_mean_in_window"), 1),
        "decisions": decisions,
        "decisions_per_second": round(decisions / seconds, 2),
        "rounds_started_over_1s_late": added("rounds_started_over_1s_late"),
        "errors": added("errors"),
    }


def ratios_to_single(record: Mapping[str, Any], single: Mapping[str, Any]) -> dict[str, Any]:
    """``record``'s CPU and RSS as multiples of the single replica's in ``single`` (the same
    model, a window of the same length): each replica's, and the replicas' together.

    Sharding that cost nothing would give 1/R each (``ideal_each``) and 1 together;
    ``sharding_cpu_overhead`` is what the replicas use together beyond the single replica, as a
    fraction of it (0.1: 10 % more), and ``cpu_split`` splits it per replica (:func:`cpu_split`).
    """
    base = single["per_replica"][0]
    each, total = record["per_replica"], record["total"]
    cpu_total = _ratio(_cpu_rate(total), _cpu_rate(base))
    return {
        "cpu_split": None if record is single else cpu_split(record, single),
        "ideal_each": round(1 / len(each), 3),
        "cpu_each": [_ratio(_cpu_rate(replica), _cpu_rate(base)) for replica in each],
        "cpu_total": cpu_total,
        "cpu_per_decision": _ratio(total["cpu_ms_per_decision"], base["cpu_ms_per_decision"]),
        "sharding_cpu_overhead": None if cpu_total is None else round(cpu_total - 1, 3),
        "rss_each": [
            _ratio(replica["rss_mib_peak_in_window"], base["rss_mib_peak_in_window"]) for replica in each
        ],
        "rss_total": _ratio(total["rss_mib_peak_in_window"], base["rss_mib_peak_in_window"]),
    }


def cpu_split(record: Mapping[str, Any], single: Mapping[str, Any]) -> dict[str, float] | None:
    """What a replica costs whatever it owns, and what each policy it owns adds, in % of one core:
    the least-squares line through each replica's CPU against the policies it owns, the single
    replica (which owns them all) included. The fixed part is what sharding repeats in every
    replica: every replica watches every policy and runs a loop for it, and holds its Lease.

    An estimate (the windows differ in the machine's load); None when the replicas do not own
    at least two different numbers of policies.
    """
    replicas = [*single["per_replica"], *record["per_replica"]]
    owned = [float(replica["owned_policies"]) for replica in replicas]
    cpu = [100 * _cpu_rate(replica) for replica in replicas]
    try:
        slope, intercept = statistics.linear_regression(owned, cpu)
    except statistics.StatisticsError:  # every replica owns as many policies
        return None
    return {"fixed_cpu_percent": round(intercept, 2), "cpu_percent_per_owned_policy": round(slope, 4)}


def _cpu_rate(figures: Mapping[str, Any]) -> float:
    """CPU seconds per second of the window (unrounded, unlike the percentage)."""
    return float(figures["cpu_seconds"]) / float(figures["measured_seconds"])


def _ratio(value: float, base: float) -> float | None:
    return round(value / base, 3) if base else None


# -- printing ---------------------------------------------------------------------------------

HEADER = (
    f"{'model':<13}{'R':>3} {'replica':<8}{'owned':>6}{'CPU %':>8}{'x single':>9}{'RSS MiB':>9}"
    f"{'x single':>9}{'decisions/s':>12}{'late>1s':>8}{'errors':>7}  load 1m mean/max"
)


def _rows(record: Mapping[str, Any]) -> Iterator[str]:
    """One line per replica (RSS: peak in the window), and one for them all when there are several."""
    ratios = record["vs_single"]
    load = record["load_average"]
    prefix = f"{record['model']:<13}{record['replicas']:>3} "
    lines = [
        (str(index), replica, cpu, rss)
        for index, (replica, cpu, rss) in enumerate(
            zip(record["per_replica"], ratios["cpu_each"], ratios["rss_each"], strict=True)
        )
    ]
    if len(lines) > 1:
        lines.append(("all", record["total"], ratios["cpu_total"], ratios["rss_total"]))
    for index, (label, figures, cpu, rss) in enumerate(lines):
        text = (
            f"{prefix}{label:<8}{figures['owned_policies']:>6}{figures['cpu_percent_of_one_core']:>8.2f}"
            f"{_times(cpu):>9}{figures['rss_mib_peak_in_window']:>9.0f}{_times(rss):>9}"
            f"{figures['decisions_per_second']:>12.2f}{figures['rounds_started_over_1s_late']:>8}"
            f"{figures['errors']:>7}"
        )
        if index == 0:
            text += f"  {load['mean_1m']:.2f}/{load['max_1m']:.2f}"
        yield text


def _sharding_line(record: Mapping[str, Any]) -> str | None:
    """What sharding costs in ``record``, in a sentence (None for the single replica)."""
    ratios = record["vs_single"]
    if record["replicas"] == 1 or ratios["cpu_total"] is None:
        return None
    cpu_each = [ratio for ratio in ratios["cpu_each"] if ratio is not None]
    rss_each = [ratio for ratio in ratios["rss_each"] if ratio is not None]
    return (
        f"{record['model']}, {record['replicas']} replicas: together {ratios['cpu_total']:.2f}x the single "
        f"replica's CPU ({ratios['sharding_cpu_overhead']:+.0%} for sharding; "
        f"{_times(ratios['cpu_per_decision'])} per decision), each {min(cpu_each):.2f}x-{max(cpu_each):.2f}x "
        f"(1/{record['replicas']} = {ratios['ideal_each']:.2f}x); RSS each "
        f"{min(rss_each):.2f}x-{max(rss_each):.2f}x, together {_times(ratios['rss_total'])}"
        + _split_text(ratios["cpu_split"])
    )


def _split_text(split: Mapping[str, float] | None) -> str:
    if split is None:
        return ""
    return (
        f"; estimated {split['fixed_cpu_percent']:.2f}% of a core per replica whatever it owns, "
        f"{split['cpu_percent_per_owned_policy']:.4f}% per policy it owns"
    )


def _times(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def print_configuration(record: Mapping[str, Any]) -> None:
    """One configuration's figures, as soon as it has been measured."""
    load = record["load_average"]
    print(
        f"{record['model']}, {record['replicas']} replica(s): measured {record['measured_seconds']:.0f}s "
        f"from {record['started_at']}; load average (1 min) mean {load['mean_1m']:.2f}, "
        f"max {load['max_1m']:.2f}"
    )
    print(HEADER)
    for row in _rows(record):
        print(row)
    line = _sharding_line(record)
    if line:
        print(line)


def print_summary(records: Sequence[Mapping[str, Any]]) -> None:
    """Every configuration in one table, then what sharding costs in each."""
    print(
        "\nsummary: CPU (% of one core) and RSS (peak in the window) of each replica, as multiples of "
        "the single replica of the same model, measured in this run over a window of the same length"
    )
    print(HEADER)
    for record in records:
        for row in _rows(record):
            print(row)
    for record in records:
        line = _sharding_line(record)
        if line:
            print(line)
