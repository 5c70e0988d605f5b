"""Creating the fake nodes and waiting for the cluster to be usable, through the API."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from kubernetes import client, config

from ebbtide.devcluster.nodes import DEV_NODE_LABEL, NodeSpec
from ebbtide.kube.errors import ConflictError, NotFoundError, translated


def _core(kubeconfig: Path) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))


def reconcile_nodes(kubeconfig: Path, nodes: list[NodeSpec]) -> None:
    """Create the nodes that are missing and delete dev nodes that are no longer wanted.

    Existing nodes are left as they are (their resources are not updated in place: a real node
    does not change size either); delete the cluster to resize them.
    """
    core = _core(kubeconfig)
    existing = {node.metadata.name for node in core.list_node(label_selector=f"{DEV_NODE_LABEL}=true").items}
    wanted = {node.name for node in nodes}
    for node in nodes:
        if node.name not in existing:
            with contextlib.suppress(ConflictError), translated():
                core.create_node(node.manifest())
    for name in sorted(existing - wanted):
        core.delete_node(name)


def wait_nodes_ready(kubeconfig: Path, *, timeout_seconds: float) -> None:
    """Wait until every dev node reports Ready=True (KWOK initialises them)."""
    core = _core(kubeconfig)
    deadline = time.monotonic() + timeout_seconds
    not_ready: list[str] = []
    while time.monotonic() < deadline:
        nodes = core.list_node(label_selector=f"{DEV_NODE_LABEL}=true").items
        not_ready = [n.metadata.name for n in nodes if not _is_ready(n)]
        if not not_ready:
            return
        time.sleep(0.2)
    raise TimeoutError(f"nodes not Ready after {timeout_seconds:.0f}s: {', '.join(not_ready)}")


def _is_ready(node: client.V1Node) -> bool:
    conditions = (node.status and node.status.conditions) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def wait_service_account(kubeconfig: Path, *, namespace: str, timeout_seconds: float) -> None:
    """Wait for the controller-manager to create ``namespace``'s default service account.

    Pods cannot be created in a namespace until it exists (the ServiceAccount admission plugin).
    """
    core = _core(kubeconfig)
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            with translated():
                core.read_namespaced_service_account("default", namespace)
            return
        except NotFoundError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"service account {namespace}/default not created after {timeout_seconds:.0f}s")
