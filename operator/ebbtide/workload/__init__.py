"""The demo workload and its load generator, as real processes in real pods.

:mod:`ebbtide.workload.service` is an HTTP service whose start-up takes a configurable time and
which counts its requests for Prometheus; :mod:`ebbtide.workload.loadgen` sends it requests at a
rate that follows the demo's :class:`~ebbtide.demo.pattern.LoadPattern`. The images
``ebbtide-workload`` and ``ebbtide-loadgen`` run them (see :mod:`ebbtide.kind.images`).
"""
