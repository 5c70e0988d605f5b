"""What one operator process costs with 500 ScalingPolicies at a 15-second interval.

The operator runs as its own process (``ebbtide operator --controllers scaling``) against a
running local cluster (``ebbtide dev up``), limited to one namespace holding N Deployments and N
ScalingPolicies, one policy per Deployment. Each policy's load is its own series of a metric this
script serves (a slow sine wave per policy, out of phase with the others, so replicas move between
1 and 3 and the operator really scales); the cluster's Prometheus scrapes it every 2 s.

After a warm-up (every policy's first rounds read its whole history window from Prometheus), the
operator's CPU time (user + system, from /proc, so not inflated when the machine is busy) and RSS
are sampled over the measured window, and its own /metrics give the decisions made and how late
rounds started. Prints CPU % of one core, RSS, decisions/s and round lateness; writes
bench/results/operator_cost.json.

Pods: N Deployments at up to 3 replicas need up to 3N pod slots. A missing cluster is started
with 3 nodes of room (and taken down at the end unless ``--keep-cluster``); a running one is used
as it is, e.g. one started with ``ebbtide dev up --name bench --node-pods 1000``:

    .venv/bin/python bench/operator_cost.py [--cluster bench-cost] [--policies 500] [--minutes 5]

Everything created is deleted at the end, with the namespace (nothing holds a policy: the
operator puts no finalizer on it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.utils import parse_quantity
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ebbtide.api import API_GROUP, API_VERSION, ScalingPolicy
from ebbtide.api.duration import parse_duration
from ebbtide.devcluster.cluster import DevCluster
from ebbtide.devcluster.configs import write_scrape_targets
from ebbtide.devcluster.nodes import uniform_nodes
from result_files import result_path

REPO = Path(__file__).resolve().parents[1]
RESULTS = result_path("operator_cost.json")
METRIC = "ebbtide_bench_load"
TARGET_PER_REPLICA = 10.0
LOAD_PERIOD_SECONDS = 600.0  # one sine period; each policy is out of phase with the others
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


class SineLoads(Collector):
    """``ebbtide_bench_load{policy="p-<i>"}``: 5..25 (1 to 3 replicas at 10 per replica),
    computed when Prometheus scrapes."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.started = time.time()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(METRIC, "Synthetic load per bench policy", labels=["policy"])
        angle = 2 * math.pi * (time.time() - self.started) / LOAD_PERIOD_SECONDS
        for i in range(self.count):
            family.add_metric([f"p-{i}"], 15.0 + 10.0 * math.sin(angle + 2 * math.pi * i / self.count))
        yield family


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cluster",
        default="bench-cost",
        help="the `ebbtide dev` cluster (started, and stopped after, if missing)",
    )
    parser.add_argument("--keep-cluster", action="store_true", help="leave a cluster started here running")
    parser.add_argument("--policies", type=int, default=500)
    parser.add_argument("--interval", default="15s")
    parser.add_argument("--model", default="Linear", help="prediction.model of every policy")
    parser.add_argument("--history", default="30m")
    parser.add_argument("--warmup", type=float, default=90.0, help="seconds before measuring")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the measured window")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    dev = DevCluster(args.cluster)
    started_here = not dev.exists()
    if started_here:
        # Room for every pod the policies may ask for (up to 3 per Deployment).
        dev.up(nodes=uniform_nodes(count=3, cpu="500", memory="2000Gi", pods=max(110, args.policies)))
    elif not all(component.ready for component in dev.status()):
        sys.exit(f"cluster {args.cluster!r} is not ready: see `ebbtide dev status --name {args.cluster}`")
    try:
        _run_bench(dev, args)
    finally:
        if started_here and not args.keep_cluster:
            stopped = dev.down()
            print(f"cluster {args.cluster!r} down ({len(stopped)} processes stopped)")


def _run_bench(dev: DevCluster, args: argparse.Namespace) -> None:
    info = dev.info()
    api = config.new_client_from_config(config_file=str(info.kubeconfig))
    kubectl = str(info.bin_dir / "kubectl")
    crds = sorted((REPO / "crds").glob("*.yaml"))
    _run(
        [kubectl, f"--kubeconfig={info.kubeconfig}", "apply", "--server-side", "--force-conflicts"]
        + [f"-f={path}" for path in crds]
    )
    _run(
        [
            kubectl,
            f"--kubeconfig={info.kubeconfig}",
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            f"crd/{ScalingPolicy.crd_name()}",
        ]
    )
    _check_capacity(api, pods_needed=3 * args.policies)

    namespace = f"bench-cost-{uuid.uuid4().hex[:6]}"
    job = namespace
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": namespace}})
    registry = CollectorRegistry()
    registry.register(SineLoads(args.policies))
    port = _free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    write_scrape_targets(dev.layout, job=job, targets=[f"127.0.0.1:{port}"])
    operator: subprocess.Popen[bytes] | None = None
    log = result_path("operator_cost.log")
    try:
        started = time.monotonic()
        _create_objects(api, namespace=namespace, job=job, args=args)
        print(f"created {args.policies} Deployments and ScalingPolicies in {time.monotonic() - started:.0f}s")
        operator, metrics_url = _start_operator(info, namespace=namespace, log=log)
        print(f"operator pid {operator.pid}; warming up for {args.warmup:.0f}s")
        time.sleep(args.warmup)
        result = _measure(operator.pid, metrics_url, seconds=args.minutes * 60)
        result.update(
            policies=args.policies,
            interval=args.interval,
            model=args.model,
            history=args.history,
            targets=f"{args.policies} Deployments, one policy each (pause pods on KWOK nodes)",
            expected_decisions_per_second=round(args.policies / _seconds(args.interval), 2),
            machine={
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average": os.getloadavg(),
            },
        )
        _report(result)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.output}")
    finally:
        _clean_up(api, namespace=namespace, operator=operator)
        write_scrape_targets(dev.layout, job=job, targets=[])
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _create_objects(api: client.ApiClient, *, namespace: str, job: str, args: argparse.Namespace) -> None:
    apps, custom = client.AppsV1Api(api), client.CustomObjectsApi(api)

    def create(i: int) -> None:
        name = f"p-{i}"
        labels = {"app": name}
        apps.create_namespaced_deployment(
            namespace,
            {
                "metadata": {"name": name},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]},
                    },
                },
            },
        )
        custom.create_namespaced_custom_object(
            API_GROUP,
            API_VERSION,
            namespace,
            ScalingPolicy.PLURAL,
            {
                "apiVersion": f"{API_GROUP}/{API_VERSION}",
                "kind": ScalingPolicy.KIND,
                "metadata": {"name": name},
                "spec": {
                    "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "minReplicas": 1,
                    "maxReplicas": 3,
                    "metric": {
                        "query": f'sum({METRIC}{{job="{job}",policy="{name}"}})',
                        "targetPerReplica": TARGET_PER_REPLICA,
                    },
                    "interval": args.interval,
                    "cooldown": {"scaleUp": "0s", "scaleDown": "1m"},
                    "prediction": {
                        "model": args.model,
                        "horizon": "1m",
                        "history": args.history,
                        "seasonality": None,
                    },
                },
            },
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(args.policies)))


def _start_operator(info: Any, *, namespace: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    health, metrics = _free_port(), _free_port()
    argv = [
        sys.executable, "-m", "ebbtide", "operator",
        f"--kubeconfig={info.kubeconfig}",
        f"--prometheus-url={info.prometheus_url}",
        "--controllers=scaling",
        f"--namespace={namespace}",
        "--metrics-host=127.0.0.1",
        f"--metrics-port={metrics}",
        f"--health-port={health}",
    ]  # fmt: skip
    with log.open("wb") as out:
        operator = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if operator.poll() is not None:
            raise RuntimeError(f"operator exited with {operator.returncode}; see {log}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{health}/healthz", timeout=2),
        ):
            return operator, f"http://127.0.0.1:{metrics}/metrics"
        time.sleep(0.5)
    raise TimeoutError(f"operator not healthy after 120s; see {log}")


def _measure(pid: int, metrics_url: str, *, seconds: float) -> dict[str, Any]:
    """CPU, RSS and the operator's own counters over ``seconds``."""
    cpu_before, wall_before, metrics_before = _cpu_seconds(pid), time.monotonic(), _scrape(metrics_url)
    peak_rss, samples = 0, []
    deadline = wall_before + seconds
    while time.monotonic() < deadline:
        rss = _rss_bytes(pid)
        peak_rss = max(peak_rss, rss)
        samples.append(rss)
        time.sleep(1.0)
    cpu_after, wall_after, metrics_after = _cpu_seconds(pid), time.monotonic(), _scrape(metrics_url)
    wall = wall_after - wall_before
    cpu = cpu_after - cpu_before

    def delta(name: str) -> float:
        return _total(metrics_after, name) - _total(metrics_before, name)

    rounds = delta("ebbtide_scaling_round_seconds_count")
    started = delta("ebbtide_scaling_round_lateness_seconds_count")
    late = started - (
        _bucket(metrics_after, "ebbtide_scaling_round_lateness_seconds", "1.0")
        - _bucket(metrics_before, "ebbtide_scaling_round_lateness_seconds", "1.0")
    )
    queries = delta("ebbtide_prometheus_query_seconds_count")
    kube_calls = delta("ebbtide_scaling_kube_call_seconds_count")
    waits = delta("ebbtide_scaling_pool_wait_seconds_count")
    return {
        "measured_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 2),
        "cpu_percent_of_one_core": round(100 * cpu / wall, 1),
        "cpu_ms_per_decision": round(1000 * cpu / max(1.0, delta("ebbtide_scaling_decisions_total")), 2),
        "rss_mib_peak_in_window": round(peak_rss / 2**20, 1),
        "rss_mib_mean_in_window": round(sum(samples) / max(1, len(samples)) / 2**20, 1),
        "rss_mib_high_water_mark": round(_status_kib(pid, "VmHWM") / 1024, 1),
        "decisions_per_second": round(delta("ebbtide_scaling_decisions_total") / wall, 2),
        "rounds": int(rounds),
        "rounds_started": int(started),
        "rounds_started_over_1s_late": int(late),
        "mean_round_lateness_ms": round(
            1000 * delta("ebbtide_scaling_round_lateness_seconds_sum") / max(1.0, started), 1
        ),
        "mean_round_ms": round(1000 * delta("ebbtide_scaling_round_seconds_sum") / max(1.0, rounds), 1),
        "prometheus_queries": int(queries),
        "mean_query_ms": round(1000 * delta("ebbtide_prometheus_query_seconds_sum") / max(1.0, queries), 1),
        "kube_calls": int(kube_calls),
        "kube_calls_per_second": round(kube_calls / wall, 1),
        "mean_kube_call_ms": round(
            1000 * delta("ebbtide_scaling_kube_call_seconds_sum") / max(1.0, kube_calls), 1
        ),
        "mean_pool_wait_ms": round(
            1000 * delta("ebbtide_scaling_pool_wait_seconds_sum") / max(1.0, waits), 1
        ),
        "replica_changes": int(delta("ebbtide_scaling_replica_changes_total")),
        "errors": int(delta("ebbtide_scaling_errors_total")),
    }


def _report(result: dict[str, Any]) -> None:
    print(
        f"{result['policies']} policies at {result['interval']} ({result['model']}), "
        f"measured {result['measured_seconds']:.0f}s:\n"
        f"  CPU      {result['cpu_percent_of_one_core']:.1f}% of one core "
        f"({result['cpu_ms_per_decision']:.2f} ms per decision)\n"
        f"  RSS      {result['rss_mib_peak_in_window']:.0f} MiB peak in window, "
        f"{result['rss_mib_high_water_mark']:.0f} MiB high-water mark\n"
        f"  rate     {result['decisions_per_second']:.1f} decisions/s "
        f"(expected {result['expected_decisions_per_second']:.1f}), "
        f"{result['replica_changes']} replica changes\n"
        f"  timing   mean round {result['mean_round_ms']:.0f} ms, mean lateness "
        f"{result['mean_round_lateness_ms']:.0f} ms, {result['rounds_started_over_1s_late']} of "
        f"{result['rounds_started']} rounds over 1 s late\n"
        f"  calls    {result['kube_calls_per_second']:.1f} Kubernetes calls/s, mean "
        f"{result['mean_kube_call_ms']:.0f} ms; mean Prometheus query {result['mean_query_ms']:.0f} ms; "
        f"mean wait for a pool thread {result['mean_pool_wait_ms']:.0f} ms\n"
        f"  errors   {result['errors']}"
    )


def _clean_up(api: client.ApiClient, *, namespace: str, operator: subprocess.Popen[bytes] | None) -> None:
    if operator is not None and operator.poll() is None:
        os.killpg(operator.pid, signal.SIGTERM)
        try:
            operator.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(operator.pid, signal.SIGKILL)
            operator.wait(timeout=10)
    client.CoreV1Api(api).delete_namespace(namespace)


def _check_capacity(api: client.ApiClient, *, pods_needed: int) -> None:
    nodes = client.CoreV1Api(api).list_node().items
    capacity = sum(int(parse_quantity(node.status.allocatable.get("pods", "0"))) for node in nodes)
    if capacity < pods_needed:
        print(
            f"note: the nodes hold {capacity} pods and up to {pods_needed} may be asked for; the rest "
            "stay Pending (the operator's cost does not depend on it)"
        )


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def _rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def _status_kib(pid: int, key: str) -> int:
    match = re.search(rf"^{key}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def _total(exposition: str, name: str) -> float:
    """The sum of every sample of ``name`` (all label sets)."""
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return sum(float(value) for value in pattern.findall(exposition))


def _bucket(exposition: str, name: str, le: str) -> float:
    pattern = re.compile(rf'^{re.escape(name)}_bucket\{{le="{re.escape(le)}"\}} (\S+)$', re.MULTILINE)
    match = pattern.search(exposition)
    return float(match.group(1)) if match else 0.0


def _seconds(duration: str) -> float:
    return parse_duration(duration).total_seconds()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


if __name__ == "__main__":
    main()
