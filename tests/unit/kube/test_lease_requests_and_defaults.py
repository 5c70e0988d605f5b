"""The Lease API adapter maps the answers the elector acts on (404, 409) and says what a refusal
means; a candidate's identity and Lease namespace come from the pod, the kubeconfig or defaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ebbtide.errors import LeaseRequestError
from ebbtide.kube import client as kube_client
from ebbtide.kube import leases
from ebbtide.kube.client import ClusterAccess
from ebbtide.kube.leases import KubeLeases, default_identity, default_namespace

pytestmark = pytest.mark.unit

LEASE = {
    "metadata": {"name": "l", "namespace": "ns", "resourceVersion": "7"},
    "spec": {"holderIdentity": "a"},
}


class Answer:
    def __init__(self, obj: object) -> None:
        self.data = json.dumps(obj).encode()


class FakeCoordination:
    """CoordinationV1Api's three Lease calls, answering with ``status`` (200: the Lease)."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, verb: str, **kwargs: Any) -> Answer:
        self.calls.append((verb, kwargs))
        if self.status != 200:
            raise ApiException(
                status=self.status, reason={403: "Forbidden", 404: "Not Found"}.get(self.status)
            )
        return Answer(LEASE)

    def read_namespaced_lease(self, name: str, namespace: str, **options: Any) -> Answer:
        return self._answer("read", name=name, namespace=namespace, **options)

    def create_namespaced_lease(self, namespace: str, body: Any, **options: Any) -> Answer:
        return self._answer("create", namespace=namespace, body=body, **options)

    def replace_namespaced_lease(self, name: str, namespace: str, body: Any, **options: Any) -> Answer:
        return self._answer("replace", name=name, namespace=namespace, body=body, **options)


def adapter(status: int) -> tuple[KubeLeases, FakeCoordination]:
    made = KubeLeases(client.ApiClient(client.Configuration(host="http://127.0.0.1:9")), timeout=3)
    fake = FakeCoordination(status)
    made._api = fake
    return made, fake


def test_answers_come_back_as_plain_json_with_a_timeout_on_every_request() -> None:
    made, fake = adapter(200)
    assert made.read(namespace="ns", name="l") == LEASE
    assert made.create(namespace="ns", body=LEASE) == LEASE
    assert made.replace(namespace="ns", name="l", body=LEASE) == LEASE
    assert {call["_request_timeout"] for _, call in fake.calls} == {(3, 3)}


@pytest.mark.parametrize(
    ("verb", "status"),
    [("read", 404), ("create", 409), ("replace", 409), ("replace", 404)],
    ids=["no lease to read", "created by someone else first", "changed since read", "deleted since read"],
)
def test_what_the_elector_acts_on_is_none(verb: str, status: int) -> None:
    made, _ = adapter(status)
    calls = {
        "read": lambda: made.read(namespace="ns", name="l"),
        "create": lambda: made.create(namespace="ns", body=LEASE),
        "replace": lambda: made.replace(namespace="ns", name="l", body=LEASE),
    }
    assert calls[verb]() is None


def test_a_refusal_says_which_rights_in_which_namespace() -> None:
    made, _ = adapter(403)
    with pytest.raises(LeaseRequestError) as refused:
        made.read(namespace="default", name="ebbtide-fair-queue")
    message = str(refused.value)
    assert message.startswith("get lease default/ebbtide-fair-queue: 403 Forbidden")
    assert "$POD_NAMESPACE" in message


def test_other_failures_are_errors_too() -> None:
    made, _ = adapter(500)
    with pytest.raises(LeaseRequestError, match="update lease ns/l: 500"):
        made.replace(namespace="ns", name="l", body=LEASE)


# -- identity and namespace ----------------------------------------------------------------------


def kubeconfig(path: Path, *, namespace: str | None, other_namespace: str = "from-the-other-context") -> Path:
    """A kubeconfig whose current context ``ctx`` has ``namespace``; context ``other`` has
    ``other_namespace``."""
    context: dict[str, str] = {"cluster": "c", "user": "u"}
    if namespace is not None:
        context["namespace"] = namespace
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [
                    {"name": "ctx", "context": context},
                    {"name": "other", "context": {"cluster": "c", "user": "u", "namespace": other_namespace}},
                ],
                "current-context": "ctx",
            }
        )
    )
    return path


@pytest.fixture
def no_pod(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No pod environment, no kubeconfig and no service account namespace file; returns where
    that file goes."""
    for name in ("POD_NAME", "POD_NAMESPACE", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    account_namespace = tmp_path / "namespace"
    monkeypatch.setattr(kube_client, "SERVICE_ACCOUNT_NAMESPACE", account_namespace)
    monkeypatch.setattr(kube_client, "in_pod", lambda: False)
    return account_namespace


def test_the_identity_is_the_pod_name_else_host_and_process(
    no_pod: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leases.socket, "gethostname", lambda: "laptop")
    monkeypatch.setattr(leases.os, "getpid", lambda: 4242)
    assert default_identity() == "laptop_4242"
    monkeypatch.setenv("POD_NAME", "rel-ebbtide-operator-6c8d9f7b5-q2w4z")
    assert default_identity() == "rel-ebbtide-operator-6c8d9f7b5-q2w4z"


def test_the_namespace_is_the_pods_then_the_chosen_contexts_then_default(
    no_pod: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert default_namespace() == "default"
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "bare", namespace=None)))
    assert default_namespace() == "default"
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "kc", namespace="from-the-context")))
    assert default_namespace() == "from-the-context"
    # --context: the namespace of the context the operator connects through, not the current one.
    assert default_namespace(ClusterAccess(context="other")) == "from-the-other-context"
    assert default_namespace(ClusterAccess(kubeconfig=tmp_path / "bare")) == "default"
    monkeypatch.setenv("POD_NAMESPACE", "from-the-pod")
    assert default_namespace(ClusterAccess(context="other")) == "from-the-pod"


def test_in_a_pod_without_a_kubeconfig_the_namespace_is_the_service_accounts(
    no_pod: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kube_client, "in_pod", lambda: True)
    no_pod.write_text("from-the-token-volume\n")
    assert default_namespace() == "from-the-token-volume"


def test_an_unreadable_kubeconfig_is_no_namespace(
    no_pod: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    assert default_namespace() == "default"
