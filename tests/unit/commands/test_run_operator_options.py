"""``ebbtide operator`` options the Helm chart relies on: the webhook's certificate files, the
certificate the operator keeps in a Secret, and no kopf peering (every replica runs every policy's loop).

The chart mounts the webhook's certificate from a Secret, and the webhook must serve exactly
that one.
"""

from __future__ import annotations

import datetime as dt
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


# -- the certificate the operator keeps in a Secret ----------------------------------------------

KEPT = (
    "--webhook-cert-secret=rel-ebbtide-webhook-certs",
    "--webhook-configuration=rel-ebbtide-fairqueue",
    "--webhook-cert-host=rel-ebbtide-webhook",
    "--webhook-cert-host=rel-ebbtide-webhook.ebbtide-system.svc",
)


def test_a_kept_certificate_reaches_the_configuration(started: list[OperatorConfig]) -> None:
    code, output = invoke(*KEPT, "--webhook-cert-validity=720h", "--webhook-cert-refresh=5")
    assert code == 0, output
    [config] = started
    assert (config.webhook_cert_secret, config.webhook_configuration) == (
        "rel-ebbtide-webhook-certs",
        "rel-ebbtide-fairqueue",
    )
    assert config.webhook_cert_hosts == ("rel-ebbtide-webhook", "rel-ebbtide-webhook.ebbtide-system.svc")
    assert config.webhook_cert_validity == dt.timedelta(days=30)
    assert config.webhook_ca_validity == dt.timedelta(days=3650)
    assert config.webhook_cert_refresh == 5


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (KEPT[:1], "needs --webhook-configuration and --webhook-cert-host"),
        (KEPT[:2], "needs --webhook-configuration and --webhook-cert-host"),
        ((*KEPT, "--webhook-cert-file=/t.crt", "--webhook-key-file=/t.key"), "exclude each other"),
        ((*KEPT, "--webhook-cert-validity=1000h", "--webhook-ca-validity=999h"), "must not exceed"),
        ((*KEPT, "--webhook-cert-validity=0s"), "not a positive duration"),
        ((*KEPT, "--webhook-ca-validity=ten years"), "must be a duration"),
    ],
    ids=["no configuration", "no host", "and files", "outliving its CA", "zero", "not a duration"],
)
def test_a_kept_certificate_without_what_it_needs_is_a_usage_error(
    started: list[OperatorConfig], args: tuple[str, ...], complaint: str
) -> None:
    code, output = invoke(*args)
    assert code == 2
    assert complaint in output
    assert not started
