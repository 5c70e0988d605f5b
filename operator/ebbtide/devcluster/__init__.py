"""A real Kubernetes control plane as local processes, for the demo and the tests.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are built from the upstream
Go modules at one pinned release (see :mod:`.versions`), KWOK plays the nodes and the pods'
lifecycles, and Prometheus (the Debian package) scrapes what the tests expose. Everything binds
to loopback, and security is on as in production: certificates from a CA made here, RBAC, signed
service-account tokens and admission webhooks.
"""
