"""``ebbtide workload``: the demo's HTTP service and its load generator (see :mod:`ebbtide.workload`)."""

from __future__ import annotations

import asyncio

import click

from ebbtide.api import parse_duration


@click.group()
def workload() -> None:
    """The demo workload: an HTTP service, and a load generator that drives it."""


@workload.command()
@click.option("--service", default="web", show_default=True, help="The metric's `service` label.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--startup", default="0s", show_default=True, help="How long the service takes to start, e.g. 20s."
)
@click.option("--work", default="0s", show_default=True, help="Time spent on each request, e.g. 5ms.")
def serve(service: str, port: int, startup: str, work: str) -> None:
    """Serve HTTP on PORT after STARTUP, counting requests in http_requests_total."""
    from ebbtide.workload.service import ServiceSettings, run

    settings = ServiceSettings(
        service=service,
        port=port,
        startup_seconds=_seconds(startup, "--startup"),
        work_seconds=_seconds(work, "--work"),
    )
    asyncio.run(run(settings))


@workload.command()
@click.option("--url", required=True, help="Where the requests go, e.g. http://web:8080/.")
@click.option("--duration", default="6m", show_default=True, help="How long the pattern takes.")
@click.option("--base", default=5.0, show_default=True, type=click.FloatRange(min=0), help="Quiet rate/s.")
@click.option("--peak", default=50.0, show_default=True, type=click.FloatRange(min=0), help="Peak rate/s.")
@click.option("--concurrency", default=200, show_default=True, type=click.IntRange(1))
def load(url: str, duration: str, base: float, peak: float, concurrency: int) -> None:
    """Send GET requests to URL at the demo pattern's rate: quiet, ramp, plateau, fall, quiet."""
    from ebbtide.demo.pattern import LoadPattern
    from ebbtide.workload.loadgen import LoadSettings, run

    try:
        pattern = LoadPattern(duration=_seconds(duration, "--duration"), base=base, peak=peak)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    asyncio.run(run(LoadSettings(url=url, pattern=pattern, concurrency=concurrency)))


def _seconds(value: str, option: str) -> float:
    try:
        return parse_duration(value).total_seconds()
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=option) from error
