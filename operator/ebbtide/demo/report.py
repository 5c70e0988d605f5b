"""The demo's files: the timeline (CSV), the summary (JSON) and a plot (PNG, with matplotlib)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ebbtide.demo.pattern import LoadPattern
from ebbtide.demo.summary import Summary, capacity
from ebbtide.demo.timeline import Sample


def write_timeline(path: Path, samples: Sequence[Sample], *, target_per_replica: float) -> Path:
    """One row per sample; per queue: running, waiting, admitted so far, CPU-seconds, share."""
    queues = [q.name for q in samples[0].queues] if samples else []
    header = [
        "elapsed_seconds",
        "load",
        "predicted_load",
        "desired_replicas",
        "ready_replicas",
        "capacity",
        "model",
        "reason",
    ]
    for name in queues:
        header += [
            f"{name}_running",
            f"{name}_pending",
            f"{name}_admitted",
            f"{name}_cpu_seconds",
            f"{name}_share",
        ]
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for s in samples:
            most = capacity(s.ready_replicas, target_per_replica=target_per_replica)
            row = [
                f"{s.elapsed:.1f}",
                f"{s.load:.2f}",
                _cell(s.predicted_load),
                _cell(s.desired_replicas),
                _cell(s.ready_replicas),
                _cell(most),
                s.model or "",
                s.reason or "",
            ]
            for q in s.queues:
                row += [
                    _cell(q.running),
                    _cell(q.pending),
                    str(q.admitted),
                    f"{q.cpu_seconds:.1f}",
                    _cell(q.share),
                ]
            writer.writerow(row)
    return path


def _cell(value: float | int | None) -> str:
    if value is None:
        return ""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def write_summary(path: Path, summary: Summary) -> Path:
    path.write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    return path


def write_plot(
    path: Path, samples: Sequence[Sample], *, pattern: LoadPattern, target_per_replica: float
) -> Path | None:
    """Load, forecast and ready capacity over time above, each queue's admitted Jobs below.
    Returns None (and writes nothing) when matplotlib is not installed or there are no samples."""
    if not samples:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    times = [s.elapsed for s in samples]
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    for phase in pattern.phases():
        if phase.name in ("ramp", "fall"):
            top.axvspan(phase.start, phase.end, color="0.93", zorder=0)
            top.text(
                (phase.start + phase.end) / 2,
                0.02,
                phase.name,
                transform=top.get_xaxis_transform(),
                ha="center",
                va="bottom",
                color="0.4",
                fontsize=9,
            )
    top.plot(times, [s.load for s in samples], label="load", color="tab:blue", linewidth=2)
    top.plot(
        times,
        [float("nan") if s.predicted_load is None else s.predicted_load for s in samples],
        label="forecast (now + horizon)",
        color="tab:orange",
        linestyle="--",
    )
    capacities = [capacity(s.ready_replicas, target_per_replica=target_per_replica) for s in samples]
    most = np.array([np.nan if c is None else c for c in capacities])
    top.step(
        times,
        most,
        where="post",
        label=f"capacity of ready replicas (ready x {target_per_replica:g} / 0.7)",
        color="tab:green",
    )
    load = np.array([s.load for s in samples])
    top.fill_between(
        times,
        load,
        most,
        where=load > most,
        color="tab:red",
        alpha=0.3,
        label="overload (load above capacity)",
    )
    top.set_ylabel("requests per second")
    top.set_title("ScalingPolicy web: load, forecast and capacity")
    top.legend(loc="upper left", fontsize=9)
    top.grid(alpha=0.3)
    replicas = top.twinx()
    replicas.step(
        times,
        [float("nan") if s.desired_replicas is None else s.desired_replicas for s in samples],
        where="post",
        color="tab:gray",
        linewidth=0.8,
        alpha=0.6,
    )
    replicas.set_ylabel("desired replicas (grey)")
    replicas.set_ylim(bottom=0)
    for index, queue in enumerate(samples[-1].queues):
        admitted = [s.queues[index].admitted for s in samples]
        bottom.plot(times, admitted, label=f"{queue.name} (weight {queue.weight:g})")
    bottom.set_xlabel("seconds since the load pattern began")
    bottom.set_ylabel("Jobs admitted")
    bottom.set_title("FairQueues: Jobs admitted from each queue's backlog")
    bottom.legend(loc="upper left", fontsize=9)
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
