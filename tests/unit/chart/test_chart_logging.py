"""The chart's ``logging`` values reach the operator and the extender as options they accept."""

from __future__ import annotations

from typing import Any

import click
import pytest
from tests.unit.chart.chart_rendering import CHART, Manifest, helm, one, render

from ebbtide.commands.extender import extender as extender_command
from ebbtide.commands.run_operator import run_operator as operator_command

pytestmark = pytest.mark.unit


def args_of(manifests: list[Manifest], deployment: str, container: str) -> list[str]:
    containers = one(manifests, "Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    return list(next(c for c in containers if c["name"] == container)["args"])


def parsed(command: click.Command, args: list[str]) -> dict[str, Any]:
    with command.make_context(command.name or "", args[1:], resilient_parsing=False) as ctx:
        return dict(ctx.params)


@pytest.mark.parametrize(("level", "log_format"), [("info", "text"), ("debug", "json")])
def test_both_processes_log_as_the_values_say(
    level: str, log_format: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POD_NAME", "rel-ebbtide-operator-5d8f7c9b6-abcde")  # the downward API's
    manifests = render({"logging.level": level, "logging.format": log_format})
    for command, deployment, container in (
        (operator_command, "rel-ebbtide-operator", "operator"),
        (extender_command, "rel-ebbtide-scheduler", "extender"),
    ):
        params = parsed(command, args_of(manifests, deployment, container))
        assert (params["log_level"], params["log_format"]) == (level, log_format), deployment


def test_an_unknown_log_format_is_refused_by_the_values_schema() -> None:
    result = helm("template", "rel", str(CHART), "--set=logging.format=xml", check=False)
    assert result.returncode != 0
    assert "logging" in result.stderr
