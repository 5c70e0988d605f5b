"""``ebbtide operator`` options the Helm chart relies on: ``--priority auto``, the webhook's
certificate files, and the certificate the operator keeps in a Secret.

The chart runs two operator replicas from one pod template; kopf freezes every replica when the
highest priority is shared, so ``auto`` must give each pod its own, stably. The chart mounts the
webhook's certificate from a Secret, and the webhook must serve exactly that one.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from click.testing import CliRunner

from ebbtide.cli import main
from ebbtide.commands import run_operator
from ebbtide.commands.run_operator import AUTO_PRIORITY_RANGE, auto_priority
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


def test_auto_priority_comes_from_the_pod_name(started: list[OperatorConfig]) -> None:
    code, output = invoke("--peering=ebbtide", "--priority=auto", env={"POD_NAME": "op-5d8f7c9b6-abcde"})
    assert code == 0, output
    assert started[0].peering_name == "ebbtide"
    assert started[0].priority == auto_priority("op-5d8f7c9b6-abcde")


def test_auto_priority_is_stable_across_releases_and_restarts() -> None:
    # Pinned: a restarted pod keeps its name, and must keep its place among its peers.
    assert auto_priority("ebbtide-operator-5d8f7c9b6-abcde") == 867077
    assert auto_priority("ebbtide-operator-5d8f7c9b6-x2k9q") == 49416


def test_replicas_of_one_deployment_get_distinct_priorities() -> None:
    # Pod names as a ReplicaSet makes them (Kubernetes' suffix alphabet), 27^3 = 19,683 of them.
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    names = ["ebbtide-operator-7c9f8d6b5-xx" + "".join(s) for s in itertools.product(alphabet, repeat=3)]
    priorities = [auto_priority(name) for name in names]
    assert all(0 <= p < AUTO_PRIORITY_RANGE for p in priorities)
    # As spread as random draws: 19,683 draws from 10^6 values share one about 190 times (the
    # birthday bound), so any two given replicas collide with probability ~10^-6.
    collisions = len(priorities) - len(set(priorities))
    assert collisions < 400


def test_auto_without_a_pod_name_is_a_usage_error(started: list[OperatorConfig]) -> None:
    code, output = invoke("--peering=ebbtide", "--priority=auto")
    assert code == 2
    assert "POD_NAME" in output
    assert not started


@pytest.mark.parametrize(("given", "priority"), [("7", 7), ("-3", -3), ("0", 0)])
def test_a_number_is_used_as_it_is(started: list[OperatorConfig], given: str, priority: int) -> None:
    code, output = invoke("--peering=ebbtide", f"--priority={given}", env={"POD_NAME": "ignored"})
    assert code == 0, output
    assert started[0].priority == priority


def test_the_default_priority_is_zero(started: list[OperatorConfig]) -> None:
    code, output = invoke()
    assert code == 0, output
    assert started[0].priority == 0
    assert started[0].peering_name is None


def test_anything_else_is_refused(started: list[OperatorConfig]) -> None:
    code, output = invoke("--priority=high")
    assert code == 2
    assert "neither an integer nor 'auto'" in output
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
