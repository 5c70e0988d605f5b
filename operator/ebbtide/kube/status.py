"""Writing a custom resource's status through its status subresource.

One helper for namespaced objects (a ScalingPolicy) and cluster-scoped ones (a FairQueue). The
status is sent as a JSON merge patch of explicit fields: a field set to None is sent as null and
so removed, any field not named is left as it is, and a list (``conditions``) is replaced as a
whole. Nothing goes through kopf's handler results: the CRDs' status schemas are structural, and
fields they do not declare would be pruned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes import client

from ebbtide.kube.answers import discard
from ebbtide.kube.errors import NotFoundError
from ebbtide.kube.retrying import REQUEST_TIMEOUT, with_retries

MERGE_PATCH = "application/merge-patch+json"


def patch_status(
    api_client: client.ApiClient,
    *,
    group: str,
    version: str,
    plural: str,
    name: str,
    namespace: str | None,
    status: Mapping[str, Any],
    field_manager: str,
    timeout: tuple[float, float] = REQUEST_TIMEOUT,
    attempts: int | None = None,
) -> bool:
    """Merge ``status`` into the object's status (blocking); False if the object is gone (404).

    ``namespace`` None names a cluster-scoped object. ``timeout`` is the ``(connect, read)``
    budget of one try and ``attempts`` the number of tries (see :mod:`ebbtide.kube.retrying`);
    any other API error is raised as its :mod:`ebbtide.kube.errors` class.
    """
    api = client.CustomObjectsApi(api_client)
    body = {"status": dict(status)}
    options: dict[str, Any] = {
        "field_manager": field_manager,
        "_content_type": MERGE_PATCH,
        "_preload_content": False,
        "_request_timeout": timeout,
    }

    def patch() -> Any:
        if namespace is None:
            return api.patch_cluster_custom_object_status(group, version, plural, name, body, **options)
        return api.patch_namespaced_custom_object_status(
            group, version, namespace, plural, name, body, **options
        )

    where = name if namespace is None else f"{namespace}/{name}"
    try:
        answer = with_retries(patch, attempts=attempts, what=f"writing the status of {plural} {where}")
    except NotFoundError:
        return False
    discard(answer)
    return True
