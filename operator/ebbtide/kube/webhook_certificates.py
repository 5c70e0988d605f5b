"""The two objects an operator-managed webhook certificate lives in: its Secret and the
MutatingWebhookConfiguration whose ``caBundle`` trusts it.

The chart creates both (the Secret empty) and grants exactly get and update on that one Secret,
get and patch on that one configuration, by name. Both writes are conditional on the
resourceVersion they were decided on, so replicas that decide at once cannot overwrite each
other's work: the loser gets :class:`~ebbtide.kube.errors.ConflictError`, reads again and
decides again. Requests go through :func:`~ebbtide.kube.retrying.with_retries`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from ebbtide.api.fairqueue_vocabulary import FIELD_MANAGER
from ebbtide.kube.retrying import REQUEST_TIMEOUT, with_retries

_OPTIONS: dict[str, Any] = {"_preload_content": False, "_request_timeout": REQUEST_TIMEOUT}


@dataclass(frozen=True)
class SecretVersion:
    """A Secret's decoded ``data``, the resourceVersion it was read at, and its metadata and
    type (kept as they are when the data is replaced: the chart's labels and annotations)."""

    data: dict[str, bytes]
    resource_version: str
    metadata: dict[str, Any] = field(default_factory=dict)
    type: str = "Opaque"

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> SecretVersion:
        data = {key: base64.b64decode(value) for key, value in (obj.get("data") or {}).items()}
        metadata = dict(obj["metadata"])
        return cls(
            data=data,
            resource_version=metadata["resourceVersion"],
            metadata=metadata,
            type=obj.get("type") or "Opaque",
        )


@dataclass(frozen=True)
class BundleVersion:
    """The ``caBundle`` of each webhook of a configuration (decoded PEM, by webhook name; empty
    bytes where none is set) and the configuration's resourceVersion."""

    bundles: dict[str, bytes]
    resource_version: str

    @property
    def agreed(self) -> bytes | None:
        """The one bundle every webhook has; None when they differ or there are none."""
        values = set(self.bundles.values())
        return values.pop() if len(values) == 1 else None


class WebhookCertificateObjects:
    """Secret ``namespace/secret`` and MutatingWebhookConfiguration ``configuration``."""

    def __init__(
        self, api_client: client.ApiClient, *, namespace: str, secret: str, configuration: str
    ) -> None:
        self._core = client.CoreV1Api(api_client)
        self._admission = client.AdmissionregistrationV1Api(api_client)
        self.namespace = namespace
        self.secret = secret
        self.configuration = configuration

    def read_secret(self) -> SecretVersion:
        """The Secret; raises NotFoundError if it does not exist (the chart creates it)."""
        answer = with_retries(
            lambda: self._core.read_namespaced_secret(self.secret, self.namespace, **_OPTIONS),
            what=f"reading Secret {self.namespace}/{self.secret}",
        )
        return SecretVersion.from_object(json.loads(answer.data))

    def replace_secret(self, data: Mapping[str, bytes], *, seen: SecretVersion) -> SecretVersion:
        """Replace the Secret's data, keeping its metadata, if it is still as ``seen`` (an update
        at ``seen``'s resourceVersion: ConflictError if it changed since)."""
        metadata = {key: value for key, value in seen.metadata.items() if key != "managedFields"}
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {**metadata, "resourceVersion": seen.resource_version},
            "type": seen.type,
            "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
        }
        answer = with_retries(
            lambda: self._core.replace_namespaced_secret(
                self.secret, self.namespace, body, field_manager=FIELD_MANAGER, **_OPTIONS
            ),
            what=f"writing Secret {self.namespace}/{self.secret}",
        )
        return SecretVersion.from_object(json.loads(answer.data))

    def read_bundles(self) -> BundleVersion:
        """The configuration's ``caBundle`` per webhook; raises NotFoundError if it does not exist."""
        answer = with_retries(
            lambda: self._admission.read_mutating_webhook_configuration(self.configuration, **_OPTIONS),
            what=f"reading MutatingWebhookConfiguration {self.configuration}",
        )
        obj = json.loads(answer.data)
        bundles = {
            webhook["name"]: base64.b64decode((webhook.get("clientConfig") or {}).get("caBundle") or "")
            for webhook in obj.get("webhooks") or []
        }
        return BundleVersion(bundles=bundles, resource_version=obj["metadata"]["resourceVersion"])

    def set_bundle(self, bundle: bytes, *, seen: BundleVersion) -> None:
        """Set every webhook's ``caBundle`` to ``bundle``, if the configuration is still as ``seen``
        (a JSON patch that sets the resourceVersion it was read at: ConflictError if it changed)."""
        encoded = base64.b64encode(bundle).decode()
        patch: list[dict[str, Any]] = [
            {"op": "replace", "path": "/metadata/resourceVersion", "value": seen.resource_version}
        ]
        patch += [
            {"op": "add", "path": f"/webhooks/{index}/clientConfig/caBundle", "value": encoded}
            for index in range(len(seen.bundles))
        ]
        with_retries(
            lambda: self._admission.patch_mutating_webhook_configuration(
                self.configuration, patch, field_manager=FIELD_MANAGER, **_OPTIONS
            ),
            what=f"setting the caBundle of MutatingWebhookConfiguration {self.configuration}",
        )
