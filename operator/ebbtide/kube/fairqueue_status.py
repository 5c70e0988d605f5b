"""Writing a FairQueue's status through its status subresource.

FairQueues are cluster-scoped, which :mod:`ebbtide.kube.status` (namespaced objects) does not
cover. The status is a JSON merge patch of explicit fields: a field set to None is removed, a
field not named is kept, and ``conditions`` is replaced as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ebbtide.api import API_GROUP, API_VERSION, FairQueue
from ebbtide.kube.queue_keys import FIELD_MANAGER
from ebbtide.kube.retrying import REQUEST_TIMEOUT, with_retries
from ebbtide.kube.workload_writes import HTTP_NOT_FOUND, MERGE_PATCH


def patch_fairqueue_status(api_client: client.ApiClient, *, name: str, status: Mapping[str, Any]) -> bool:
    """Merge ``status`` into FairQueue ``name``'s status (blocking); False if it is gone (404)."""
    api = client.CustomObjectsApi(api_client)
    try:
        with_retries(
            lambda: api.patch_cluster_custom_object_status(
                API_GROUP,
                API_VERSION,
                FairQueue.PLURAL,
                name,
                {"status": dict(status)},
                field_manager=FIELD_MANAGER,
                _content_type=MERGE_PATCH,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            ),
            what=f"writing the status of FairQueue {name}",
        )
    except ApiException as error:
        if error.status == HTTP_NOT_FOUND:
            return False
        raise
    return True
