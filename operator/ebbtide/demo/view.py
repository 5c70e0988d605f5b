"""The lines the demo prints while it runs and when it ends (pure: strings in, strings out).

One line per look at the cluster, plain text so that it reads the same in a terminal and in a
CI log::

    01:54 load  353 pred  392 | web  6/8  Linear   | batch-low(1) run  4 wait  6 adm  43 share 1.10 | ...
"""

from __future__ import annotations

from collections.abc import Mapping

from ebbtide.demo.summary import Summary
from ebbtide.demo.timeline import QueueSample, Sample

HEADER = (
    "time: load and forecast (req/s) | web: ready/desired replicas, model "
    "| queue(weight): running, waiting, admitted so far, share of its entitlement"
)


def clock(seconds: float) -> str:
    """``mm:ss`` (``-mm:ss`` before the start)."""
    sign = "-" if seconds < 0 else ""
    minutes, rest = divmod(round(abs(seconds)), 60)
    return f"{sign}{minutes:02d}:{rest:02d}"


def _number(value: float | int | None, width: int, precision: int = 0) -> str:
    if value is None:
        return "-".rjust(width)
    return f"{value:{width}.{precision}f}"


def _queue(queue: QueueSample) -> str:
    return (
        f"{queue.name}({queue.weight:g}) run {_number(queue.running, 2)} wait {_number(queue.pending, 2)} "
        f"adm {queue.admitted:3d} share {_number(queue.share, 4, 2)}"
    )


def line(sample: Sample) -> str:
    """The live view's line for one sample."""
    ready = "-" if sample.ready_replicas is None else str(sample.ready_replicas)
    desired = "-" if sample.desired_replicas is None else str(sample.desired_replicas)
    parts = [
        f"{clock(sample.elapsed)} load {_number(sample.load, 4)} pred {_number(sample.predicted_load, 4)}",
        f"web {ready:>2}/{desired:<2} {sample.model or '-':<8}",
        *(_queue(q) for q in sample.queues),
    ]
    return " | ".join(parts)


def decision(sample: Sample, previous: Sample | None) -> str | None:
    """A line for the policy's last decision when its reason differs from ``previous``'s;
    None when it is the same (or there is none)."""
    if sample.reason is None or (previous is not None and previous.reason == sample.reason):
        return None
    message = f": {sample.message}" if sample.message else ""
    return f"      decision {sample.reason}{message}"


def summary_lines(summary: Summary, *, target_per_replica: float) -> list[str]:
    """The summary, as lines for people."""
    lines = [
        f"load: peak {summary.peak_load:.0f} req/s over {clock(summary.duration)}; {summary.samples} samples",
        f"overload: {summary.overload_share:.1%} of samples had more load than the ready replicas "
        f"carry (ready x {target_per_replica:g} / 0.7)",
        f"replicas: {summary.replica_hours:.2f} replica-hours, peak {_count(summary.peak_replicas)}, "
        f"{summary.scale_changes} changes ({summary.scale_ups} up, "
        f"{summary.forecast_scale_ups} of them on the forecast; "
        f"{summary.forecast_scale_downs} scale-downs on the forecast)",
    ]
    if summary.plateau_over_provisioning is not None:
        lines.append(
            f"plateau: the ready replicas' target load was {summary.plateau_over_provisioning:+.0%} "
            "of the load, on average"
        )
    if summary.first_scale_up_after_ramp is None:
        lines.append("first scale-up: none")
    else:
        lines.append(
            f"first scale-up: {summary.first_scale_up_after_ramp:+.0f}s after the ramp began "
            f"({summary.first_scale_up_reason or 'reason not reported'})"
        )
    for queue in summary.queues:
        lines.append(
            f"queue {queue.name}: weight {queue.weight:g} ({queue.weight_share:.0%} of the cohort's "
            f"weight), {queue.admitted} Jobs admitted, {queue.cpu_seconds:.0f} cpu-seconds "
            f"({queue.cpu_share:.0%})"
        )
    if summary.cpu_ratio is not None and summary.weight_ratio is not None:
        lines.append(
            f"fair share: cpu-seconds ratio {summary.cpu_ratio:.2f} for a weight ratio of "
            f"{summary.weight_ratio:g}"
        )
    for deployment, nodes in sorted(summary.placement.items()):
        lines.append(f"placement {deployment}: {placement(nodes)}")
    return lines


def placement(nodes: Mapping[str, int]) -> str:
    """``node-a x3, node-b x1`` for a node -> pod count mapping."""
    if not nodes:
        return "no pods placed"
    return ", ".join(f"{node} x{count}" for node, count in sorted(nodes.items()))


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)
