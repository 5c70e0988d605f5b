"""The Helm chart's identities on the test cluster, for running ebbtide's processes with them.

The e2e scenarios run the operator and the extender as local processes; to prove that the chart's
RBAC is enough (and the code needs nothing it does not grant), they authenticate with tokens of the
chart's own service accounts. This module applies only the chart's identity objects (namespace,
service accounts, roles and bindings) rendered from the chart as
``helm template`` would, and writes a kubeconfig per account.

It also serves the webhook as the chart does: the chart owns the MutatingWebhookConfiguration;
here the configuration rendered from the chart points at the operator on this machine
(``E2ECluster.host_address``) instead of the in-cluster Service, where no operator pod runs. Its
CA is either the test's own, with the serving certificate given to the operator as files
(:func:`chart_webhook`, as with cert-manager), or the operator's, kept in the chart's Secret
(:func:`operator_kept_webhook`, the chart's default).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tests.support.cluster import E2ECluster
from tests.support.waiting import eventually
from tests.unit.chart.chart_rendering import render

from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT
from ebbtide.devcluster.pki import CertPair, issue, make_ca

RELEASE = "ebbtide-e2e"
NAMESPACE = "ebbtide-e2e"
#: A kind with a /scale subresource that the e2e tests define (tests/e2e/test_scaling_shards.py),
#: granted as the chart grants any extra scale target (operator.extraScaleTargets).
TEST_SCALE_GROUP = "e2e.ebbtide.io"
TEST_SCALE_PLURAL = "replicacounters"
IDENTITY_KINDS = {
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
}
#: Long enough for the slowest full run; a token that expires mid-run would fail unrelated tests.
TOKEN_SECONDS = 6 * 3600


@dataclass(frozen=True)
class ChartIdentities:
    """Kubeconfigs of the chart's service accounts, and the values they were rendered with."""

    operator: Path
    extender: Path
    scheduler: Path
    #: The identity of the chart's pre-delete hook (``ebbtide release-all``): the operator's
    #: service account, with the hook's extra rights bound (applied here like every binding).
    uninstall: Path
    manifests: tuple[dict[str, Any], ...]
    #: (namespace, name) of the one lease the chart lets its scheduler's account renew.
    scheduler_lease: tuple[str, str]

    def webhook_configuration(self, *, url: str, ca_bundle: bytes | None) -> dict[str, Any]:
        """The chart's MutatingWebhookConfiguration, calling ``url`` + each hook's path, trusting
        ``ca_bundle`` (None: no caBundle, as the chart renders it for the operator to fill)."""
        [rendered] = [m for m in self.manifests if m["kind"] == "MutatingWebhookConfiguration"]
        configuration = copy.deepcopy(rendered)
        for webhook in configuration["webhooks"]:
            service = webhook["clientConfig"]["service"]
            webhook["clientConfig"] = {"url": url.rstrip("/") + service["path"]}
            if ca_bundle is not None:
                webhook["clientConfig"]["caBundle"] = base64.b64encode(ca_bundle).decode()
        return configuration

    @property
    def webhook_certificate_secret(self) -> dict[str, Any]:
        """The empty Secret the chart creates for the operator to keep the webhook's certificate in."""
        [secret] = [
            m
            for m in self.manifests
            if m["kind"] == "Secret" and m["metadata"]["labels"]["app.kubernetes.io/component"] == "webhook"
        ]
        return copy.deepcopy(secret)


def granted_lease(manifests: Iterable[dict[str, Any]], *, service_account: str) -> tuple[str, str]:
    """(namespace, name) of the lease a Role bound to ``service_account`` lets it update by name.

    Raises ValueError unless there is exactly one such lease.
    """
    manifests = list(manifests)
    bound = {
        (m["metadata"]["namespace"], m["roleRef"]["name"])
        for m in manifests
        if m["kind"] == "RoleBinding"
        and m["roleRef"]["kind"] == "Role"
        and any(
            s["kind"] == "ServiceAccount" and s["name"] == service_account for s in m.get("subjects") or []
        )
    }
    leases = {
        (m["metadata"]["namespace"], name)
        for m in manifests
        if m["kind"] == "Role" and (m["metadata"]["namespace"], m["metadata"]["name"]) in bound
        for rule in m.get("rules") or []
        if "leases" in rule.get("resources", []) and "update" in rule.get("verbs", [])
        for name in rule.get("resourceNames") or []
    }
    if len(leases) != 1:
        raise ValueError(f"{service_account} may update {len(leases)} named leases, expected one: {leases}")
    [lease] = leases
    return lease


def install_chart_identities(cluster: E2ECluster, directory: Path) -> ChartIdentities:
    """Apply the chart's identity objects (idempotent) and write a kubeconfig per service account."""
    values = {
        "scheduler.enabled": "true",
        "operator.extraScaleTargets[0].apiGroup": TEST_SCALE_GROUP,
        "operator.extraScaleTargets[0].resources": f"{{{TEST_SCALE_PLURAL}}}",
    }
    manifests = tuple(render(values, release=RELEASE, namespace=NAMESPACE, include_crds=True))
    identities = [m for m in manifests if m["kind"] in IDENTITY_KINDS]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    directory.mkdir(parents=True, exist_ok=True)
    for index, batch in enumerate(([namespace], identities)):
        path = directory / f"identities-{index}.yaml"
        path.write_text(yaml.safe_dump_all(batch))
        cluster.kubectl("apply", "--server-side", "--force-conflicts", f"-f={path}")
        if index == 0:
            cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
    accounts = {
        m["metadata"]["name"].rsplit("-", 1)[-1]: m["metadata"]["name"]
        for m in identities
        if m["kind"] == "ServiceAccount"
    }

    def kubeconfig(role: str) -> Path:
        return cluster.kubeconfig_as(
            directory / f"{role}.kubeconfig",
            namespace=NAMESPACE,
            service_account=accounts[role],
            seconds=TOKEN_SECONDS,
        )

    return ChartIdentities(
        operator=kubeconfig("operator"),
        extender=kubeconfig("extender"),
        scheduler=kubeconfig("scheduler"),
        uninstall=kubeconfig("operator"),
        manifests=manifests,
        scheduler_lease=granted_lease(identities, service_account=accounts["scheduler"]),
    )


def webhook_serving_pair(directory: Path, *, address: str) -> tuple[CertPair, CertPair]:
    """A CA and a serving certificate for the IP ``address`` signed by it, as cert-manager would issue."""
    ca = make_ca(directory, name="webhook-ca", common_name="ebbtide-e2e-webhook-ca")
    serving = issue(
        ca,
        directory,
        name="webhook",
        common_name=address,
        ip_addresses=(address,),
        server=True,
    )
    return ca, serving


@dataclass(frozen=True)
class ChartWebhook:
    """The chart's webhook configuration in place, calling ``port`` on the host address."""

    address: str
    port: int
    serving: CertPair

    def operator_args(self, port: int | None = None) -> tuple[str, ...]:
        """``ebbtide operator`` options to serve the webhook as the chart's operator does, on
        ``port`` (default: the one the configuration calls; another replica takes its own)."""
        return (
            f"--webhook-host={self.address}",
            f"--webhook-port={self.port if port is None else port}",
            f"--webhook-cert-file={self.serving.cert}",
            f"--webhook-key-file={self.serving.key}",
        )


@contextmanager
def chart_webhook(
    cluster: E2ECluster, identities: ChartIdentities, directory: Path, *, port: int
) -> Iterator[ChartWebhook]:
    """Create the chart's MutatingWebhookConfiguration calling ``port`` on this machine, with a
    CA of its own; delete it afterwards (failurePolicy Fail: left behind, it would refuse later
    tests' queue-labelled pods)."""
    address = cluster.host_address
    ca, serving = webhook_serving_pair(directory, address=address)
    configuration = identities.webhook_configuration(
        url=f"https://{address}:{port}", ca_bundle=ca.cert.read_bytes()
    )
    webhooks = client.AdmissionregistrationV1Api(cluster.api_client)
    name = configuration["metadata"]["name"]
    _delete_webhook_configuration(webhooks, name)
    webhooks.create_mutating_webhook_configuration(configuration)
    try:
        yield ChartWebhook(address=address, port=port, serving=serving)
    finally:
        _delete_webhook_configuration(webhooks, name)


def _delete_webhook_configuration(webhooks: client.AdmissionregistrationV1Api, name: str) -> None:
    try:
        webhooks.delete_mutating_webhook_configuration(name)
    except ApiException as error:
        if error.status != 404:
            raise


@dataclass(frozen=True)
class KeptWebhook:
    """The chart's webhook configuration calling ``port`` on the host address, with the empty
    Secret the operator keeps its certificate in (``webhook.certificate.source: operator``)."""

    address: str
    port: int
    namespace: str
    secret: str
    configuration: str

    def operator_args(self, port: int | None = None) -> tuple[str, ...]:
        """``ebbtide operator`` options as the chart gives them, but for the host address, on
        ``port`` (default: the one the configuration calls)."""
        return (
            f"--webhook-host={self.address}",
            f"--webhook-port={self.port if port is None else port}",
            f"--webhook-cert-secret={self.secret}",
            f"--webhook-configuration={self.configuration}",
            f"--webhook-cert-host={self.address}",
        )


@contextmanager
def operator_kept_webhook(
    cluster: E2ECluster, identities: ChartIdentities, directory: Path, *, port: int
) -> Iterator[KeptWebhook]:
    """``kubectl apply`` the chart's empty Secret and its MutatingWebhookConfiguration without a
    caBundle, as rendered by ``helm template``, the configuration calling ``port`` on this machine;
    delete both afterwards (failurePolicy Fail: a configuration left behind would refuse later
    tests' queue-labelled pods)."""
    address = cluster.host_address
    secret = identities.webhook_certificate_secret
    configuration = identities.webhook_configuration(url=f"https://{address}:{port}", ca_bundle=None)
    path = directory / "kept-webhook.yaml"
    path.write_text(yaml.safe_dump_all([secret, configuration]))
    cluster.kubectl("delete", "--ignore-not-found", "--wait", f"-f={path}")
    cluster.kubectl("apply", f"-f={path}")
    try:
        yield KeptWebhook(
            address=address,
            port=port,
            namespace=secret["metadata"]["namespace"],
            secret=secret["metadata"]["name"],
            configuration=configuration["metadata"]["name"],
        )
    finally:
        cluster.kubectl("delete", "--ignore-not-found", "--wait", f"-f={path}")


#: The kinds the chart renders for its admission policies (see fairqueue-admission-policy.yaml).
ADMISSION_POLICY_KINDS = (
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
)


@contextmanager
def chart_admission_policy(
    cluster: E2ECluster, identities: ChartIdentities, directory: Path
) -> Iterator[None]:
    """Apply the chart's admission policies (only the chart's operator account may admit) and
    wait until the API server enforces them; delete them afterwards, so that scenarios which run
    the operator under another identity are not refused."""
    manifests = [m for m in identities.manifests if m["kind"] in ADMISSION_POLICY_KINDS]
    path = directory / "admission-policy.yaml"
    path.write_text(yaml.safe_dump_all(manifests))
    cluster.kubectl("apply", "--server-side", "--force-conflicts", f"-f={path}")
    try:
        eventually(
            lambda: _forgery_refused(cluster), timeout=60, what="the admission policies to be enforced"
        )
        yield
    finally:
        cluster.kubectl("delete", "--ignore-not-found", "--wait", f"-f={path}")


def _forgery_refused(cluster: E2ECluster) -> bool:
    """Whether the API server refuses a pod carrying a forged admission (a dry run)."""
    probe = {
        "metadata": {"name": "admission-policy-probe", "annotations": {ADMITTED_AT: "forged"}},
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
    }
    try:
        cluster.core.create_namespaced_pod("default", probe, dry_run="All")
    except ApiException as error:
        return error.status == 403 and "ValidatingAdmissionPolicy" in str(error.body)
    return False
