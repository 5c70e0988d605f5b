"""Which cluster a command talks to: --kubeconfig, $KUBECONFIG, the pod's service account,
~/.kube/config, in that order, with --context choosing among a kubeconfig's contexts; and the one
line a user reads when none of them works."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ebbtide.errors import ClusterConfigError
from ebbtide.kube import client as kube_client
from ebbtide.kube.client import ClusterAccess, load_configuration, probe_api_server

pytestmark = pytest.mark.unit


def write_kubeconfig(path: Path, servers: dict[str, str], *, current: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": n, "cluster": {"server": s}} for n, s in servers.items()],
                "users": [{"name": "u", "user": {"token": "secret-token"}}],
                "contexts": [{"name": n, "context": {"cluster": n, "user": "u"}} for n in servers],
                "current-context": current,
            }
        )
    )
    return path


@pytest.fixture
def outside_a_pod(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No $KUBECONFIG, no service account, and a home of our own; returns the home."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def in_a_pod(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("pod-token")
    monkeypatch.setattr(kube_client, "SERVICE_ACCOUNT_TOKEN", token)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")


def test_kubeconfig_option_wins_over_the_environment(
    outside_a_pod: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", "/elsewhere")
    assert ClusterAccess(kubeconfig=tmp_path / "k").kubeconfig_source() == str(tmp_path / "k")


def test_kubeconfig_variable_comes_before_the_service_account(
    in_a_pod: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", "/a:/b")
    assert ClusterAccess().kubeconfig_source() == "/a:/b"


def test_a_pod_without_kubeconfig_uses_its_service_account(
    in_a_pod: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    assert ClusterAccess().kubeconfig_source() is None


def test_a_context_never_applies_to_the_service_account(
    in_a_pod: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ClusterAccess(context="other").kubeconfig_source() == str(tmp_path / ".kube" / "config")


def test_outside_a_pod_the_home_kubeconfig_is_used(outside_a_pod: Path) -> None:
    write_kubeconfig(outside_a_pod / "config", {"home": "https://home:6443"}, current="home")
    (outside_a_pod / ".kube").mkdir()
    (outside_a_pod / "config").rename(outside_a_pod / ".kube" / "config")
    assert load_configuration(ClusterAccess()).host == "https://home:6443"


def test_kubeconfig_variable_is_read_without_any_option(
    outside_a_pod: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_kubeconfig(outside_a_pod / "kc", {"env": "https://env:6443"}, current="env")
    monkeypatch.setenv("KUBECONFIG", str(path))
    configuration = load_configuration(ClusterAccess())
    assert configuration.host == "https://env:6443"
    token = configuration.get_api_key_with_prefix("BearerToken") or configuration.get_api_key_with_prefix(
        "authorization"
    )
    assert token == "Bearer secret-token"


def test_context_picks_another_context_of_the_kubeconfig(outside_a_pod: Path) -> None:
    path = write_kubeconfig(
        outside_a_pod / "kc", {"one": "https://one:6443", "two": "https://two:6443"}, current="one"
    )
    assert load_configuration(ClusterAccess(kubeconfig=path, context="two")).host == "https://two:6443"


def test_no_configuration_at_all_is_one_clear_error(outside_a_pod: Path) -> None:
    with pytest.raises(ClusterConfigError, match=r"^no Kubernetes cluster configured: .*KUBECONFIG"):
        load_configuration(ClusterAccess())


def test_an_unknown_context_names_the_file(outside_a_pod: Path) -> None:
    path = write_kubeconfig(outside_a_pod / "kc", {"one": "https://one:6443"}, current="one")
    with pytest.raises(ClusterConfigError, match=rf"{path}.*nope"):
        load_configuration(ClusterAccess(kubeconfig=path, context="nope"))


def test_a_kubeconfig_that_is_not_yaml_is_one_clear_error(outside_a_pod: Path) -> None:
    path = outside_a_pod / "kc"
    path.write_text("{not: [yaml")
    with pytest.raises(ClusterConfigError, match=str(path)):
        load_configuration(ClusterAccess(kubeconfig=path))


def test_an_api_server_nobody_listens_on_is_reported_as_unreachable(outside_a_pod: Path) -> None:
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = "http://127.0.0.1:9"  # discard: nothing listens there
    configuration.retries = 0
    with pytest.raises(ClusterConfigError, match=r"^cannot reach the Kubernetes API at http://127.0.0.1:9: "):
        probe_api_server(client.ApiClient(configuration))
