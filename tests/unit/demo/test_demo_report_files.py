"""The demo's files: a timeline row per sample, the summary as JSON, and the plot."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ebbtide.demo.pattern import LoadPattern
from ebbtide.demo.report import write_plot, write_summary, write_timeline
from ebbtide.demo.summary import summarise
from ebbtide.demo.timeline import QueueSample, Sample


def samples() -> list[Sample]:
    queues = (
        QueueSample(name="low", weight=1, pending=3, running=1, share=0.5, admitted=2, cpu_seconds=20.0),
        QueueSample(
            name="high", weight=3, pending=None, running=None, share=None, admitted=6, cpu_seconds=60.0
        ),
    )
    return [
        Sample(0, 60.0, None, 2, 2, None, None, None, queues),
        Sample(2, 200.0, 260.5, 4, 2, "Linear", "ScaleUpOnForecast", "load 200", queues),
    ]


def test_the_timeline_has_a_row_per_sample_with_each_queue(tmp_path: Path) -> None:
    path = write_timeline(tmp_path / "timeline.csv", samples(), target_per_replica=50)
    with path.open() as lines:
        rows = list(csv.DictReader(lines))
    assert len(rows) == 2
    assert rows[0]["predicted_load"] == ""
    assert rows[1]["predicted_load"] == "260.50"
    assert rows[1]["capacity"] == "142.86"
    assert rows[1]["reason"] == "ScaleUpOnForecast"
    assert rows[1]["low_admitted"] == "2"
    assert rows[1]["high_share"] == ""


def test_the_summary_file_is_the_summary_as_json(tmp_path: Path) -> None:
    summary = summarise(samples(), target_per_replica=50, ramp_start=0)
    path = write_summary(tmp_path / "summary.json", summary)
    assert json.loads(path.read_text())["cpu_ratio"] == 3.0


def test_the_plot_is_a_png(tmp_path: Path) -> None:
    path = write_plot(
        tmp_path / "demo.png", samples(), pattern=LoadPattern(duration=60), target_per_replica=50
    )
    assert path is not None
    assert path.read_bytes().startswith(b"\x89PNG")


def test_no_samples_no_plot(tmp_path: Path) -> None:
    assert (
        write_plot(tmp_path / "demo.png", [], pattern=LoadPattern(duration=60), target_per_replica=50) is None
    )
    assert not (tmp_path / "demo.png").exists()
