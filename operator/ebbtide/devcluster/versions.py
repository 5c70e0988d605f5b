"""The pinned versions of everything the local cluster runs.

Kubernetes is the newest stable release the Go module proxy served when it was pinned; etcd is the
version that release is tested with (k8s.io/kubernetes build/dependencies.yaml); KWOK is the newest
release. The Go modules under ``gomod/`` pin the same versions and must change with them.
"""

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.8"
KWOK_VERSION = "v0.8.0"
# Tools the chart's tests use: packaging and rendering, and schema validation of the output.
HELM_VERSION = "v4.3.1"
KUBECONFORM_VERSION = "v0.8.0"

KUBERNETES_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")

# The kind test bed (ebbtide.kind): kind itself, and what its node image carries besides the
# Kubernetes binaries above. COREDNS_VERSION is the one `kubeadm config images list` names for
# KUBERNETES_VERSION (gomod/coredns pins the same); KIND_NODE_SUITE is the Debian release of the
# node's base (systemd 257, the last to run on a cgroup v1 host; containerd 1.7).
KIND_VERSION = "v0.32.0"
COREDNS_VERSION = "v1.14.2"
KIND_NODE_SUITE = "trixie"
