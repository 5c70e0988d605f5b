"""bench/admission_throughput.py: CPU per admitted pod, control plane and writer together."""

from __future__ import annotations

from admission_throughput import cpu_ms_per_pod


def test_cpu_per_pod_adds_the_control_plane_to_the_writer_and_counts_what_was_admitted() -> None:
    figures = {
        "pods": 1000,
        "admitted": 800,
        "control_plane_cpu_seconds": {"kube-apiserver": 6.0, "etcd": 1.2},
        "operator_cpu_seconds_admitting": 0.8,
    }
    assert cpu_ms_per_pod(figures, writer="operator_cpu_seconds_admitting") == 10.0


def test_nothing_admitted_has_no_cost_per_pod() -> None:
    figures = {"pods": 10, "admitted": 0, "control_plane_cpu_seconds": {}, "writer_cpu_seconds": 1.0}
    assert cpu_ms_per_pod(figures, writer="writer_cpu_seconds") is None
