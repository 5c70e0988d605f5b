"""``ebbtide backtest`` end to end on small inputs, through click's CliRunner."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ebbtide.cli import main
from ebbtide.metrics import range_reader
from ebbtide.scaling.series import LoadSeries

pytestmark = pytest.mark.unit

POLICY = """\
apiVersion: ebbtide.io/v1alpha1
kind: ScalingPolicy
metadata: {name: web}
spec:
  targetRef: {kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 50
  metric: {query: 'sum(rate(requests_total[1m]))', targetPerReplica: 100}
  prediction: {model: Linear, horizon: 2m, history: 1h, seasonality: null}
"""


def ramp_values() -> np.ndarray:
    return np.concatenate([np.full(60, 300.0), np.linspace(300, 2000, 60), np.full(60, 2000.0)])


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    trace = tmp_path / "trace.csv"
    rows = "\n".join(f"{1_700_000_000 + 60 * i},{v}" for i, v in enumerate(ramp_values()))
    trace.write_text(f"timestamp,value\n{rows}\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    return trace, policy


def test_backtest_reports_the_policy_against_reactive_only(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    trace, policy = inputs
    timeline = tmp_path / "timeline.csv"
    result = CliRunner().invoke(
        main, ["backtest", str(trace), "-f", str(policy), "-o", str(timeline), "--step", "1m"]
    )
    assert result.exit_code == 0, result.output
    assert "policy (Linear)" in result.output
    assert "reactive only" in result.output
    assert "180 steps of 60s" in result.output
    with timeline.open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 180
    assert list(rows[0]) == [
        "timestamp",
        "load",
        "predicted_load",
        "desired_replicas",
        "ready_replicas",
    ]
    assert int(rows[-1]["desired_replicas"]) >= 20


def test_target_per_replica_overrides_the_policy(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    trace, policy = inputs
    timeline = tmp_path / "timeline.csv"
    result = CliRunner().invoke(
        main,
        [
            *("backtest", str(trace), "-f", str(policy), "-o", str(timeline)),
            *("--step", "60", "--target-per-replica", "200"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "target 200 per replica" in result.output
    with timeline.open() as stream:
        assert 10 <= int(list(csv.DictReader(stream))[-1]["desired_replicas"]) < 20


def test_plot_is_drawn(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    trace, policy = inputs
    image = tmp_path / "plot.png"
    result = CliRunner().invoke(
        main, ["backtest", str(trace), "-f", str(policy), "--step", "1m", "--plot", str(image)]
    )
    assert result.exit_code == 0, result.output
    assert image.read_bytes().startswith(b"\x89PNG")


def test_a_bad_row_is_reported_with_its_line(inputs: tuple[Path, Path]) -> None:
    trace, policy = inputs
    lines = trace.read_text().splitlines()
    lines[5] = "1700000300,oops"
    trace.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["backtest", str(trace), "-f", str(policy)])
    assert result.exit_code == 1
    assert f"{trace}:6: value 'oops' is not a number" in result.output


def test_an_invalid_policy_is_reported(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    trace, _ = inputs
    policy = tmp_path / "bad.yaml"
    policy.write_text(POLICY.replace("maxReplicas: 50", "maxReplicas: 0"))
    result = CliRunner().invoke(main, ["backtest", str(trace), "-f", str(policy)])
    assert result.exit_code == 1
    assert "not a valid ScalingPolicy" in result.output


def test_prom_traces_are_read_from_the_given_prometheus(
    inputs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, policy = inputs
    asked: list[tuple[str, str, float, float, float]] = []

    class Recorded:
        def __init__(self, url: str, **options: object) -> None:
            self.url = url

        def read_range(self, query: str, *, start: float, end: float, step: float) -> LoadSeries:
            asked.append((self.url, query, start, end, step))
            times = np.arange(start, end + step, step)
            return LoadSeries(times=times, values=np.full(times.size, 500.0))

    monkeypatch.setattr(range_reader, "PrometheusRangeSource", Recorded)
    uri = "prom://sum(rate(requests_total[1m]))?start=1700000000&end=1700003600"
    result = CliRunner().invoke(
        main,
        ["backtest", uri, "-f", str(policy), "--prometheus-url", "http://prom:9090", "--step", "30s"],
    )
    assert result.exit_code == 0, result.output
    assert asked == [("http://prom:9090", "sum(rate(requests_total[1m]))", 1700000000.0, 1700003600.0, 30.0)]
    assert "121 steps of 30s" in result.output
