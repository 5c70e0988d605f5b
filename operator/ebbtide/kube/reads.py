"""One-off reads of API objects as the JSON the API server sent, for the inspection commands.

The operator keeps its view current with watches (:mod:`ebbtide.kube.informer`); a command that
answers one question lists once, page by page, and hands over plain dicts. A missing object is
None, never an exception; every other API error is raised as its
:class:`ebbtide.kube.errors.ApiError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from kubernetes import client

from ebbtide.api import API_GROUP, API_VERSION
from ebbtide.kube.errors import NotFoundError, translated

Obj = dict[str, Any]
PAGE_SIZE: Final = 500
REQUEST_TIMEOUT: Final = (10, 120)


def list_all(list_func: Callable[..., Any], **kwargs: Any) -> list[Obj]:
    """Every item ``list_func`` lists with ``kwargs``, page by page."""
    items: list[Obj] = []
    token: str | None = None
    while True:
        with translated():
            response = list_func(
                **kwargs,
                limit=PAGE_SIZE,
                _continue=token,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
        page = json.loads(response.data)
        items.extend(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items


def read_or_none(read: Callable[..., Any], *args: Any) -> Obj | None:
    """The object ``read(*args)`` returns as a dict; None when it does not exist."""
    try:
        with translated():
            response = read(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT)
    except NotFoundError:
        return None
    return dict(json.loads(response.data))


def list_custom(api_client: client.ApiClient, plural: str, *, namespace: str | None = None) -> list[Obj]:
    """ebbtide objects of ``plural``: in ``namespace``, or everywhere when it is None."""
    api = client.CustomObjectsApi(api_client)
    if namespace is None:
        return list_all(api.list_cluster_custom_object, group=API_GROUP, version=API_VERSION, plural=plural)
    return list_all(
        api.list_namespaced_custom_object,
        group=API_GROUP,
        version=API_VERSION,
        namespace=namespace,
        plural=plural,
    )


def read_custom(
    api_client: client.ApiClient, plural: str, name: str, *, namespace: str | None = None
) -> Obj | None:
    """The ebbtide object ``name`` of ``plural`` (cluster-scoped when ``namespace`` is None)."""
    api = client.CustomObjectsApi(api_client)
    if namespace is None:
        return read_or_none(api.get_cluster_custom_object, API_GROUP, API_VERSION, plural, name)
    return read_or_none(api.get_namespaced_custom_object, API_GROUP, API_VERSION, namespace, plural, name)


def read_pod(api_client: client.ApiClient, name: str, *, namespace: str) -> Obj | None:
    return read_or_none(client.CoreV1Api(api_client).read_namespaced_pod, name, namespace)


def read_job(api_client: client.ApiClient, name: str, *, namespace: str) -> Obj | None:
    return read_or_none(client.BatchV1Api(api_client).read_namespaced_job, name, namespace)


def events_about(api_client: client.ApiClient, obj: Obj) -> list[Obj]:
    """The core/v1 Events about ``obj``, oldest first: those naming its kind and name, and its UID
    when they name one (an earlier object of the same name had another UID)."""
    metadata = obj.get("metadata") or {}
    selector = f"involvedObject.kind={obj.get('kind')},involvedObject.name={metadata.get('name')}"
    core = client.CoreV1Api(api_client)
    namespace = metadata.get("namespace")
    if namespace:
        events = list_all(core.list_namespaced_event, namespace=namespace, field_selector=selector)
    else:
        events = list_all(core.list_event_for_all_namespaces, field_selector=selector)
    uid = metadata.get("uid")
    mine = [e for e in events if (e.get("involvedObject") or {}).get("uid") in (None, "", uid)]
    return sorted(mine, key=_event_time)


def _event_time(event: Obj) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )
