"""``ebbtide backtest``: replay a recorded load series through the planner the controller runs.

The engine is :mod:`ebbtide.scaling.backtest`; this module reads the inputs, runs the policy and
its reactive-only baseline, and reports.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import click
import numpy as np

from ebbtide.commands.prometheus_options import credentials_from, prometheus_credential_options
from ebbtide.errors import TraceFormatError
from ebbtide.metrics.prometheus_access import PrometheusCredentials
from ebbtide.scaling.backtest import ReplayConditions
from ebbtide.scaling.backtest_comparison import Comparison, compare
from ebbtide.scaling.backtest_report import report
from ebbtide.scaling.load_source import is_prom_uri, parse_prom_uri
from ebbtide.scaling.series import LoadSeries
from ebbtide.scaling.settings import PlannerSettings, settings_from_spec
from ebbtide.scaling.trace_csv import parse_trace_csv


class _Duration(click.ParamType[float]):
    """A non-negative duration such as ``15s``, ``5m`` or ``1h30m``, or plain seconds; gives
    seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        from ebbtide.api import parse_duration

        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = parse_duration(str(value)).total_seconds()
            except ValueError as error:
                self.fail(str(error), param, ctx)
        if not seconds >= 0:
            self.fail(f"{value!r} is negative", param, ctx)
        return seconds


DURATION = _Duration()


@click.command()
@click.argument("trace")
@click.option(
    "-f",
    "--policy",
    "policy_file",
    required=True,
    type=click.File("r"),
    help="ScalingPolicy manifest (YAML) whose spec is replayed.",
)
@click.option("-o", "--output", type=click.File("w"), help="Write the timeline CSV here (- for stdout).")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw load, forecast and capacity to this image (needs matplotlib).",
)
@click.option(
    "--step", type=DURATION, default="15s", show_default=True, help="Planning interval and replay grid."
)
@click.option(
    "--metrics-lag",
    type=DURATION,
    default="60s",
    show_default=True,
    help="How late a sample becomes visible to the planner.",
)
@click.option(
    "--startup-delay",
    type=DURATION,
    default="120s",
    show_default=True,
    help="How long a new replica takes to become ready.",
)
@click.option(
    "--target-per-replica",
    type=click.FloatRange(min=0, min_open=True),
    help="Override the policy's metric.targetPerReplica.",
)
@click.option(
    "--prometheus-url",
    envvar="EBBTIDE_PROMETHEUS_URL",
    default="http://localhost:9090",
    show_default=True,
    help="Prometheus to read prom:// traces from.",
)
@prometheus_credential_options
def backtest(
    trace: str,
    policy_file: TextIO,
    output: TextIO | None,
    plot: Path | None,
    step: float,
    metrics_lag: float,
    startup_delay: float,
    target_per_replica: float | None,
    prometheus_url: str,
    **prometheus_options: Any,
) -> None:
    """Replay a recorded load TRACE through a ScalingPolicy and report how it would have done.

    TRACE is a CSV file of timestamp,value rows (ISO 8601 or Unix seconds, with a header), or
    prom://<query>?start=<time>&end=<time> to read it from Prometheus. The summary compares the
    policy, under the same lag and start-up delay, with the stock HPA (default behaviour), the
    same policy scaling on observed load only, and perfect foresight; its first line gives the
    policy's overload and cost as multiples of the stock HPA's.
    """
    settings = _settings(policy_file, target_per_replica=target_per_replica)
    if not step > 0:
        raise click.BadParameter("must be positive", param_hint="--step")
    credentials = credentials_from(prometheus_options)
    series = _load(trace, step=step, prometheus_url=prometheus_url, credentials=credentials)
    conditions = ReplayConditions(step=step, metrics_lag=metrics_lag, startup_delay=startup_delay)
    comparison = compare(series, settings=settings, conditions=conditions)
    if output is not None:
        from ebbtide.scaling.timeline_csv import write_timeline_csv

        write_timeline_csv(comparison.policy.timeline, output)
    click.echo(report(comparison, settings=settings, conditions=conditions))
    if plot is not None:
        _plot(comparison, settings=settings, path=plot)


def _settings(policy_file: TextIO, *, target_per_replica: float | None) -> PlannerSettings:
    import pydantic
    import yaml

    from ebbtide.api import ScalingPolicy

    name = getattr(policy_file, "name", "policy")
    try:
        manifest = yaml.safe_load(policy_file)
        policy = ScalingPolicy.model_validate(manifest)
    except (yaml.YAMLError, pydantic.ValidationError) as error:
        raise click.ClickException(f"{name}: not a valid ScalingPolicy: {error}") from None
    settings = settings_from_spec(policy.spec)
    if target_per_replica is not None:
        settings = replace(settings, target_per_replica=target_per_replica)
    return settings


def _load(trace: str, *, step: float, prometheus_url: str, credentials: PrometheusCredentials) -> LoadSeries:
    if is_prom_uri(trace):
        try:
            wanted = parse_prom_uri(trace)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="TRACE") from None
        try:
            from ebbtide.metrics.range_reader import PrometheusRangeSource
        except ImportError as error:
            raise click.ClickException(f"reading prom:// traces needs {error.name}") from None
        source = PrometheusRangeSource(prometheus_url, credentials=credentials)
        try:
            series = source.read_range(
                wanted.query, start=wanted.start, end=wanted.end, step=wanted.step or step
            )
        except Exception as error:  # any failure of the read is reported, not a traceback
            raise click.ClickException(str(error)) from None
        if len(series) == 0:
            raise click.ClickException(f"the query returned no samples: {wanted.query}")
        return series
    try:
        with open(trace, newline="", encoding="utf-8") as stream:
            return parse_trace_csv(stream, source=trace)
    except OSError as error:
        message = f"cannot read {trace}: {error.strerror}"
        raise click.BadParameter(message, param_hint="TRACE") from None
    except TraceFormatError as error:
        raise click.ClickException(str(error)) from None


def _plot(comparison: Comparison, *, settings: PlannerSettings, path: Path) -> None:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise click.ClickException("--plot needs matplotlib (pip install 'ebbtide[plot]')") from None
    timeline = comparison.policy.timeline
    times = timeline.timestamps.astype(np.int64).astype("datetime64[s]")
    target = settings.target_per_replica
    # A Figure of its own, not pyplot: no global backend or figure state is touched.
    figure = Figure(figsize=(14, 5))
    axes = figure.subplots()
    axes.plot(times, timeline.load, label="load", linewidth=0.8, color="black")
    if not all(math.isnan(v) for v in timeline.predicted_load.tolist()):
        axes.plot(times, timeline.predicted_load, label="forecast", linewidth=0.8, alpha=0.7)
    for run in comparison.runs:
        axes.step(
            times,
            run.ready * target,
            where="post",
            label=f"ready capacity, {run.label}",
            linewidth=1.4 if run is comparison.runs[1] else 0.8,
            alpha=1.0 if run is comparison.runs[1] else 0.6,
        )
    axes.set_ylabel("load")
    axes.legend(loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
