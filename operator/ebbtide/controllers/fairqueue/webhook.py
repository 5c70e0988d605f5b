"""The mutating admission webhook that holds queued Pods and Jobs back at creation.

kopf serves it (:class:`SelfSignedWebhookServer`, HTTPS with a certificate made at start-up)
and manages the MutatingWebhookConfiguration ``fairqueue.ebbtide.io``: one webhook for pods,
one for batch/v1 Jobs, each called on CREATE only and only for objects labelled
``ebbtide.io/queue`` (kopf turns the label filter into the webhook's ``objectSelector``, so the
API server never calls it for any other object).

failurePolicy is **Fail**, and the webhooks are persistent (kept when the operator stops).
While the operator is down a labelled Pod or Job cannot be created at all, and the client is
told why: the alternative, Ignore, would let it be created ungated and run past the queue
unseen. Nothing unlabelled is affected, so the cluster keeps working; queued work is refused
rather than lost, and resubmitted once the operator is back. To switch queueing off, delete
the configuration.

Mutations (:mod:`ebbtide.api.gates`): a pod gets the ``ebbtide.io/fair-queue`` scheduling gate
unless a Job controls it (the Job is the workload, admitted as a whole); a Job gets
``spec.suspend: true``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Collection
from typing import Any

import kopf
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ebbtide.api.fairqueue_vocabulary import QUEUE_LABEL
from ebbtide.api.gates import gates_with_ours
from ebbtide.certificates import certificate_builder, key_pem, new_key

_CERTIFICATE_VALIDITY = dt.timedelta(days=365)


class SelfSignedWebhookServer(kopf.WebhookServer):
    """kopf's HTTPS webhook server, with its self-signed certificate made by ``cryptography``
    (an ebbtide dependency already) instead of kopf's optional ``certbuilder`` extra.

    kopf calls :meth:`build_certificate` at every start with the addresses the API server will
    use, and puts the certificate into the webhook configuration's ``caBundle``.
    """

    @staticmethod
    def build_certificate(hostnames: Collection[str], password: str | None = None) -> tuple[bytes, bytes]:
        """A self-signed ECDSA P-256 certificate for ``hostnames`` and its key, both PEM."""
        key = new_key()
        names: list[x509.GeneralName] = []
        for hostname in dict.fromkeys(hostnames):
            try:
                address = ipaddress.ip_address(hostname)
            except ValueError:
                names.append(x509.DNSName(hostname))
                continue
            if not address.is_unspecified:  # 0.0.0.0 can be listened on, never reached
                names.append(x509.IPAddress(address))
        common_name = next(iter(hostnames), "localhost")
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        certificate = (
            certificate_builder(subject=subject, issuer=subject, key=key, validity=_CERTIFICATE_VALIDITY)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            # Its own CA: the caBundle the API server trusts is this very certificate.
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM), key_pem(key, password)


def register_webhooks(registry: kopf.OperatorRegistry) -> None:
    """Register the two mutating handlers (see the module docstring)."""
    queued = {QUEUE_LABEL: kopf.PRESENT}

    @kopf.on.mutate(
        "pods", id="gate-queued-pods", operation="CREATE", labels=queued, persistent=True, registry=registry
    )
    def gate_queued_pod(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        gates = gates_with_ours(body)
        if gates is not None:
            patch.spec["schedulingGates"] = gates

    @kopf.on.mutate(
        "batch",
        "v1",
        "jobs",
        id="suspend-queued-jobs",
        operation="CREATE",
        labels=queued,
        persistent=True,
        registry=registry,
    )
    def suspend_queued_job(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        if not (body.get("spec") or {}).get("suspend"):
            patch.spec["suspend"] = True
