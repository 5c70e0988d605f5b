"""kind clusters with real nodes, built on a machine that reaches no container registry.

Users with a registry keep kind's own node image and the official Python base. On a machine that
can pull nothing, every image is made here: Debian root filesystems (debootstrap), the project's
images from its Dockerfiles on those bases, and a kind node image of the pinned Kubernetes release
built from the Go module proxy (``ebbtide kind image``). Everything built is cached by the hash of
its inputs, so only a cold machine pays for it.
"""
