"""Configuration files the local cluster's components read: kubeconfigs, scheduler, Prometheus, KWOK."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml

from ebbtide.devcluster.layout import LOOPBACK, Layout, Ports
from ebbtide.devcluster.pki import CertPair

# Prometheus scrapes every few seconds in dev so that tests and the demo see load changes quickly.
SCRAPE_INTERVAL = "2s"


def _write_yaml(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def write_kubeconfig(path: Path, *, server: str, ca: Path, identity: CertPair, user: str) -> None:
    """A kubeconfig that authenticates with a client certificate (file references, not inlined)."""
    _write_yaml(
        path,
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "ebbtide-dev",
                    "cluster": {"server": server, "certificate-authority": str(ca)},
                }
            ],
            "users": [
                {
                    "name": user,
                    "user": {
                        "client-certificate": str(identity.cert),
                        "client-key": str(identity.key),
                    },
                }
            ],
            "contexts": [{"name": "ebbtide-dev", "context": {"cluster": "ebbtide-dev", "user": user}}],
            "current-context": "ebbtide-dev",
        },
    )
    path.chmod(0o600)


#: The schedulers' client rate limit (requests per second and burst), as high as upstream's scheduler
#: performance tests set it: a scheduler under test must be limited by its own work, not by a
#: token bucket (at 200 per second, 2,000 bindings took exactly the bucket's time).
SCHEDULER_CLIENT_QPS = 5000


def scheduler_configuration(
    *, kubeconfig: Path, scheduler_name: str, lease_name: str | None, lease_namespace: str = "kube-system"
) -> dict[str, Any]:
    """A KubeSchedulerConfiguration with one profile; callers may add profiles or extenders.

    With ``lease_name`` the scheduler elects a leader through that lease in ``lease_namespace``,
    with durations longer than the defaults: a kube-scheduler exits when it cannot renew its lease
    in time, and on a busy 2-core test machine the default 10 s renew deadline is missed. None
    turns election off (a single instance).
    """
    election: dict[str, Any] = {"leaderElect": False}
    if lease_name is not None:
        election = {
            "leaderElect": True,
            "resourceName": lease_name,
            "resourceNamespace": lease_namespace,
            "resourceLock": "leases",
            "leaseDuration": "60s",
            "renewDeadline": "45s",
            "retryPeriod": "5s",
        }
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {
            "kubeconfig": str(kubeconfig),
            "qps": SCHEDULER_CLIENT_QPS,
            "burst": SCHEDULER_CLIENT_QPS,
        },
        "leaderElection": election,
        "profiles": [{"schedulerName": scheduler_name}],
    }


def write_scheduler_configuration(path: Path, configuration: dict[str, Any]) -> None:
    _write_yaml(path, configuration)


def write_prometheus_config(layout: Layout, ports: Ports) -> Path:
    """Prometheus scrapes itself, the apiserver, KWOK, and whatever appears in the targets folder.

    Tests and the demo add scrape targets by writing a file-SD JSON file (see
    :func:`write_scrape_targets`) instead of rewriting this file and reloading Prometheus.
    """
    layout.prometheus_targets.mkdir(parents=True, exist_ok=True)
    monitoring = layout.cert("prometheus-client")
    path = layout.config_file("prometheus.yml")
    _write_yaml(
        path,
        {
            "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
            "scrape_configs": [
                {
                    "job_name": "prometheus",
                    "static_configs": [{"targets": [f"{LOOPBACK}:{ports.prometheus}"]}],
                },
                {
                    "job_name": "kube-apiserver",
                    "scheme": "https",
                    "tls_config": {
                        "ca_file": str(layout.ca.cert),
                        "cert_file": str(monitoring.cert),
                        "key_file": str(monitoring.key),
                    },
                    "static_configs": [{"targets": [f"{LOOPBACK}:{ports.apiserver}"]}],
                },
                {"job_name": "kwok", "static_configs": [{"targets": [f"{LOOPBACK}:{ports.kwok}"]}]},
                {
                    "job_name": "file-sd",
                    # As the chart's ServiceMonitors do: a scraped series' own labels win over
                    # the target's (a ScalingPolicy's namespace stays the policy's).
                    "honor_labels": True,
                    "file_sd_configs": [
                        {
                            "files": [str(layout.prometheus_targets / "*.json")],
                            "refresh_interval": "2s",
                        }
                    ],
                },
            ],
        },
    )
    return path


def write_scrape_targets(
    layout: Layout, *, job: str, targets: list[str], labels: dict[str, str] | None = None
) -> Path:
    """Make Prometheus scrape ``targets`` (``host:port``) under the job label ``job``.

    The file is written atomically (Prometheus may read it at any moment); an empty ``targets``
    list removes the job.
    """
    path = layout.prometheus_targets / f"{job}.json"
    if not targets:
        path.unlink(missing_ok=True)
        return path
    layout.prometheus_targets.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps([{"targets": targets, "labels": {"job": job, **(labels or {})}}]))
    scratch.replace(path)
    return path


def write_kwok_stages(layout: Layout) -> Path:
    """Copy the node and pod lifecycles KWOK plays (see ``kwok/stages.yaml``)."""
    path = layout.config_file("kwok.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((resources.files("ebbtide.devcluster") / "kwok" / "stages.yaml").read_bytes())
    return path


#: Which requests the API server's audit log keeps: every write (patch, update) at the Metadata
#: level (who, with which User-Agent, on what, when, and the answer), except the steady heartbeat
#: writes (Leases, node and pod statuses, Events) that would drown them. Tests count writes in it,
#: e.g. the /scale patches each operator replica sent.
AUDIT_POLICY: Final = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived", "ResponseStarted"],
    "rules": [
        {
            "level": "None",
            "resources": [
                {"group": "coordination.k8s.io", "resources": ["leases"]},
                {"group": "", "resources": ["nodes", "nodes/status", "pods/status", "events"]},
                {"group": "events.k8s.io", "resources": ["events"]},
            ],
        },
        {"level": "Metadata", "verbs": ["patch", "update"]},
        {"level": "None"},
    ],
}


def write_audit_policy(layout: Layout) -> Path:
    """Write :data:`AUDIT_POLICY` for the API server's ``--audit-policy-file``."""
    path = layout.config_file("audit-policy.yaml")
    _write_yaml(path, AUDIT_POLICY)
    return path
