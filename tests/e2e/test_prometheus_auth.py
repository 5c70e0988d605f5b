"""A Prometheus that requires TLS with its own CA and basic auth, read by the operator (a
ScalingPolicy's load), by `ebbtide backtest prom://` and by the extender (node load): each gets
the CA and the password from files, never on its command line. And the test bed's Prometheus
behind an authenticating gateway (tests/support/auth_gateway.py) that wants a bearer token and a
tenant header, as Mimir, Cortex and Thanos setups do: the operator sends both, reads the token
from its file at every request, and says clearly when the token is refused."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from tests.e2e.test_scaling_policy import (
    condition,
    create_deployment,
    create_policy,
    replicas,
    wait_for_status,
)
from tests.support.auth_gateway import TENANT, TOKEN, AuthGateway, auth_gateway
from tests.support.chart_identities import ChartIdentities
from tests.support.cluster import E2ECluster
from tests.support.load_exporter import LoadExporter, load_exporter
from tests.support.operator import (
    free_port,
    namespaced_scaling_operator,
    running_operator,
)
from tests.support.secured_prometheus import PASSWORD, USER, SecuredPrometheus, secured_prometheus
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
    with namespaced_scaling_operator(
        cluster,
        chart_identities,
        namespace,
        log=tmp_path / "operator.log",
        extra_args=(
            f"--prometheus-url={secured.url}",
            f"--prometheus-ca-file={secured.ca_file}",
            f"--prometheus-username={USER}",
            f"--prometheus-password-file={secured.password_file}",
        ),
    ) as operator:
        create_deployment(cluster, namespace, replicas=1)
        exporter.set(25)
        create_policy(cluster, namespace, query=exporter.query)
        eventually(lambda: replicas(cluster, namespace) == 3, timeout=90, what="3 replicas for a load of 25")
        assert secured.password_file.read_text().strip() not in " ".join(operator.argv)


@pytest.fixture
def gateway(cluster: E2ECluster, tmp_path: Path) -> Iterator[AuthGateway]:
    with auth_gateway(tmp_path / "gateway", upstream=cluster.prometheus_url, port=free_port()) as running:
        yield running


def test_a_policy_scales_on_load_read_with_a_bearer_token_and_a_tenant_and_says_when_the_token_is_refused(
    cluster: E2ECluster,
    chart_identities: ChartIdentities,
    namespace: str,
    exporter: LoadExporter,
    gateway: AuthGateway,
    tmp_path: Path,
) -> None:
    with namespaced_scaling_operator(
        cluster,
        chart_identities,
        namespace,
        log=tmp_path / "operator.log",
        extra_args=(
            f"--prometheus-url={gateway.url}",
            f"--prometheus-bearer-token-file={gateway.token_file}",
            f"--prometheus-tenant={TENANT}",
        ),
    ) as operator:
        create_deployment(cluster, namespace, replicas=1)
        exporter.set(25)
        create_policy(cluster, namespace, query=exporter.query)
        eventually(lambda: replicas(cluster, namespace) == 3, timeout=90, what="3 replicas for a load of 25")
        assert gateway.answers["forwarded"] > 0
        assert TOKEN not in " ".join(operator.argv)

        # The token is rotated to one the gateway does not know: the file is read again for
        # the next request, and the policy says why it holds its replicas.
        refused_before = gateway.answers["invalid bearer token"]
        gateway.token_file.write_text("a-revoked-token\n")
        held = wait_for_status(
            cluster,
            namespace,
            # Wait for the refusal itself: a round that found no data (a scrape the busy test bed
            # missed) also turns the condition False, for another reason.
            lambda s: (
                condition(s, "MetricsAvailable").get("status") == "False"
                and "401" in condition(s, "MetricsAvailable").get("message", "")
            ),
            what="MetricsAvailable=False with the refused token",
            timeout=90,
        )
        message = condition(held, "MetricsAvailable")["message"]
        assert "401" in message and "invalid bearer token" in message, message
        assert gateway.answers["invalid bearer token"] > refused_before
        assert replicas(cluster, namespace) == 3

        # The right token again: the policy reads the load once more.
        gateway.token_file.write_text(TOKEN + "\n")
        wait_for_status(
            cluster,
            namespace,
            lambda s: condition(s, "MetricsAvailable").get("status") == "True",
            what="MetricsAvailable=True with the right token",
            timeout=90,
        )


@pytest.mark.parametrize(
    ("credentials", "refusal"),
    [
        (("--prometheus-tenant=" + TENANT,), "invalid bearer token"),
        (("--prometheus-bearer-token-file={token_file}",), "tenant"),
    ],
    ids=["no token", "no tenant"],
)
def test_a_gateway_that_refuses_stops_the_operator_with_one_line_saying_why(
    cluster: E2ECluster,
    chart_identities: ChartIdentities,
    gateway: AuthGateway,
    credentials: tuple[str, ...],
    refusal: str,
    tmp_path: Path,
) -> None:
    args = tuple(arg.format(token_file=gateway.token_file) for arg in credentials)
    with (
        pytest.raises(RuntimeError, match="exited with 1") as failure,
        running_operator(
            cluster,
            log=tmp_path / "operator.log",
            controllers="scaling",
            kubeconfig=chart_identities.operator,
            extra_args=(f"--prometheus-url={gateway.url}", *args),
        ),
    ):
        pass
    text = str(failure.value)
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "401" in errors[0] and refusal in errors[0], text


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


def credential_args(secured: SecuredPrometheus) -> list[str]:
    """The --prometheus-* options for ``secured``: secrets as files, never as values."""
    return [
        f"--prometheus-url={secured.url}",
        f"--prometheus-ca-file={secured.ca_file}",
        f"--prometheus-username={USER}",
        f"--prometheus-password-file={secured.password_file}",
    ]


def test_backtest_replays_a_trace_read_over_tls_with_basic_auth(
    exporter: LoadExporter, secured: SecuredPrometheus, tmp_path: Path
) -> None:
    exporter.ramp(start=10, per_second=1)
    start = time.time()

    def samples() -> int | None:
        answer = requests.get(
            f"{secured.url}/api/v1/query",
            params={"query": f'count_over_time(ebbtide_test_load{{job="{exporter.job}"}}[5m])'},
            verify=str(secured.ca_file),
            auth=(USER, PASSWORD),
            timeout=5,
        ).json()["data"]["result"]
        count = int(float(answer[0]["value"][1])) if answer else 0
        return count if count >= 8 else None

    eventually(samples, timeout=90, what="8 samples of the load in the secured Prometheus")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "apiVersion": f"{API_GROUP}/{API_VERSION}",
                "kind": ScalingPolicy.KIND,
                "metadata": {"name": "replayed"},
                "spec": {
                    "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "maxReplicas": 10,
                    "metric": {"query": exporter.query, "targetPerReplica": 10},
                    "prediction": {"model": "None", "horizon": "10s", "history": "1m", "seasonality": None},
                },
            }
        )
    )
    trace = f"prom://{urllib.parse.quote(exporter.query)}?start={start:.0f}&end={time.time():.0f}&step=2"
    timeline = tmp_path / "timeline.csv"
    result = subprocess.run(
        [sys.executable, "-m", "ebbtide", "backtest", "-f", str(policy), "-o", str(timeline),
         "--step=2s", *credential_args(secured), trace],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    with timeline.open() as lines:
        rows = list(csv.DictReader(lines))
    assert len(rows) >= 5, rows
    assert PASSWORD not in " ".join(result.args)


def test_the_extender_reads_node_load_over_tls_with_basic_auth(
    cluster: E2ECluster, chart_identities: ChartIdentities, secured: SecuredPrometheus, tmp_path: Path
) -> None:
    node = cluster.core.list_node().items[0].metadata.name
    config = tmp_path / "extender.yaml"
    # Any instant vector with a node label will do: the secured Prometheus scrapes no node.
    query = f'label_replace(vector(0.25), "node", "{node}", "", "")'
    config.write_text(yaml.safe_dump({"load": {"queries": {"cpu": query}, "refreshSeconds": 1}}))
    port = free_port()
    log = (tmp_path / "extender.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "ebbtide", "extender", f"--kubeconfig={chart_identities.extender}",
         f"--config={config}", "--host=127.0.0.1", f"--port={port}", *credential_args(secured)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:

        def load_nodes() -> int | None:
            assert process.poll() is None, (tmp_path / "extender.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    return int(json.load(response)["loadNodes"]) or None
            except OSError:
                return None

        assert eventually(load_nodes, timeout=60, what="the extender to read the node's load") == 1
        assert PASSWORD not in " ".join(str(arg) for arg in process.args)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
