"""Writing a custom resource's status through its status subresource.

The status is sent as a JSON merge patch of explicit fields: a field set to None is sent as null
and so removed, any field not named is left as it is. Nothing goes through kopf's handler
results: the CRDs' status schemas are structural, and fields they do not declare would be pruned.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ebbtide.kube.call_budget import CALL_ATTEMPTS, CALL_TIMEOUT
from ebbtide.kube.retrying import with_retries
from ebbtide.kube.scale import FIELD_MANAGER


def patch_status(
    api_client: client.ApiClient,
    *,
    group: str,
    version: str,
    plural: str,
    namespace: str,
    name: str,
    status: dict[str, Any],
) -> bool:
    """Merge ``status`` into the object's status (blocking); False if the object is gone (404)."""
    api = client.CustomObjectsApi(api_client)
    try:
        with_retries(
            lambda: api.patch_namespaced_custom_object_status(
                group,
                version,
                namespace,
                plural,
                name,
                {"status": status},
                field_manager=FIELD_MANAGER,
                _request_timeout=CALL_TIMEOUT,
            ),
            attempts=CALL_ATTEMPTS,
        )
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True
