"""coordination.k8s.io/v1 Leases for :mod:`ebbtide.kube.lease_election`, and who and where a
candidate is.

Requests are not retried here: the elector tries again every retry period, and a request it
retried on its own could outlast the renew deadline. Answers are plain JSON.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from typing import Any

from kubernetes import client

from ebbtide.errors import LeaseRequestError
from ebbtide.kube.client import ClusterAccess
from ebbtide.kube.errors import ApiError, ConflictError, ForbiddenError, NotFoundError, translated
from ebbtide.kube.lease_election import Obj

logger = logging.getLogger(__name__)


class KubeLeases:
    """The Lease API through ``api_client``; every request times out after ``timeout`` seconds.

    Answers other than those the :class:`ebbtide.kube.lease_election.Leases` protocol names
    raise :class:`LeaseRequestError` (network errors pass through as they are).
    """

    def __init__(self, api_client: client.ApiClient, *, timeout: float) -> None:
        self._api = client.CoordinationV1Api(api_client)
        self._options: dict[str, Any] = {"_preload_content": False, "_request_timeout": (timeout, timeout)}

    def read(self, *, namespace: str, name: str) -> Obj | None:
        try:
            with translated():
                answer = self._api.read_namespaced_lease(name, namespace, **self._options)
        except NotFoundError:
            return None
        except ApiError as error:
            raise _refused("get", namespace, name, error) from error
        return _json(answer)

    def create(self, *, namespace: str, body: Obj) -> Obj | None:
        try:
            with translated():
                answer = self._api.create_namespaced_lease(namespace, dict(body), **self._options)
        except ConflictError:
            return None
        except ApiError as error:
            raise _refused("create", namespace, body["metadata"]["name"], error) from error
        return _json(answer)

    def replace(self, *, namespace: str, name: str, body: Obj) -> Obj | None:
        try:
            with translated():
                answer = self._api.replace_namespaced_lease(name, namespace, dict(body), **self._options)
        except (ConflictError, NotFoundError):
            return None
        except ApiError as error:
            raise _refused("update", namespace, name, error) from error
        return _json(answer)

    def list(self, *, namespace: str, label_selector: str) -> list[Obj]:
        """The Leases in ``namespace`` that match ``label_selector``."""
        try:
            with translated():
                answer = self._api.list_namespaced_lease(
                    namespace, label_selector=label_selector, **self._options
                )
        except ApiError as error:
            raise _refused("list", namespace, f"[{label_selector}]", error) from error
        items = _json(answer).get("items") or []
        return [item for item in items if isinstance(item, dict)]


def _refused(verb: str, namespace: str, name: str, error: ApiError) -> LeaseRequestError:
    message = f"{verb} lease {namespace}/{name}: {error.status} {error.reason}"
    if isinstance(error, ForbiddenError):
        # The usual cause: the Lease is looked for outside the namespace the operator's Role covers.
        message += (
            f" (the operator's Role in namespace {namespace} must grant {verb} on leases; "
            "$POD_NAMESPACE chooses the namespace)"
        )
    return LeaseRequestError(message)


def _json(answer: Any) -> Obj:
    obj = json.loads(answer.data)
    if not isinstance(obj, dict):
        raise ValueError(f"a Lease must be a JSON object, got {type(obj).__name__}")
    return obj


def default_identity() -> str:
    """``$POD_NAME`` (a restarted container takes its pod's Lease back at once), else
    ``hostname_pid``. Two live processes must never share an identity: both would lead."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}_{os.getpid()}"


def default_namespace(access: ClusterAccess | None = None) -> str:
    """Where the Lease lives: ``$POD_NAMESPACE``, else the namespace a kubectl user of the same
    cluster access would work in (``access``, default the default rules): the chosen context's
    namespace in the kubeconfig (``--context``, else the current one), else the pod's own, else
    ``default``."""
    if namespace := os.environ.get("POD_NAMESPACE"):
        return namespace
    return (access or ClusterAccess()).default_namespace()
