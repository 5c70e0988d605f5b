"""The lines the demo prints: one per look, a decision when its reason changes, the summary."""

from __future__ import annotations

import pytest

from ebbtide.demo import view
from ebbtide.demo.summary import summarise
from ebbtide.demo.timeline import QueueSample, Sample


def sample(
    elapsed: float = 134,
    *,
    predicted: float | None = 512.4,
    ready: int | None = 9,
    reason: str | None = "ScaleUpOnForecast",
    message: str | None = "load 437 is 97% of capacity",
) -> Sample:
    return Sample(
        elapsed=elapsed,
        load=437.2,
        predicted_load=predicted,
        desired_replicas=11,
        ready_replicas=ready,
        model="Linear",
        reason=reason,
        message=message,
        queues=(
            QueueSample(
                name="batch-low", weight=1, pending=6, running=2, share=0.9, admitted=14, cpu_seconds=150
            ),
            QueueSample(
                name="batch-high",
                weight=3,
                pending=None,
                running=None,
                share=None,
                admitted=40,
                cpu_seconds=410,
            ),
        ),
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "00:00"), (59.6, "01:00"), (134, "02:14"), (3600, "60:00"), (-5, "-00:05")]
)
def test_clock_reads_minutes_and_seconds(seconds: float, text: str) -> None:
    assert view.clock(seconds) == text


def test_a_line_shows_load_forecast_replicas_model_and_each_queue() -> None:
    line = view.line(sample())
    assert line.startswith("02:14 load  437 pred  512 | web  9/11 Linear")
    assert "batch-low(1) run  2 wait  6 adm  14 share 0.90" in line
    assert "batch-high(3) run  - wait  - adm  40 share    -" in line
    assert "\n" not in line


def test_what_is_not_known_yet_shows_as_a_dash() -> None:
    line = view.line(sample(predicted=None, ready=None))
    assert "pred    -" in line
    assert "web  -/11" in line


def test_a_decision_is_shown_when_its_reason_changes() -> None:
    first = sample(reason="Steady", message="")
    second = sample(reason="ScaleUpOnLoad", message="load 150 is 105% of capacity")
    assert view.decision(first, None) == "      decision Steady"
    assert view.decision(second, first) == "      decision ScaleUpOnLoad: load 150 is 105% of capacity"
    assert view.decision(second, second) is None
    assert view.decision(sample(reason=None), first) is None


def test_the_summary_reads_as_sentences_with_the_figures() -> None:
    summary = summarise(
        [sample(0, ready=2), sample(30)],
        target_per_replica=50,
        ramp_start=10,
        placement={"cache-a": {"n2": 3}},
    )
    text = "\n".join(view.summary_lines(summary, target_per_replica=50))
    assert "overload: 50.0% of samples" in text
    assert "queue batch-high: weight 3 (75% of the cohort's weight), 40 Jobs admitted" in text
    assert "fair share: cpu-seconds ratio 2.73 for a weight ratio of 3" in text
    assert "placement cache-a: n2 x3" in text
    assert "first scale-up: none" in text


def test_placement_lists_nodes_by_name() -> None:
    assert view.placement({"b": 1, "a": 2}) == "a x2, b x1"
    assert view.placement({}) == "no pods placed"
