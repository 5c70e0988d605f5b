"""Admission throughput of the FairQueue controller against a real API server.

A local cluster (``ebbtide dev``, KWOK nodes with room for every pod) gets 50 FairQueues in one
cohort and 10,000 gated pods spread over them and over 10 namespaces, created by parallel
threads *before* the operator starts (with the scheduling gate already in their spec, as the
webhook would have set it; a webhook configuration left by an earlier run is deleted first, since
with no operator running it would refuse the pods). Then the real ``ebbtide operator
--controllers queueing`` starts and admits the backlog.

Measured: admitted pods per second from the moment the operator's view of the cluster was
complete (its ``ebbtide_fairqueue_view_synced_timestamp_seconds``) to the last admission (the
latest ``ebbtide.io/admitted-at``); the operator's CPU seconds and peak RSS; its cycle count and
conflicts. The scheduler and KWOK bind and run the admitted pods meanwhile, as they would in a
cluster, so the API server is as busy as it would be. Prints the figures and writes
bench/results/admission_throughput.json.

    .venv/bin/python bench/admission_throughput.py [--pods 10000] [--queues 50] [--cluster fairqueue-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from kubernetes import client, config

from ebbtide.api import API_GROUP, API_VERSION, FairQueue
from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT, QUEUE_LABEL, SCHEDULING_GATE, WEBHOOK_CONFIGURATION
from ebbtide.devcluster.cluster import DevCluster
from ebbtide.devcluster.nodes import uniform_nodes
from result_files import result_path

REPO = Path(__file__).resolve().parents[1]
RESULTS = result_path("admission_throughput.json")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pod_manifest(name: str, queue: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {QUEUE_LABEL: queue}},
        "spec": {
            "schedulingGates": [{"name": SCHEDULING_GATE}],
            "containers": [
                {
                    "name": "work",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                }
            ],
        },
    }


def prepare(
    api: client.ApiClient, *, kubectl: Path, kubeconfig: Path, run: str, args: argparse.Namespace
) -> list[str]:
    """CRDs, no leftover webhook, fresh namespaces and queues; returns the namespaces."""
    subprocess.run(
        [
            str(kubectl),
            f"--kubeconfig={kubeconfig}",
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            str(REPO / "crds"),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            str(kubectl),
            f"--kubeconfig={kubeconfig}",
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            f"crd/{FairQueue.PLURAL}.{API_GROUP}",
        ],
        check=True,
        capture_output=True,
    )
    admission = client.AdmissionregistrationV1Api(api)
    try:
        admission.delete_mutating_webhook_configuration(WEBHOOK_CONFIGURATION)
    except client.exceptions.ApiException as error:
        if error.status != 404:
            raise
    core = client.CoreV1Api(api)
    namespaces = [f"fqb-{run}-{index}" for index in range(args.namespaces)]
    for namespace in namespaces:
        core.create_namespace({"metadata": {"name": namespace}})
    for namespace in namespaces:
        while True:
            try:
                core.read_namespaced_service_account("default", namespace)
                break
            except client.exceptions.ApiException:
                time.sleep(0.2)
    custom = client.CustomObjectsApi(api)
    for index in range(args.queues):
        body = {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": "FairQueue",
            "metadata": {"name": f"fqb-{run}-{index:02d}"},
            "spec": {"weight": 1 + index % 4, "cohort": f"fqb-{run}"},
        }
        custom.create_cluster_custom_object(API_GROUP, API_VERSION, FairQueue.PLURAL, body)
    return namespaces


def create_pods(api: client.ApiClient, *, run: str, namespaces: list[str], args: argparse.Namespace) -> float:
    """Create the backlog in parallel; returns the seconds it took."""
    core = client.CoreV1Api(api)

    def create(index: int) -> None:
        namespace = namespaces[index % len(namespaces)]
        queue = f"fqb-{run}-{index % args.queues:02d}"
        body = pod_manifest(f"p-{index:05d}", queue)
        for attempt in range(5):
            try:
                core.create_namespaced_pod(namespace, body, _preload_content=False)
                return
            except client.exceptions.ApiException as error:
                if error.status not in (429, 500, 503, 504) or attempt == 4:
                    raise
                time.sleep(0.5 * (attempt + 1))

    started = time.monotonic()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(create, range(args.pods)))
    return time.monotonic() - started


def scrape(url: str) -> dict[str, float]:
    """The operator's /metrics as ``name{labels}`` -> value (series summed over labels by name too)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        name = series.split("{", 1)[0]
        values[series] = float(value)
        values[f"sum:{name}"] = values.get(f"sum:{name}", 0.0) + float(value)
    return values


def process_usage(pid: int) -> dict[str, float]:
    """CPU seconds (user+system) and RSS / peak RSS in MiB of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    status = Path(f"/proc/{pid}/status").read_text()
    memory = {
        key: int(value) / 1024 for key, value in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)
    }
    return {"cpu_seconds": cpu, "rss_mib": memory["VmRSS"], "peak_rss_mib": memory["VmHWM"]}


def last_admission(api: client.ApiClient, namespaces: list[str]) -> tuple[int, float]:
    """How many pods carry an admission, and the latest admission time (unix seconds)."""
    core = client.CoreV1Api(api)
    count, latest = 0, 0.0
    for namespace in namespaces:
        token = None
        while True:
            page = json.loads(
                core.list_namespaced_pod(namespace, limit=1000, _continue=token, _preload_content=False).data
            )
            for pod in page["items"]:
                stamp = (pod["metadata"].get("annotations") or {}).get(ADMITTED_AT)
                if stamp:
                    count += 1
                    latest = max(latest, datetime.fromisoformat(stamp).timestamp())
            token = page["metadata"].get("continue")
            if not token:
                break
    return count, latest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument("--threads", type=int, default=32, help="threads creating the pods")
    parser.add_argument(
        "--cluster", default="fairqueue-bench", help="the ebbtide dev cluster to use (started if needed)"
    )
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument(
        "--keep", action="store_true", help="keep the cluster, with the backlog's namespaces and queues"
    )
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    dev = DevCluster(args.cluster)
    slots = 2 * -(-args.pods // args.nodes) + 50  # room to spare: every admitted pod gets bound
    info = dev.up(nodes=uniform_nodes(count=args.nodes, cpu="64", memory="256Gi", pods=slots), progress=print)
    api = config.new_client_from_config(config_file=str(info.kubeconfig))
    api.configuration.connection_pool_maxsize = args.threads + 4
    api = client.ApiClient(api.configuration)
    run = time.strftime("%H%M%S")
    namespaces = prepare(
        api, kubectl=info.bin_dir / "kubectl", kubeconfig=info.kubeconfig, run=run, args=args
    )
    print(f"creating {args.pods} gated pods over {args.queues} queues and {len(namespaces)} namespaces ...")
    creation = create_pods(api, run=run, namespaces=namespaces, args=args)
    print(f"created in {creation:.1f}s ({args.pods / creation:.0f} pods/s)")

    metrics_port, health_port = free_port(), free_port()
    log = result_path("admission_throughput.operator.log")
    argv = [
        sys.executable,
        "-m",
        "ebbtide",
        "operator",
        f"--kubeconfig={info.kubeconfig}",
        "--controllers=queueing",
        "--metrics-host=127.0.0.1",
        f"--metrics-port={metrics_port}",
        f"--health-port={health_port}",
        "--webhook-host=127.0.0.1",
        f"--webhook-port={free_port()}",
    ]
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    with log.open("wb") as out:
        operator = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    started = time.time()
    try:
        synced_at = 0.0
        deadline = time.monotonic() + args.timeout
        admitted = 0.0
        usage_at_sync: dict[str, float] = {}
        while time.monotonic() < deadline:
            if operator.poll() is not None:
                raise RuntimeError(f"operator exited with {operator.returncode}; see {log}")
            try:
                values = scrape(metrics_url)
            except OSError:
                time.sleep(0.2)
                continue
            if not synced_at and values.get("ebbtide_fairqueue_view_synced_timestamp_seconds", 0):
                synced_at = values["ebbtide_fairqueue_view_synced_timestamp_seconds"]
                usage_at_sync = process_usage(operator.pid)
            admitted = values.get("sum:ebbtide_fairqueue_admissions_total", 0.0)
            if admitted >= args.pods:
                break
            time.sleep(0.2)
        usage_at_end = process_usage(operator.pid)
        values = scrape(metrics_url)
    finally:
        os.killpg(operator.pid, signal.SIGTERM)
        operator.wait(timeout=60)
    count, latest = last_admission(api, namespaces)
    seconds = latest - synced_at
    result = {
        "benchmark": "admission_throughput",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "pods": args.pods,
        "queues": args.queues,
        "namespaces": len(namespaces),
        "nodes": args.nodes,
        "pod_creation_seconds": round(creation, 2),
        "operator_start_to_view_synced_seconds": round(synced_at - started, 2),
        "view_synced_to_last_admission_seconds": round(seconds, 2),
        "admitted": count,
        "admitted_pods_per_second": round(count / seconds, 1) if seconds > 0 else None,
        "operator_cpu_seconds_total": round(usage_at_end["cpu_seconds"], 2),
        "operator_cpu_seconds_admitting": round(
            usage_at_end["cpu_seconds"] - usage_at_sync.get("cpu_seconds", 0), 2
        ),
        "operator_rss_mib": round(usage_at_end["rss_mib"], 1),
        "operator_peak_rss_mib": round(usage_at_end["peak_rss_mib"], 1),
        "cycles": values.get("ebbtide_fairqueue_cycle_seconds_count"),
        "cycle_seconds_sum": round(values.get("ebbtide_fairqueue_cycle_seconds_sum", 0.0), 2),
        "admission_conflicts": values.get("sum:ebbtide_fairqueue_admission_conflicts_total", 0.0),
        "write_errors": sum(
            v
            for k, v in values.items()
            if k.startswith("ebbtide_fairqueue_writes_total") and 'outcome="error"' in k
        ),
    }
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    if not args.keep:
        core = client.CoreV1Api(api)
        for namespace in namespaces:
            core.delete_namespace(namespace)
        custom = client.CustomObjectsApi(api)
        for index in range(args.queues):
            custom.delete_cluster_custom_object(
                API_GROUP, API_VERSION, FairQueue.PLURAL, f"fqb-{run}-{index:02d}"
            )
        client.AdmissionregistrationV1Api(api).delete_mutating_webhook_configuration(WEBHOOK_CONFIGURATION)
    api.close()
    if not args.keep:
        # A cluster holding 10,000 pods costs the machine a core; later measurements need it idle.
        stopped = dev.down()
        print(f"cluster {args.cluster!r} down ({len(stopped)} processes stopped)")


if __name__ == "__main__":
    main()
