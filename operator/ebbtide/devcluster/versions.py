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
