"""The Helm chart on the real cluster: the API server validates every object, the pods run in a
namespace that enforces the restricted Pod Security Standard, each service account has exactly
the rights pinned below, upgrades roll out and keep a Helm-generated webhook certificate, and
uninstalling removes everything but the CRDs. (The operator-kept certificate, the default, is
tests/e2e/test_webhook_certificate.py's.)

KWOK plays the pods (nothing runs in them), so this proves what the API server decides - schema,
admission, RBAC, Pod Security, webhook registration - not the containers' behaviour; the kind test
(tests/kind) runs the real image. On kind (EBBTIDE_TEST_CLUSTER=kind) the chart's pods land on the
same KWOK nodes (kind's own nodes are tainted for the run), so the same tests hold there.

The webhook fails closed and its Service has no real endpoint here, so every release this module
installs scopes the webhook to namespaces carrying a label only this module's probe namespace gets.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from kubernetes.client.exceptions import ApiException
from tests.support.cluster import E2ECluster
from tests.unit.chart.chart_rendering import CHART, EVERY_TOGGLE, Manifest, helm, set_args

T = TypeVar("T")
SCOPE_LABEL = "ebbtide.io/chart-test-webhook"
SCOPE_VALUE = "webhook.namespaceSelector.matchLabels." + SCOPE_LABEL.replace(".", "\\.")
#: Kinds whose CRDs (prometheus-operator, cert-manager) the test cluster does not have.
UPSTREAM_KINDS = {"ServiceMonitor", "PrometheusRule", "Certificate", "Issuer"}


def eventually(check: Callable[[], T | None], *, timeout: float = 120, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


@dataclass
class Release:
    name: str
    namespace: str
    cluster: E2ECluster

    @property
    def fullname(self) -> str:
        return f"{self.name}-ebbtide"

    def values(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Values every install here uses: the release's own scheduler name and webhook scope."""
        return {
            "scheduler.name": f"{self.name}-scheduler",
            SCOPE_VALUE: self.name,
            **(extra or {}),
        }

    def helm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return helm(
            *args, f"--kubeconfig={self.cluster.kubeconfig}", f"--namespace={self.namespace}", check=check
        )

    def _wait(self) -> list[str]:
        return ["--wait", "--timeout=5m"]

    def install(self, values: dict[str, str], *extra: str) -> None:
        self.helm("install", self.name, str(CHART), *set_args(self.values(values)), *extra, *self._wait())

    def upgrade(self, values: dict[str, str]) -> None:
        self.helm("upgrade", self.name, str(CHART), "--reuse-values", *set_args(values), *self._wait())

    def uninstall(self) -> None:
        self.helm("uninstall", self.name, "--wait", "--timeout=5m", check=False)

    def objects(self) -> set[str]:
        """``kind/name`` of everything in the cluster labelled as this release's."""
        kinds = (
            "deployments,replicasets,pods,services,configmaps,secrets,serviceaccounts,roles,rolebindings,"
            "poddisruptionbudgets,clusterroles,clusterrolebindings,mutatingwebhookconfigurations,"
            "customresourcedefinitions"
        )
        result = self.cluster.kubectl(
            "get",
            kinds,
            "--all-namespaces",
            f"--selector=app.kubernetes.io/instance={self.name}",
            "-o",
            "name",
        )
        return set(result.stdout.split())


@pytest.fixture
def release_namespace(cluster: E2ECluster) -> Iterator[str]:
    """A fresh namespace where the API server enforces the restricted Pod Security Standard."""
    name = f"chart-{uuid.uuid4().hex[:8]}"
    cluster.core.create_namespace(
        {
            "metadata": {
                "name": name,
                "labels": {
                    "ebbtide.io/test": "true",
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            }
        }
    )
    eventually(
        lambda: _exists(lambda: cluster.core.read_namespaced_service_account("default", name)),
        what="the namespace's default service account",
    )
    yield name
    cluster.core.delete_namespace(name)


@pytest.fixture
def release(cluster: E2ECluster, release_namespace: str, crds: list[str]) -> Iterator[Release]:
    """A release name in ``release_namespace``, uninstalled after the test whatever happened."""
    installed = Release(name=f"r{uuid.uuid4().hex[:6]}", namespace=release_namespace, cluster=cluster)
    try:
        yield installed
    finally:
        installed.uninstall()


def _exists(read: Callable[[], Any]) -> bool:
    try:
        read()
        return True
    except ApiException as error:
        if error.status == 404:
            return False
        raise


def message(error: ApiException) -> str:
    """The API server's message in a refusal (the body is a JSON Status)."""
    return str(json.loads(error.body)["message"])


def render_for(release: Release, values: dict[str, str]) -> list[Manifest]:
    result = release.helm("template", release.name, str(CHART), *set_args(release.values(values)))
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


# -- validation by the API server ----------------------------------------------------------------


@pytest.mark.parametrize("values", [{}, EVERY_TOGGLE], ids=["default values", "every toggle on"])
def test_the_api_server_accepts_every_rendered_object_with_strict_field_validation(
    cluster: E2ECluster, release: Release, values: dict[str, str], tmp_path: Path
) -> None:
    manifests = [m for m in render_for(release, values) if m["kind"] not in UPSTREAM_KINDS]
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(manifests))
    result = cluster.kubectl(
        "apply", "--dry-run=server", "--validate=strict", f"--filename={rendered}", check=False
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(manifests)
    # The namespace warns about workloads whose pods "restricted" would refuse: there are none.
    assert "PodSecurity" not in result.stderr, result.stderr


# -- an installed release ------------------------------------------------------------------------


def test_install_runs_every_pod_under_restricted_pod_security(cluster: E2ECluster, release: Release) -> None:
    release.install({"crds.install": "false"})
    deployments = {
        d.metadata.name: d for d in cluster.apps.list_namespaced_deployment(release.namespace).items
    }
    assert deployments.keys() == {f"{release.fullname}-operator", f"{release.fullname}-scheduler"}
    for name, deployment in deployments.items():
        assert deployment.status.available_replicas == deployment.spec.replicas == 2, name

    def pods() -> list[Any] | None:
        found = cluster.core.list_namespaced_pod(
            release.namespace, label_selector=f"app.kubernetes.io/instance={release.name}"
        ).items
        return found if len(found) == 4 else None

    # Pod Security admission let each of them in.
    created = eventually(pods, what="the operator's and the scheduler's pods")
    assert all(pod.status.phase == "Running" for pod in created)
    # The namespace enforces "restricted": these pods exist, so the API server found them compliant;
    # a pod that is not is refused.
    with pytest.raises(ApiException) as refused:
        cluster.core.create_namespaced_pod(
            release.namespace,
            {
                "metadata": {"name": "lax"},
                "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
            },
        )
    assert refused.value.status == 403
    assert "violates PodSecurity" in refused.value.body


def test_the_webhook_intercepts_only_queued_objects_in_its_namespaces(
    cluster: E2ECluster, release: Release
) -> None:
    """The API server calls the webhook for labelled Pods and Jobs in a selected namespace and, as
    no operator answers here, refuses them (failurePolicy Fail); everything else is untouched."""
    release.install({"crds.install": "false"})

    probe = f"{release.name}-probe"
    cluster.core.create_namespace({"metadata": {"name": probe, "labels": {SCOPE_LABEL: release.name}}})
    try:
        queued = {"ebbtide.io/queue": "batch"}
        pod = {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}
        with pytest.raises(ApiException) as refused:
            cluster.core.create_namespaced_pod(
                probe, {"metadata": {"name": "queued", "labels": queued}, "spec": pod}
            )
        assert 'failed calling webhook "gate-queued-pods.fairqueue.ebbtide.io"' in message(refused.value)
        with pytest.raises(ApiException) as refused:
            cluster.batch.create_namespaced_job(
                probe,
                {
                    "metadata": {"name": "queued", "labels": queued},
                    "spec": {"template": {"spec": {**pod, "restartPolicy": "Never"}}},
                },
            )
        assert 'failed calling webhook "suspend-queued-jobs.fairqueue.ebbtide.io"' in message(refused.value)
        # Not labelled: never sent to the webhook.
        cluster.core.create_namespaced_pod(probe, {"metadata": {"name": "plain"}, "spec": pod})
    finally:
        cluster.core.delete_namespace(probe)
    # Labelled, in a namespace the webhook does not select: untouched too.
    cluster.core.create_namespaced_pod(
        release.namespace,
        {
            "metadata": {"name": "queued-elsewhere", "labels": {"ebbtide.io/queue": "batch"}},
            "spec": {
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 1000,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [
                    {
                        "name": "c",
                        "image": "registry.k8s.io/pause:3.10",
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }
                ],
            },
        },
    )


# -- RBAC, pinned ------------------------------------------------------------------------------
# What each service account may do beyond what every service account may (the rights of one with
# no bindings, read from the same cluster), as `kubectl auth can-i --list` prints it. {lease}
# stands for the scheduler's lease name. A change here is a change of what the chart grants:
# review it as such.

OPERATOR_RIGHTS = """
Resources                                       Non-Resource URLs   Resource Names   Verbs
events                                          []                  []               [create]
jobs.batch                                      []                  []               [get list watch patch]
pods                                            []                  []               [get list watch patch delete]
namespaces                                      []                  []               [list watch]
nodes                                           []                  []               [list watch]
customresourcedefinitions.apiextensions.k8s.io  []                  []               [list watch]
horizontalpodautoscalers.autoscaling            []                  []               [list watch]
fairqueues.ebbtide.io                           []                  []               [list watch]
scalingpolicies.ebbtide.io                      []                  []               [list watch patch]
mutatingwebhookconfigurations.admissionregistration.k8s.io   []   [{webhook_configuration}]   [get patch]
fairqueues.ebbtide.io/status                    []                  []               [patch]
scalingpolicies.ebbtide.io/status               []                  []               [patch]
deployments.apps                                []                  []               [list watch]
replicasets.apps                                []                  []               [list watch]
statefulsets.apps                               []                  []               [list watch]
deployments.apps/scale                          []                  []               [get patch]
replicasets.apps/scale                          []                  []               [get patch]
statefulsets.apps/scale                         []                  []               [get patch]
replicationcontrollers/scale                    []                  []               [get patch]
"""

#: Only in the release namespace, on top of OPERATOR_RIGHTS: each replica's membership Lease
#: (named after its pod, so not by name) and the list of them, the fair-queue engine's Lease among
#: them; and the Secret where the operator keeps the webhook's certificate.
OPERATOR_RIGHTS_IN_RELEASE_NAMESPACE = """
Resources                    Non-Resource URLs   Resource Names       Verbs
leases.coordination.k8s.io   []                  []                   [create get update list]
secrets                      []                  [{webhook_secret}]     [get update]
"""

EXTENDER_RIGHTS = """
Resources   Non-Resource URLs   Resource Names   Verbs
nodes       []                  []               [list watch]
pods        []                  []               [list watch]
"""

#: Beyond the stock system:kube-scheduler and system:volume-scheduler roles (read from the cluster).
SCHEDULER_RIGHTS_IN_RELEASE_NAMESPACE = """
Resources                      Non-Resource URLs   Resource Names   Verbs
leases.coordination.k8s.io     []                  [{lease}]        [get update]
"""

SCHEDULER_RIGHTS_IN_KUBE_SYSTEM = """
Resources    Non-Resource URLs   Resource Names                         Verbs
configmaps   []                  [extension-apiserver-authentication]   [get list watch]
"""

Rights = dict[tuple[str, str, str], frozenset[str]]


def parse_rights(table: str) -> Rights:
    """``kubectl auth can-i --list`` output as {(resource, non-resource URL, names): verbs}."""
    rights: dict[tuple[str, str, str], set[str]] = {}
    for line in table.strip().splitlines()[1:]:
        columns = re.split(r"\s{2,}", line.strip())
        if len(columns) == 3:  # no resource: the row starts with the URL column
            columns = ["", *columns]
        resource, urls, names, verbs = columns
        rights.setdefault((resource, urls, names), set()).update(verbs.strip("[]").split())
    return {key: frozenset(verbs) for key, verbs in rights.items()}


def minus(granted: Rights, baseline: Rights) -> Rights:
    """What ``granted`` allows beyond ``baseline``."""
    extra = {key: verbs - baseline.get(key, frozenset()) for key, verbs in granted.items()}
    return {key: verbs for key, verbs in extra.items() if verbs}


def rights_of(cluster: E2ECluster, *, namespace: str, account: str, listing_namespace: str) -> Rights:
    listing = cluster.kubectl(
        "auth",
        "can-i",
        "--list",
        f"--namespace={listing_namespace}",
        f"--as=system:serviceaccount:{namespace}:{account}",
        "--as-group=system:serviceaccounts",
        f"--as-group=system:serviceaccounts:{namespace}",
    )
    return parse_rights(listing.stdout)


def test_each_service_account_has_exactly_the_pinned_rights(cluster: E2ECluster, release: Release) -> None:
    release.install({"crds.install": "false"})
    ns, name = release.namespace, release.fullname
    # Reference identities: one with no bindings, one with only the stock scheduler roles.
    for account in ("baseline", "stock-scheduler"):
        cluster.core.create_namespaced_service_account(ns, {"metadata": {"name": account}})
    stock_binding = f"{release.name}-stock-scheduler"
    for role in ("system:kube-scheduler", "system:volume-scheduler"):
        cluster.rbac.create_cluster_role_binding(
            {
                "metadata": {"name": f"{stock_binding}-{role.split(':')[1]}"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": "stock-scheduler", "namespace": ns}],
            }
        )
    try:

        def beyond(account: str, reference: str, listing_namespace: str = ns) -> Rights:
            def read() -> Rights:
                return rights_of(cluster, namespace=ns, account=account, listing_namespace=listing_namespace)

            granted = read()
            baseline = rights_of(
                cluster, namespace=ns, account=reference, listing_namespace=listing_namespace
            )
            assert not minus(baseline, granted) or reference != "baseline", "lost a baseline right"
            return minus(granted, baseline)

        placeholders = {
            "lease": f"{release.name}-scheduler",
            "webhook_configuration": f"{name}-fairqueue",
            "webhook_secret": f"{name}-webhook-certs",
        }
        cluster_wide = parse_rights(OPERATOR_RIGHTS.format(**placeholders))
        expected = {
            "operator": {
                **cluster_wide,
                **parse_rights(OPERATOR_RIGHTS_IN_RELEASE_NAMESPACE.format(**placeholders)),
            },
            "extender": parse_rights(EXTENDER_RIGHTS),
            "scheduler": parse_rights(SCHEDULER_RIGHTS_IN_RELEASE_NAMESPACE.format(**placeholders)),
        }
        eventually(
            lambda: beyond(f"{name}-scheduler", "stock-scheduler") == expected["scheduler"] or None,
            timeout=30,
            what="the RBAC objects to take effect",
        )
        assert beyond(f"{name}-operator", "baseline") == expected["operator"]
        assert beyond(f"{name}-extender", "baseline") == expected["extender"]
        assert beyond(f"{name}-scheduler", "stock-scheduler") == expected["scheduler"]
        assert beyond(f"{name}-scheduler", "stock-scheduler", "kube-system") == parse_rights(
            SCHEDULER_RIGHTS_IN_KUBE_SYSTEM
        )
        # The operator's rights but its lease, and all of the extender's, are cluster-wide: the
        # same from kube-system.
        assert beyond(f"{name}-operator", "baseline", "kube-system") == cluster_wide
        assert beyond(f"{name}-extender", "baseline", "kube-system") == expected["extender"]
    finally:
        for role in ("kube-scheduler", "volume-scheduler"):
            cluster.rbac.delete_cluster_role_binding(f"{stock_binding}-{role}")


# -- upgrade and uninstall, with the CRDs in the release -----------------------------------------


@pytest.mark.timeout(1200)
def test_upgrade_rolls_out_keeps_the_certificate_and_uninstall_keeps_only_the_crds(
    cluster: E2ECluster, release: Release, crds: list[str]
) -> None:
    # The session's CRDs were applied with kubectl; the release takes them over, as a user moving
    # from kubectl-applied CRDs to chart-managed ones would. The certificate is Helm's here: the
    # upgrade must look it up rather than generate another.
    release.install({"crds.install": "true", "webhook.certificate.source": "helm"}, "--take-ownership")
    ns, name = release.namespace, release.fullname
    for crd in crds:
        annotations = cluster.apiext.read_custom_resource_definition(crd).metadata.annotations or {}
        assert annotations.get("meta.helm.sh/release-name") == release.name
        assert annotations.get("helm.sh/resource-policy") == "keep"
    secret_before = cluster.core.read_namespaced_secret(f"{name}-webhook-tls", ns).data
    operator = f"{name}-operator"
    generation = cluster.apps.read_namespaced_deployment(operator, ns).metadata.generation

    release.upgrade({"operator.podAnnotations.ebbtide\\.io/rollout": "second"})

    deployment = cluster.apps.read_namespaced_deployment(operator, ns)
    assert deployment.metadata.generation > generation

    def rolled_out() -> list[Any] | None:
        pods = cluster.core.list_namespaced_pod(
            ns, label_selector="app.kubernetes.io/component=operator"
        ).items
        new = [p for p in pods if (p.metadata.annotations or {}).get("ebbtide.io/rollout") == "second"]
        done = len(new) == 2 and len(pods) == 2 and all(p.status.phase == "Running" for p in new)
        return new if done else None

    eventually(rolled_out, what="the operator's pods to be replaced by annotated ones")
    deployment = cluster.apps.read_namespaced_deployment(operator, ns)
    assert deployment.status.observed_generation == deployment.metadata.generation
    assert deployment.status.updated_replicas == deployment.status.available_replicas == 2
    # The upgrade looked the certificate up instead of generating a new one.
    assert cluster.core.read_namespaced_secret(f"{name}-webhook-tls", ns).data == secret_before
    configuration = yaml.safe_load(
        cluster.kubectl("get", "mutatingwebhookconfiguration", f"{name}-fairqueue", "-o", "yaml").stdout
    )
    assert {w["clientConfig"]["caBundle"] for w in configuration["webhooks"]} == {secret_before["ca.crt"]}

    before = release.objects()
    assert {f"customresourcedefinition.apiextensions.k8s.io/{crd}" for crd in crds} <= before
    assert f"mutatingwebhookconfiguration.admissionregistration.k8s.io/{name}-fairqueue" in before
    release.uninstall()
    kept = {f"customresourcedefinition.apiextensions.k8s.io/{crd}" for crd in crds}
    eventually(lambda: release.objects() == kept or None, what="everything but the CRDs to be gone")
    for crd in crds:
        assert cluster.apiext.read_custom_resource_definition(crd).status.conditions


# -- CRDs applied with kubectl, and the chart ------------------------------------------------------


def test_kubectl_applied_crds_and_a_default_install_do_not_collide(
    cluster: E2ECluster, release: Release, crds: list[str]
) -> None:
    # The session's CRDs were applied with kubectl (or kept by an uninstalled release): with the
    # default crds.install=auto the chart leaves them alone instead of failing to import them.
    def owner(crd: str) -> str | None:
        annotations = cluster.apiext.read_custom_resource_definition(crd).metadata.annotations or {}
        return annotations.get("meta.helm.sh/release-name")

    before = {crd: owner(crd) for crd in crds}
    result = release.helm("install", release.name, str(CHART), *set_args(release.values()), *release._wait())
    assert "These CRDs existed already and are not this release's" in result.stdout, result.stdout
    for crd in crds:
        assert crd in result.stdout
        assert owner(crd) == before[crd] != release.name
    assert not any(name.startswith("customresourcedefinition") for name in release.objects())
