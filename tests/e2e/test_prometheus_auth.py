"""A ScalingPolicy reading its load from a Prometheus that requires TLS with its own CA and basic
auth: the operator gets the CA and the password from files, never on its command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.test_scaling_policy import create_deployment, create_policy, replicas
from tests.support.chart_identities import ChartIdentities
from tests.support.cluster import E2ECluster
from tests.support.load_exporter import LoadExporter, load_exporter
from tests.support.operator import free_port, running_operator
from tests.support.secured_prometheus import USER, SecuredPrometheus, secured_prometheus
from tests.support.waiting import eventually

from ebbtide.api import API_GROUP, API_VERSION, ScalingPolicy

pytestmark = pytest.mark.e2e


@pytest.fixture
def exporter(cluster: E2ECluster, namespace: str) -> Iterator[LoadExporter]:
    with load_exporter(cluster, job=f"load-{namespace}") as running:
        yield running


@pytest.fixture
def secured(exporter: LoadExporter, tmp_path: Path) -> Iterator[SecuredPrometheus]:
    with secured_prometheus(
        tmp_path / "secured", port=free_port(), scrape=f"127.0.0.1:{exporter.port}", job=exporter.job
    ) as running:
        yield running


def test_a_policy_scales_on_load_read_over_tls_with_basic_auth(
    cluster: E2ECluster,
    chart_identities: ChartIdentities,
    namespace: str,
    exporter: LoadExporter,
    secured: SecuredPrometheus,
    tmp_path: Path,
) -> None:
    with running_operator(
        cluster,
        log=tmp_path / "operator.log",
        controllers="scaling",
        kubeconfig=chart_identities.operator,
        extra_args=(
            f"--namespace={namespace}",
            f"--prometheus-url={secured.url}",
            f"--prometheus-ca-file={secured.ca_file}",
            f"--prometheus-username={USER}",
            f"--prometheus-password-file={secured.password_file}",
        ),
    ) as operator:
        try:
            create_deployment(cluster, namespace, replicas=1)
            exporter.set(25)
            create_policy(cluster, namespace, query=exporter.query)
            eventually(
                lambda: replicas(cluster, namespace) == 3, timeout=90, what="3 replicas for a load of 25"
            )
            assert secured.password_file.read_text().strip() not in " ".join(operator.argv)
        finally:
            cluster.custom.delete_collection_namespaced_custom_object(
                API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL
            )
            eventually(
                lambda: (
                    not cluster.custom.list_namespaced_custom_object(
                        API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL
                    )["items"]
                ),
                what="the operator to release the policy",
            )


def test_without_the_password_the_operator_stops_with_one_line(
    cluster: E2ECluster, chart_identities: ChartIdentities, secured: SecuredPrometheus, tmp_path: Path
) -> None:
    with (
        pytest.raises(RuntimeError, match="exited with 1") as failure,
        running_operator(
            cluster,
            log=tmp_path / "operator.log",
            controllers="scaling",
            kubeconfig=chart_identities.operator,
            extra_args=(f"--prometheus-url={secured.url}", f"--prometheus-ca-file={secured.ca_file}"),
        ),
    ):
        pass
    text = str(failure.value)
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "401" in errors[0], text
