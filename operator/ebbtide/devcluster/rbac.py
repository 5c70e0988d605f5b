"""RBAC for the dev cluster's own ebbtide components (the second scheduler and the extender).

Each gets an identity of its own (a client certificate) with only what it needs, as the Helm chart
gives its service accounts: the scheduler the stock scheduler roles plus its own lease, the
extender read access to nodes and pods.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from kubernetes import client, config

from ebbtide.kube.errors import ConflictError, translated

EXTENDER_USER = "ebbtide-extender"
SCHEDULER_USER = "ebbtide-scheduler"
SCHEDULER_LEASE = "ebbtide-scheduler"


def _user(name: str) -> list[dict[str, str]]:
    return [{"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}]


def _role_ref(kind: str, name: str) -> dict[str, str]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}


def _objects() -> list[tuple[str, dict[str, Any]]]:
    """(kind, manifest) of every RBAC object, in creation order."""
    return [
        (
            "ClusterRole",
            {
                "metadata": {"name": "ebbtide-dev:extender"},
                "rules": [
                    {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["get", "list", "watch"]}
                ],
            },
        ),
        (
            "ClusterRoleBinding",
            {
                "metadata": {"name": "ebbtide-dev:extender"},
                "roleRef": _role_ref("ClusterRole", "ebbtide-dev:extender"),
                "subjects": _user(EXTENDER_USER),
            },
        ),
        (
            "ClusterRoleBinding",
            {
                "metadata": {"name": "ebbtide-dev:scheduler"},
                "roleRef": _role_ref("ClusterRole", "system:kube-scheduler"),
                "subjects": _user(SCHEDULER_USER),
            },
        ),
        (
            "ClusterRoleBinding",
            {
                "metadata": {"name": "ebbtide-dev:volume-scheduler"},
                "roleRef": _role_ref("ClusterRole", "system:volume-scheduler"),
                "subjects": _user(SCHEDULER_USER),
            },
        ),
        (
            "Role",
            {
                # system:kube-scheduler may update only the lease named kube-scheduler.
                "metadata": {"name": "ebbtide-dev:scheduler-lease", "namespace": "kube-system"},
                "rules": [
                    {
                        "apiGroups": ["coordination.k8s.io"],
                        "resources": ["leases"],
                        "resourceNames": [SCHEDULER_LEASE],
                        "verbs": ["get", "update"],
                    }
                ],
            },
        ),
        (
            "RoleBinding",
            {
                "metadata": {"name": "ebbtide-dev:scheduler-lease", "namespace": "kube-system"},
                "roleRef": _role_ref("Role", "ebbtide-dev:scheduler-lease"),
                "subjects": _user(SCHEDULER_USER),
            },
        ),
        (
            "RoleBinding",
            {
                "metadata": {"name": "ebbtide-dev:scheduler-authentication", "namespace": "kube-system"},
                "roleRef": _role_ref("Role", "extension-apiserver-authentication-reader"),
                "subjects": _user(SCHEDULER_USER),
            },
        ),
    ]


def ensure_component_rbac(kubeconfig: Path) -> None:
    """Create the RBAC objects that do not exist yet (existing ones are left as they are)."""
    rbac = client.RbacAuthorizationV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    create = {
        "ClusterRole": rbac.create_cluster_role,
        "ClusterRoleBinding": rbac.create_cluster_role_binding,
        "Role": lambda body: rbac.create_namespaced_role(body["metadata"]["namespace"], body),
        "RoleBinding": lambda body: rbac.create_namespaced_role_binding(body["metadata"]["namespace"], body),
    }
    for kind, body in _objects():
        with contextlib.suppress(ConflictError), translated():
            create[kind](body)
