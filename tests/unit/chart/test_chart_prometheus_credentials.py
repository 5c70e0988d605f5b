"""The chart's Prometheus credentials reach the operator and the extender as files mounted from
Secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.unit.chart.chart_rendering import Manifest, one, render

from ebbtide.commands.extender import extender as extender_command
from ebbtide.commands.prometheus_options import credentials_from
from ebbtide.commands.run_operator import run_operator as operator_command
from ebbtide.metrics.prometheus_access import PrometheusCredentials

pytestmark = pytest.mark.unit

OPERATOR = "rel-ebbtide-operator"


def operator_pod(manifests: list[Manifest]) -> dict[str, Any]:
    return dict(one(manifests, "Deployment", OPERATOR)["spec"]["template"]["spec"])


def credentials_in(
    pod: dict[str, Any], monkeypatch: pytest.MonkeyPatch, *, container: int = 0
) -> PrometheusCredentials:
    monkeypatch.setenv("POD_NAME", "rel-ebbtide-operator-5d8f7c9b6-abcde")
    args = pod["containers"][container]["args"]
    command = operator_command if args[0] == "operator" else extender_command
    with command.make_context(args[0], args[1:], resilient_parsing=False) as ctx:
        params = dict(ctx.params)
    # Parsed as the command does, minus the check that the files exist (they are in the pod).
    return PrometheusCredentials(
        bearer_token_file=params["prometheus_bearer_token_file"],
        username=params["prometheus_username"],
        password_file=params["prometheus_password_file"],
        ca_file=params["prometheus_ca_file"],
        headers=params["prometheus_headers"],
        tenant=params["prometheus_tenant"],
    )


def mounted_from(pod: dict[str, Any], path: Path, *, container: int = 0) -> tuple[str, str]:
    """(Secret name, key) that ``path`` in the pod's ``container`` comes from."""
    mounts = pod["containers"][container]["volumeMounts"]
    [mount] = [m for m in mounts if Path(m["mountPath"]) == path.parent]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    [item] = [i for i in volume["secret"]["items"] if i["path"] == path.name]
    return volume["secret"]["secretName"], item["key"]


def test_basic_auth_a_ca_headers_and_a_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    pod = operator_pod(
        render(
            {
                "prometheus.url": "https://mimir.example:443/prometheus",
                "prometheus.basicAuth.username": "ebbtide",
                "prometheus.basicAuth.passwordSecret.name": "prom-auth",
                "prometheus.basicAuth.passwordSecret.key": "password",
                "prometheus.caSecret.name": "prom-ca",
                "prometheus.caSecret.key": "ca.crt",
                "prometheus.headers.X-Team": "capacity",
                "prometheus.tenant": "team-a",
            }
        )
    )
    credentials = credentials_in(pod, monkeypatch)
    assert credentials.username == "ebbtide"
    assert credentials.password_file is not None and credentials.ca_file is not None
    assert mounted_from(pod, credentials.password_file) == ("prom-auth", "password")
    assert mounted_from(pod, credentials.ca_file) == ("prom-ca", "ca.crt")
    assert credentials.all_headers() == {"X-Team": "capacity", "X-Scope-OrgID": "team-a"}
    assert not any("prom-auth" in arg or "password=" in arg for arg in pod["containers"][0]["args"])


def test_the_extender_reads_the_same_prometheus_with_the_same_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manifests = render(
        {
            "scheduler.enabled": "true",
            "prometheus.basicAuth.username": "ebbtide",
            "prometheus.basicAuth.passwordSecret.name": "prom-auth",
            "prometheus.basicAuth.passwordSecret.key": "password",
            "prometheus.caSecret.name": "prom-ca",
            "prometheus.caSecret.key": "ca.crt",
            "prometheus.tenant": "team-a",
        }
    )
    pod = dict(one(manifests, "Deployment", "rel-ebbtide-scheduler")["spec"]["template"]["spec"])
    extender = [c["name"] for c in pod["containers"]].index("extender")
    credentials = credentials_in(pod, monkeypatch, container=extender)
    assert credentials.username == "ebbtide"
    assert credentials.password_file is not None and credentials.ca_file is not None
    assert mounted_from(pod, credentials.password_file, container=extender) == ("prom-auth", "password")
    assert mounted_from(pod, credentials.ca_file, container=extender) == ("prom-ca", "ca.crt")
    assert credentials.all_headers() == {"X-Scope-OrgID": "team-a"}
    scheduler = [c for c in pod["containers"] if c["name"] != "extender"]
    assert not [m for c in scheduler for m in c["volumeMounts"] if m["name"].startswith("prometheus-")]


def test_a_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    pod = operator_pod(
        render(
            {"prometheus.bearerTokenSecret.name": "prom-token", "prometheus.bearerTokenSecret.key": "token"}
        )
    )
    credentials = credentials_in(pod, monkeypatch)
    assert credentials.bearer_token_file is not None
    assert mounted_from(pod, credentials.bearer_token_file) == ("prom-token", "token")


def test_by_default_no_credentials_are_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    pod = operator_pod(render())
    assert credentials_in(pod, monkeypatch) == PrometheusCredentials()
    assert not [v for v in pod["volumes"] if v["name"].startswith("prometheus-")]


def test_credentials_from_pops_every_option() -> None:
    params: dict[str, Any] = {
        "prometheus_bearer_token_file": None,
        "prometheus_username": None,
        "prometheus_password_file": None,
        "prometheus_ca_file": None,
        "prometheus_headers": (),
        "prometheus_tenant": None,
        "other": 1,
    }
    assert credentials_from(params) == PrometheusCredentials()
    assert params == {"other": 1}
