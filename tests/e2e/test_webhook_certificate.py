"""The operator keeps the webhook's certificate (the chart's default, ``webhook.certificate.source:
operator``): what ``helm template`` renders without any cluster is applied with ``kubectl apply``,
the operator fills the empty Secret and the configuration's caBundle, the API server calls the
webhook and queued pods are gated; every replica serves the Secret's certificate; and through
renewals of the serving certificate and a rotation of the CA the webhook never stops answering.

The operators run on this machine with the chart's operator service account (its RBAC: get and
update on the one Secret, get and patch on the one configuration), two replicas as the chart
runs them; the configuration calls the first one, and the test reads what each one serves.
"""

from __future__ import annotations

import base64
import socket
import ssl
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from kubernetes.client.exceptions import ApiException
from tests.support.chart_identities import RELEASE, ChartIdentities, KeptWebhook, operator_kept_webhook
from tests.support.cluster import E2ECluster
from tests.support.operator import OperatorProcess, free_port, running_operator
from tests.support.waiting import eventually
from tests.unit.chart.chart_rendering import CHART, helm

from ebbtide.api.fairqueue_vocabulary import QUEUE_LABEL, SCHEDULING_GATE
from ebbtide.certificates import load_certificates
from ebbtide.controllers.fairqueue.webhook_certificate import (
    CA_CERT,
    PREVIOUS_CA_CERT,
    SERVING_CERT,
    ServingCertificates,
)


@dataclass
class Replicas:
    webhook: KeptWebhook
    ports: tuple[int, int]
    processes: tuple[OperatorProcess, OperatorProcess]


@pytest.fixture
def replicas(
    request: pytest.FixtureRequest, cluster: E2ECluster, chart_identities: ChartIdentities, tmp_path: Path
) -> Iterator[Replicas]:
    """Two operator replicas keeping the certificate in the chart's (fresh, empty) Secret;
    ``request.param`` holds extra operator options (validities, refresh)."""
    extra: tuple[str, ...] = getattr(request, "param", ())
    ports = (free_port(), free_port())
    with ExitStack() as stack:
        webhook = stack.enter_context(
            operator_kept_webhook(cluster, chart_identities, tmp_path, port=ports[0])
        )
        processes = tuple(
            stack.enter_context(
                running_operator(
                    cluster,
                    log=tmp_path / f"operator-{index}.log",
                    controllers="queueing",
                    kubeconfig=chart_identities.operator,
                    extra_args=(*webhook.operator_args(port), *extra),
                )
            )
            for index, port in enumerate(ports)
        )
        yield Replicas(webhook=webhook, ports=ports, processes=processes)  # type: ignore[arg-type]


def secret_data(cluster: E2ECluster, webhook: KeptWebhook) -> dict[str, bytes]:
    secret = cluster.core.read_namespaced_secret(webhook.secret, webhook.namespace)
    return {key: base64.b64decode(value) for key, value in (secret.data or {}).items()}


def ca_bundles(cluster: E2ECluster, webhook: KeptWebhook) -> set[bytes]:
    configuration = cluster.kubectl(
        "get", "mutatingwebhookconfiguration", webhook.configuration, "-o", "yaml"
    ).stdout
    return {
        base64.b64decode(w["clientConfig"].get("caBundle") or "")
        for w in yaml.safe_load(configuration)["webhooks"]
    }


def kept(cluster: E2ECluster, webhook: KeptWebhook) -> ServingCertificates | None:
    """What the Secret holds, once the configuration trusts it."""
    certificates = ServingCertificates.from_data(secret_data(cluster, webhook))
    if certificates is None or ca_bundles(cluster, webhook) != {certificates.bundle}:
        return None
    return certificates


def served(address: str, port: int, *, bundle: bytes) -> x509.Certificate:
    """The certificate a replica serves, verified against ``bundle`` for ``address``."""
    context = ssl.create_default_context(cadata=bundle.decode())
    with (
        socket.create_connection((address, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=address) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def serves(address: str, port: int, certificates: ServingCertificates) -> bool:
    """Whether the replica on ``port`` serves ``certificates``' serving certificate."""
    try:
        return served(address, port, bundle=certificates.bundle) == certificates.serving
    except (ssl.SSLError, OSError):
        return False


def queued_pod(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {QUEUE_LABEL: "batch"}},
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
    }


def gated(pod: Any) -> bool:
    return any(gate.name == SCHEDULING_GATE for gate in pod.spec.scheduling_gates or [])


def test_helm_template_renders_without_a_cluster_and_the_operator_completes_the_webhook(
    cluster: E2ECluster, chart_identities: ChartIdentities, replicas: Replicas, namespace: str, tmp_path: Path
) -> None:
    # No cluster to read: `lookup` would find nothing here, and the default source does not need it.
    rendered = helm("template", RELEASE, str(CHART), f"--kubeconfig={tmp_path / 'no-such-kubeconfig'}").stdout
    manifests = [doc for doc in yaml.safe_load_all(rendered) if doc]
    [configuration] = [m for m in manifests if m["kind"] == "MutatingWebhookConfiguration"]
    assert all("caBundle" not in w["clientConfig"] for w in configuration["webhooks"])
    secret = chart_identities.webhook_certificate_secret
    assert "data" not in secret and secret["type"] == "Opaque"

    webhook = replicas.webhook
    certificates = eventually(
        lambda: kept(cluster, webhook), timeout=120, what="the operator to fill the Secret and caBundle"
    )
    # The chart's metadata stays (Helm still owns the Secret); only the data is the operator's.
    labels = cluster.core.read_namespaced_secret(webhook.secret, webhook.namespace).metadata.labels
    assert labels["app.kubernetes.io/managed-by"] == "Helm"

    # The API server calls the webhook, which gates a queued pod.
    pod = cluster.core.create_namespaced_pod(namespace, queued_pod(f"queued-{uuid.uuid4().hex[:6]}"))
    assert gated(pod)
    job = cluster.batch.create_namespaced_job(
        namespace,
        {
            "metadata": {"name": "queued", "labels": {QUEUE_LABEL: "batch"}},
            "spec": {"template": {"spec": {**queued_pod("x")["spec"], "restartPolicy": "Never"}}},
        },
    )
    assert job.spec.suspend is True

    # Every replica serves the Secret's certificate, trusted by the caBundle.
    for port in replicas.ports:
        assert serves(webhook.address, port, certificates)


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "replicas",
    [("--webhook-cert-validity=30s", "--webhook-ca-validity=90s", "--webhook-cert-refresh=2")],
    indirect=True,
    ids=["short-lived certificates"],
)
def test_the_webhook_keeps_answering_through_certificate_renewals_and_a_ca_rotation(
    cluster: E2ECluster, replicas: Replicas, namespace: str
) -> None:
    webhook = replicas.webhook
    first = eventually(lambda: kept(cluster, webhook), timeout=120, what="the first certificate")
    serving_seen = {first.serving}
    refused: list[str] = []
    probes = 0

    def rotated_and_settled() -> ServingCertificates | None:
        nonlocal probes
        probes += 1
        try:
            pod = cluster.core.create_namespaced_pod(namespace, queued_pod(f"probe-{probes}"), dry_run="All")
        except ApiException as error:
            refused.append(f"probe {probes}: {error.status} {error.body}")
        else:
            if not gated(pod):
                refused.append(f"probe {probes}: not gated")
        data = secret_data(cluster, webhook)
        [serving] = load_certificates(data[SERVING_CERT])
        serving_seen.add(serving)
        [ca] = load_certificates(data[CA_CERT])
        done = ca != first.ca and PREVIOUS_CA_CERT not in data and len(serving_seen) >= 4
        return kept(cluster, webhook) if done else None

    final = eventually(
        rotated_and_settled,
        timeout=420,
        what="the CA to be rotated, its predecessor dropped, and the serving certificate renewed",
    )
    assert not refused, refused[:5]
    # Each replica serves the final certificate, picked up without a restart.
    for port, process in zip(replicas.ports, replicas.processes, strict=True):
        eventually(
            lambda port=port: serves(webhook.address, port, final),  # type: ignore[misc]
            timeout=30,
            what=f"the replica on port {port} to serve the final certificate",
        )
        assert process.process is not None and process.process.poll() is None
