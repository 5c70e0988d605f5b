"""Every certificate and key the local cluster needs, made once and kept with its state."""

from __future__ import annotations

from ebbtide.devcluster.layout import LOOPBACK, Layout
from ebbtide.devcluster.pki import issue, make_ca, make_signing_key

_APISERVER_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
# The first address of the service CIDR: the `kubernetes` Service's cluster IP.
_APISERVER_SERVICE_IP = "10.96.0.1"

# Client identities: file name -> (user, groups). Groups select RBAC: system:masters is the
# break-glass admin group, system:monitoring may read /metrics.
_CLIENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("ebbtide-dev-admin", ("system:masters",)),
    "kube-controller-manager": ("system:kube-controller-manager", ()),
    "kube-scheduler": ("system:kube-scheduler", ()),
    # KWOK stands in for every kubelet: it writes node and pod status across all nodes.
    "kwok": ("kwok", ("system:masters",)),
    "prometheus-client": ("prometheus", ("system:monitoring",)),
    "ebbtide-scheduler": ("ebbtide-scheduler", ()),
    "ebbtide-extender": ("ebbtide-extender", ()),
}


def ensure_credentials(layout: Layout) -> None:
    """Create the CAs, serving and client certificates and the token signing key if absent."""
    pki = layout.pki
    ca = make_ca(pki, name="ca", common_name="ebbtide-dev-ca")
    etcd_ca = make_ca(pki, name="etcd-ca", common_name="ebbtide-dev-etcd-ca")
    front_proxy_ca = make_ca(pki, name="front-proxy-ca", common_name="ebbtide-dev-front-proxy-ca")
    issue(
        ca,
        pki,
        name="kube-apiserver",
        common_name="kube-apiserver",
        dns_names=_APISERVER_NAMES,
        ip_addresses=(LOOPBACK, _APISERVER_SERVICE_IP),
        server=True,
    )
    for component in ("kube-controller-manager", "kube-scheduler", "ebbtide-scheduler"):
        issue(
            ca,
            pki,
            name=f"{component}-serving",
            common_name=component,
            dns_names=("localhost",),
            ip_addresses=(LOOPBACK,),
            server=True,
        )
    for name, (user, groups) in _CLIENTS.items():
        issue(ca, pki, name=name, common_name=user, organisations=groups, client=True)
    issue(
        etcd_ca,
        pki,
        name="etcd-server",
        common_name="etcd",
        dns_names=("localhost",),
        ip_addresses=(LOOPBACK,),
        server=True,
        client=True,
    )
    issue(
        etcd_ca,
        pki,
        name="apiserver-etcd-client",
        common_name="kube-apiserver-etcd-client",
        client=True,
    )
    issue(
        front_proxy_ca,
        pki,
        name="front-proxy-client",
        common_name="front-proxy-client",
        client=True,
    )
    make_signing_key(pki, name="sa")
