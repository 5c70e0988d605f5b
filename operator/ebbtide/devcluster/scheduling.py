"""The second scheduler with the ebbtide extender, as the Helm chart runs them.

A kube-scheduler's extenders apply to all of its profiles, so the extender is never added to the
cluster's default scheduler: a second kube-scheduler process with its own ``schedulerName``, lease
and configuration calls it, and only pods that ask for ``ebbtide-scheduler`` are affected.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ebbtide.devcluster.components import Component
from ebbtide.devcluster.configs import scheduler_configuration
from ebbtide.devcluster.layout import LOOPBACK, Layout, Ports
from ebbtide.devcluster.probes import HttpProbe
from ebbtide.devcluster.rbac import SCHEDULER_LEASE
from ebbtide.extender.config import ExtenderConfig, load_config

SCHEDULER_NAME = "ebbtide-scheduler"
EXTENDER_CONFIG = "extender.yaml"
#: A kubeconfig here replaces the extender's own client certificate, e.g. with a token of the Helm
#: chart's service account, so that the extender runs with exactly the chart's rights.
EXTENDER_IDENTITY = "ebbtide-extender.kubeconfig"


def extender_kubeconfig(layout: Layout) -> Path:
    """The kubeconfig the extender runs with: :data:`EXTENDER_IDENTITY` if present, else its own."""
    override = layout.config_file(EXTENDER_IDENTITY)
    return override if override.is_file() else layout.component_kubeconfig("ebbtide-extender")


def extender_configuration(layout: Layout) -> ExtenderConfig:
    """The extender's configuration: :data:`EXTENDER_CONFIG` if present, else the defaults."""
    path = layout.config_file(EXTENDER_CONFIG)
    return load_config(path) if path.is_file() else ExtenderConfig()


def ebbtide_scheduler_configuration(
    layout: Layout,
    ports: Ports,
    *,
    lease_name: str = SCHEDULER_LEASE,
    lease_namespace: str = "kube-system",
) -> dict[str, Any]:
    """The second scheduler's configuration: its own name and lease, and the extender.

    The filter verb is named only when the extender's configuration has a filter (a utilisation
    ceiling): each verb is one HTTP round trip in the serial scheduling cycle. The lease is the one
    the scheduler's identity may renew: this cluster's RBAC grants
    :data:`SCHEDULER_LEASE` in kube-system; the Helm chart grants its scheduler name in the
    release namespace.
    """
    configuration = scheduler_configuration(
        kubeconfig=layout.component_kubeconfig("ebbtide-scheduler"),
        scheduler_name=SCHEDULER_NAME,
        lease_name=lease_name,
        lease_namespace=lease_namespace,
    )
    verbs = {"prioritizeVerb": "prioritize"}
    if extender_configuration(layout).filter.enabled:
        verbs["filterVerb"] = "filter"
    configuration["extenders"] = [
        {
            "urlPrefix": f"http://{LOOPBACK}:{ports.ebbtide_extender}",
            **verbs,
            "weight": 1,
            "enableHTTPS": False,
            # Names only: the extender keeps its own watch-fed cache of nodes and bound pods.
            "nodeCacheCapable": True,
            # The scheduling cycle is serial; a slow or absent extender must not stop scheduling.
            "ignorable": True,
            "httpTimeout": "2s",
        }
    ]
    return configuration


def ebbtide_scheduling(layout: Layout, ports: Ports, bins: Path) -> list[Component]:
    """The extender (started first) and the scheduler that calls it."""
    kubeconfig = str(layout.component_kubeconfig("ebbtide-scheduler"))
    extender_argv = [
        sys.executable,
        "-m",
        "ebbtide",
        "extender",
        f"--kubeconfig={extender_kubeconfig(layout)}",
        f"--host={LOOPBACK}",
        f"--port={ports.ebbtide_extender}",
        f"--prometheus-url=http://{LOOPBACK}:{ports.prometheus}",
    ]
    extender_config = layout.config_file(EXTENDER_CONFIG)
    if extender_config.is_file():
        extender_argv.append(f"--config={extender_config}")
    serving = layout.cert("ebbtide-scheduler-serving")
    return [
        Component(
            name="ebbtide-extender",
            argv=extender_argv,
            ready=HttpProbe(f"http://{LOOPBACK}:{ports.ebbtide_extender}/healthz"),
            after=("kube-apiserver",),
        ),
        Component(
            name="ebbtide-scheduler",
            argv=[
                str(bins / "kube-scheduler"),
                f"--config={layout.config_file('ebbtide-scheduler.yaml')}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                f"--bind-address={LOOPBACK}",
                f"--secure-port={ports.ebbtide_scheduler}",
                f"--tls-cert-file={serving.cert}",
                f"--tls-private-key-file={serving.key}",
            ],
            ready=HttpProbe(
                f"https://{LOOPBACK}:{ports.ebbtide_scheduler}/healthz", ca=layout.ca, expect="ok"
            ),
            after=("kube-apiserver",),
        ),
    ]
