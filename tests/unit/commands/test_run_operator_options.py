"""``ebbtide operator`` options the Helm chart relies on: the webhook's certificate files, and no
kopf peering (every replica runs every policy's loop).

The chart mounts the webhook's certificate from a Secret, and the webhook must serve exactly
that one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ebbtide.cli import main
from ebbtide.commands import run_operator
from ebbtide.controllers.runtime import OperatorConfig

pytestmark = pytest.mark.unit


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[OperatorConfig]:
    """The configurations the command would have run the operator with (nothing is started)."""
    configs: list[OperatorConfig] = []
    monkeypatch.setattr(run_operator, "run", configs.append)
    monkeypatch.setattr(run_operator, "connect", lambda access, **_: None)
    monkeypatch.setattr(run_operator, "probe_prometheus", lambda url, **_: None)
    monkeypatch.delenv("POD_NAME", raising=False)
    return configs


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["operator", *args], env=env)
    return result.exit_code, result.output


def test_kopf_peering_is_not_an_option(started: list[OperatorConfig]) -> None:
    code, output = invoke("--peering=ebbtide")
    assert code == 2
    assert "No such option" in output
    assert not started


# -- the webhook's certificate files ---------------------------------------------------------------


def test_certificate_files_reach_the_configuration(started: list[OperatorConfig]) -> None:
    code, output = invoke("--webhook-cert-file=/tls/tls.crt", "--webhook-key-file=/tls/tls.key")
    assert code == 0, output
    [config] = started
    assert (config.webhook_cert_file, config.webhook_key_file) == (Path("/tls/tls.crt"), Path("/tls/tls.key"))


@pytest.mark.parametrize("given", ["--webhook-cert-file=/tls/tls.crt", "--webhook-key-file=/tls/tls.key"])
def test_a_certificate_without_its_key_is_a_usage_error(started: list[OperatorConfig], given: str) -> None:
    code, output = invoke(given)
    assert code == 2
    assert "must be given together" in output
    assert not started
