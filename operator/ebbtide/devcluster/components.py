"""The processes that make up one local cluster: how each starts and how to tell it is ready."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ebbtide.devcluster.layout import LOOPBACK, Layout, Ports
from ebbtide.devcluster.pki import CertPair
from ebbtide.devcluster.probes import HttpProbe

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
# KWOK renews each node's lease every quarter of its duration. At the kubelet's 40 s, a thousand
# fake nodes write 100 leases a second, most of a core of API server and etcd time on a 2-core
# test machine, before any test runs. The node lifecycle controller must then allow a node
# longer than a renewal before it calls it unreachable.
NODE_LEASE_SECONDS = 160
NODE_MONITOR_GRACE_SECONDS = 200


@dataclass(frozen=True)
class Component:
    """One process of the cluster. ``after`` names components that must be ready first."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    after: tuple[str, ...] = field(default=())


def _flags(options: dict[str, str | int | bool]) -> list[str]:
    """``{"a": 1, "b": True, "c": False}`` -> ``["--a=1", "--b", "--c=false"]``.

    A true boolean is a bare flag because Prometheus's flag parser rejects ``--flag=true``.
    """
    return [
        f"--{key}" if value is True else f"--{key}={str(value).lower() if value is False else value}"
        for key, value in options.items()
    ]


def _serving(layout: Layout, name: str) -> dict[str, str | int | bool]:
    cert: CertPair = layout.cert(name)
    return {"tls-cert-file": str(cert.cert), "tls-private-key-file": str(cert.key)}


def control_plane(layout: Layout, ports: Ports, bins: Path, prometheus: str) -> list[Component]:
    """Every component of the cluster, in start order; ``prometheus`` is the Prometheus binary."""
    etcd_url = f"https://{LOOPBACK}:{ports.etcd_client}"
    peer_url = f"http://{LOOPBACK}:{ports.etcd_peer}"
    apiserver_url = f"https://{LOOPBACK}:{ports.apiserver}"
    pki = layout.cert
    etcd = Component(
        name="etcd",
        argv=[
            str(bins / "etcd"),
            *_flags(
                {
                    "name": "default",
                    "data-dir": str(layout.etcd_data),
                    "listen-client-urls": etcd_url,
                    "advertise-client-urls": etcd_url,
                    "listen-peer-urls": peer_url,
                    "initial-advertise-peer-urls": peer_url,
                    "initial-cluster": f"default={peer_url}",
                    "cert-file": str(pki("etcd-server").cert),
                    "key-file": str(pki("etcd-server").key),
                    "trusted-ca-file": str(pki("etcd-ca").cert),
                    "client-cert-auth": True,
                    # A disposable test bed: durability across power loss buys nothing, fsync costs seconds.
                    "unsafe-no-fsync": True,
                    "log-level": "warn",
                }
            ),
        ],
        ready=HttpProbe(
            f"{etcd_url}/health",
            ca=pki("etcd-ca"),
            identity=pki("apiserver-etcd-client"),
            expect='"health":"true"',
        ),
    )
    apiserver = Component(
        name="kube-apiserver",
        argv=[
            str(bins / "kube-apiserver"),
            *_flags(
                {
                    "bind-address": LOOPBACK,
                    "advertise-address": LOOPBACK,
                    "secure-port": ports.apiserver,
                    # With a loopback advertise address the endpoint reconciler would publish 127.0.0.1 as
                    # the `kubernetes` Service's endpoint, which the apiserver itself rejects.
                    "endpoint-reconciler-type": "none",
                    "etcd-servers": etcd_url,
                    "etcd-cafile": str(pki("etcd-ca").cert),
                    "etcd-certfile": str(pki("apiserver-etcd-client").cert),
                    "etcd-keyfile": str(pki("apiserver-etcd-client").key),
                    **_serving(layout, "kube-apiserver"),
                    "client-ca-file": str(layout.ca.cert),
                    "authorization-mode": "Node,RBAC",
                    "enable-admission-plugins": "NodeRestriction,MutatingAdmissionWebhook,"
                    "ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,ResourceQuota,LimitRanger,"
                    "ServiceAccount,NamespaceLifecycle,Priority,DefaultTolerationSeconds",
                    "service-account-issuer": SERVICE_ACCOUNT_ISSUER,
                    "service-account-key-file": str(layout.pki / "sa.pub"),
                    "service-account-signing-key-file": str(layout.pki / "sa.key"),
                    "service-cluster-ip-range": SERVICE_CIDR,
                    "allow-privileged": True,
                    "profiling": False,
                    # Aggregation layer: without these, every client of extension-apiserver-authentication
                    # (the controller-manager and schedulers) logs a missing CA bundle.
                    "requestheader-client-ca-file": str(pki("front-proxy-ca").cert),
                    "requestheader-allowed-names": "front-proxy-client",
                    "requestheader-username-headers": "X-Remote-User",
                    "requestheader-group-headers": "X-Remote-Group",
                    "requestheader-extra-headers-prefix": "X-Remote-Extra-",
                    "proxy-client-cert-file": str(pki("front-proxy-client").cert),
                    "proxy-client-key-file": str(pki("front-proxy-client").key),
                    # Writes, for tests that count them (configs.AUDIT_POLICY); batched, so no
                    # request waits for the file, and bounded to 100 MB (and one older file).
                    "audit-policy-file": str(layout.config_file("audit-policy.yaml")),
                    "audit-log-path": str(layout.audit_log),
                    "audit-log-format": "json",
                    "audit-log-mode": "batch",
                    "audit-log-batch-max-wait": "1s",
                    "audit-log-maxsize": 100,
                    "audit-log-maxbackup": 1,
                }
            ),
        ],
        ready=HttpProbe(f"{apiserver_url}/readyz", ca=layout.ca, identity=pki("admin"), expect="ok"),
        after=("etcd",),
    )
    cm_kubeconfig = str(layout.component_kubeconfig("kube-controller-manager"))
    controller_manager = Component(
        name="kube-controller-manager",
        argv=[
            str(bins / "kube-controller-manager"),
            *_flags(
                {
                    "kubeconfig": cm_kubeconfig,
                    "authentication-kubeconfig": cm_kubeconfig,
                    "authorization-kubeconfig": cm_kubeconfig,
                    "bind-address": LOOPBACK,
                    "secure-port": ports.controller_manager,
                    **_serving(layout, "kube-controller-manager-serving"),
                    "cluster-signing-cert-file": str(layout.ca.cert),
                    "cluster-signing-key-file": str(layout.ca.key),
                    "root-ca-file": str(layout.ca.cert),
                    "service-account-private-key-file": str(layout.pki / "sa.key"),
                    # Each controller acts with its own service account, so RBAC applies to them too.
                    "use-service-account-credentials": True,
                    "service-cluster-ip-range": SERVICE_CIDR,
                    "leader-elect": False,
                    "node-monitor-grace-period": f"{NODE_MONITOR_GRACE_SECONDS}s",
                }
            ),
        ],
        ready=HttpProbe(f"https://{LOOPBACK}:{ports.controller_manager}/healthz", ca=layout.ca, expect="ok"),
        after=("kube-apiserver",),
    )
    sched_kubeconfig = str(layout.component_kubeconfig("kube-scheduler"))
    scheduler = Component(
        name="kube-scheduler",
        argv=[
            str(bins / "kube-scheduler"),
            *_flags(
                {
                    "config": str(layout.config_file("kube-scheduler.yaml")),
                    "authentication-kubeconfig": sched_kubeconfig,
                    "authorization-kubeconfig": sched_kubeconfig,
                    "bind-address": LOOPBACK,
                    "secure-port": ports.scheduler,
                    **_serving(layout, "kube-scheduler-serving"),
                }
            ),
        ],
        ready=HttpProbe(f"https://{LOOPBACK}:{ports.scheduler}/healthz", ca=layout.ca, expect="ok"),
        after=("kube-apiserver",),
    )
    prometheus_component = Component(
        name="prometheus",
        argv=[
            prometheus,
            *_flags(
                {
                    "config.file": str(layout.config_file("prometheus.yml")),
                    "storage.tsdb.path": str(layout.prometheus_dir / "data"),
                    "storage.tsdb.retention.time": "1d",
                    "web.listen-address": f"{LOOPBACK}:{ports.prometheus}",
                    "web.enable-lifecycle": True,
                    "log.level": "warn",
                }
            ),
        ],
        ready=HttpProbe(f"http://{LOOPBACK}:{ports.prometheus}/-/ready"),
    )
    return [etcd, prometheus_component, apiserver, controller_manager, scheduler, kwok(layout, ports, bins)]


def kwok(layout: Layout, ports: Ports, bins: Path) -> Component:
    """KWOK, which plays the kubelet of every node annotated ``kwok.x-k8s.io/node=fake``.

    It reads the stages in ``config/kwok.yaml`` and talks to the API server named in its own
    kubeconfig, so it can serve another cluster's fake nodes as well as this one's.
    """
    return Component(
        name="kwok",
        argv=[
            str(bins / "kwok"),
            *_flags(
                {
                    "kubeconfig": str(layout.component_kubeconfig("kwok")),
                    "config": str(layout.config_file("kwok.yaml")),
                    "manage-nodes-with-annotation-selector": f"{KWOK_NODE_ANNOTATION}=fake",
                    "server-address": f"{LOOPBACK}:{ports.kwok}",
                    "node-lease-duration-seconds": NODE_LEASE_SECONDS,
                    "cidr": POD_CIDR,
                    "node-ip": LOOPBACK,
                }
            ),
        ],
        ready=HttpProbe(f"http://{LOOPBACK}:{ports.kwok}/healthz"),
        after=("kube-apiserver",),
    )
