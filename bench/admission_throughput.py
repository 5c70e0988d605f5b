"""Admission throughput of the FairQueue controller, as a ratio to the API server's raw-write ceiling.

A local cluster (``ebbtide dev``, KWOK nodes with room for every pod) gets 50 FairQueues in one
cohort and 10,000 gated pods spread over them and over 10 namespaces, created by parallel
threads *before* anything admits (with the scheduling gate already in their spec, as the
webhook would have set it; a webhook configuration left by an earlier run is deleted first, since
with no operator running it would refuse the pods). Two variants run one after the other, each on
a backlog of its own and, by default, each on a cluster of its own, started afresh:

* **ceiling**: the bench itself removes the gates of 10,000 pods of the same shape (but in no
  queue), nothing else: one JSON merge patch per pod with the official client, over as many
  concurrent connections as the operator writes admissions with
  (``EngineSettings.write_concurrency``). This is as fast as the API server takes gate removals
  here: the physical limit of admission.
* **ebbtide**: the real ``ebbtide operator --controllers queueing`` starts and admits its own
  backlog in fair order.

Measured: pods per second for each; for the ceiling, from the first patch sent to the last
answered; for ebbtide, from the moment the operator's view of the cluster was complete (its
``ebbtide_fairqueue_view_synced_timestamp_seconds``) to the last admission (the latest
``ebbtide.io/admitted-at``); ebbtide's figure as a ratio to the ceiling's (the machine's load
cancels out of it). Also the operator's CPU seconds and peak RSS, its cycle count and conflicts,
and the machine's load average during each variant; for each variant, the writes the API server
answered meanwhile by kind (from its audit log, :mod:`api_writes`), the Events the backlog got,
the CPU seconds of the control plane's processes, and for the ceiling the bench's own. From
those, the CPU milliseconds per admitted pod (control plane plus writer) and the ceiling's as a
ratio to ebbtide's: on a machine where CPU sets the pace this predicts the throughput ratio, and
it moves far less than the throughput when other work loads the machine unevenly during the two
variants (on a shared machine the throughput ratio can be off by a factor of two either way).
A variant that ran second on the same cluster met the first one's 10,000 pods on the nodes: KWOK
then spent four to five times the CPU per pod, the scheduler and the API server more too, and the
ratio moved by a factor of two with the order (0.41 with the ceiling first, 0.80 with ebbtide
first). So each variant gets a fresh cluster of the same size (deleting 10,000 pods instead would
keep the API server busy well into the next variant); ``--shared-cluster`` runs both on one. The
scheduler and KWOK bind and run the ungated pods meanwhile in both variants, as they would in a
cluster, so the API server is as busy as it would be. Prints the figures and writes
bench/results/admission_throughput.json.

    .venv/bin/python bench/admission_throughput.py [--pods 10000] [--queues 50] [--cluster fairqueue-bench]
        [--variants ceiling,ebbtide] [--shared-cluster]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from kubernetes import client, config

from api_writes import ControlPlaneCPU, audited_writes, events_by_reason
from ebbtide.api import API_GROUP, API_VERSION, FairQueue
from ebbtide.api.fairqueue_vocabulary import (
    ADMITTED_AT,
    FIELD_MANAGER,
    QUEUE_LABEL,
    SCHEDULING_GATE,
    WEBHOOK_CONFIGURATION,
)
from ebbtide.controllers.fairqueue.engine import EngineSettings
from ebbtide.demo.operator_process import free_port
from ebbtide.devcluster.cluster import DevCluster
from ebbtide.devcluster.nodes import uniform_nodes
from ebbtide.kube.answers import discard
from ebbtide.kube.retrying import REQUEST_TIMEOUT
from ebbtide.kube.status import MERGE_PATCH
from process_usage import LoadSampler, cpu_seconds, high_water_mark_bytes, rss_bytes
from result_files import result_path

REPO = Path(__file__).resolve().parents[1]
RESULTS = result_path("admission_throughput.json")
#: Seconds between scrapes of the operator's /metrics while it admits. Rendering it is not free (a
#: histogram per queue); scraped five times a second it took a third of the operator's CPU during
#: admission, every 2 s still a twentieth; Prometheus itself scrapes every 15-30 s. Neither end of
#: the measurement depends on it: both come from timestamps the operator records.
SCRAPE_INTERVAL = 5.0
#: Until the view is complete /metrics holds no per-queue series: it is read often, so that the
#: operator's CPU, the load and the control plane's CPU are taken as close to that moment as can be.
SYNC_SCRAPE_INTERVAL = 0.2


def pod_manifest(name: str, queue: str | None) -> dict[str, Any]:
    """A gated pod; in ``queue`` unless None."""
    return {
        "metadata": {"name": name, "labels": {QUEUE_LABEL: queue} if queue else {}},
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


def install(*, api: client.ApiClient, kubectl: Path, kubeconfig: Path) -> None:
    """The CRDs, and no webhook configuration left by an earlier run."""
    base = [str(kubectl), f"--kubeconfig={kubeconfig}"]
    subprocess.run(
        [*base, "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds")],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *base,
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


def make_namespaces(api: client.ApiClient, *, prefix: str, count: int) -> list[str]:
    """``count`` fresh namespaces, each with its default service account (pods need it)."""
    core = client.CoreV1Api(api)
    namespaces = [f"{prefix}-{index}" for index in range(count)]
    for namespace in namespaces:
        core.create_namespace({"metadata": {"name": namespace}})
    for namespace in namespaces:
        while True:
            try:
                core.read_namespaced_service_account("default", namespace)
                break
            except client.exceptions.ApiException:
                time.sleep(0.2)
    return namespaces


def make_queues(api: client.ApiClient, *, run: str, count: int) -> None:
    custom = client.CustomObjectsApi(api)
    for index in range(count):
        body = {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": "FairQueue",
            "metadata": {"name": f"fqb-{run}-{index:02d}"},
            "spec": {"weight": 1 + index % 4, "cohort": f"fqb-{run}"},
        }
        custom.create_cluster_custom_object(API_GROUP, API_VERSION, FairQueue.PLURAL, body)


def with_backoff(call: Callable[[], object]) -> None:
    """``call()``, tried again on the API server's "come back later" answers."""
    for attempt in range(5):
        try:
            call()
            return
        except client.exceptions.ApiException as error:
            if error.status not in (429, 500, 503, 504) or attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))


def create_pods(
    api: client.ApiClient, *, run: str, namespaces: list[str], queued: bool, args: argparse.Namespace
) -> tuple[float, list[tuple[str, str]]]:
    """Create a backlog in parallel (spread over the queues if ``queued``); the seconds it took,
    and each pod's (namespace, name)."""
    core = client.CoreV1Api(api)
    refs = [(namespaces[index % len(namespaces)], f"p-{index:05d}") for index in range(args.pods)]

    def create(index: int) -> None:
        namespace, name = refs[index]
        body = pod_manifest(name, f"fqb-{run}-{index % args.queues:02d}" if queued else None)
        with_backoff(lambda: core.create_namespaced_pod(namespace, body, _preload_content=False))

    started = time.monotonic()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(create, range(args.pods)))
    return time.monotonic() - started, refs


def writer_client(kubeconfig: Path) -> client.ApiClient:
    """A client set up as the operator's admission engine sets up its own: the same library,
    the same connection pool size."""
    settings = EngineSettings()
    api = config.new_client_from_config(config_file=str(kubeconfig))
    api.configuration.connection_pool_maxsize = settings.write_concurrency + settings.report_concurrency + 8
    return client.ApiClient(api.configuration)


def remove_gates(kubeconfig: Path, refs: list[tuple[str, str]]) -> float:
    """Remove the gate of every pod in ``refs``, ``write_concurrency`` patches at a time, as the
    operator's write pool sends them; the seconds from the first patch to the last answer."""
    api = writer_client(kubeconfig)
    core = client.CoreV1Api(api)
    body = {"spec": {"schedulingGates": None}}

    def ungate(ref: tuple[str, str]) -> None:
        namespace, name = ref

        def patch() -> None:
            answer = core.patch_namespaced_pod(
                name,
                namespace,
                body,
                field_manager=FIELD_MANAGER,
                _content_type=MERGE_PATCH,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
            discard(answer)  # read to the end: the connection goes back to the pool

        with_backoff(patch)

    started = time.monotonic()
    with ThreadPoolExecutor(EngineSettings().write_concurrency) as pool:
        list(pool.map(ungate, refs))
    seconds = time.monotonic() - started
    api.close()
    return seconds


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
    return {
        "cpu_seconds": cpu_seconds(pid),
        "rss_mib": rss_bytes(pid) / 2**20,
        "peak_rss_mib": high_water_mark_bytes(pid) / 2**20,
    }


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


def ceiling_variant(
    api: client.ApiClient, *, dev: DevCluster, run: str, args: argparse.Namespace
) -> dict[str, object]:
    """The raw-write ceiling: a backlog of its own, in no queue, every gate removed by the bench."""
    namespaces = make_namespaces(api, prefix=f"fqb-{run}-ceiling", count=args.namespaces)
    print(f"ceiling: creating {args.pods} gated pods ...")
    creation, refs = create_pods(api, run=run, namespaces=namespaces, queued=False, args=args)
    print(f"ceiling: created in {creation:.1f}s; removing their gates ...")
    control_plane = ControlPlaneCPU(dev)
    started, writer_cpu = time.time(), time.process_time()
    control_plane.start()
    with LoadSampler() as load:
        seconds = remove_gates(dev.layout.kubeconfig, refs)
    result = {
        "pods": len(refs),
        "connections": EngineSettings().write_concurrency,
        "pod_creation_seconds": round(creation, 2),
        "seconds": round(seconds, 2),
        "pods_per_second": round(len(refs) / seconds, 1),
        "load_average": load.summary(),
        "writer_cpu_seconds": round(time.process_time() - writer_cpu, 2),
        "control_plane_cpu_seconds": control_plane.stop(),
        "writes": audited_writes(
            dev.layout.audit_log, since=started, until=time.time(), namespaces=namespaces
        ),
    }
    result["cpu_ms_per_pod"] = cpu_ms_per_pod(result, writer="writer_cpu_seconds")
    print(f"ceiling: {result['pods_per_second']} pods/s")
    return result


def cpu_ms_per_pod(figures: dict[str, Any], *, writer: str) -> float | None:
    """CPU milliseconds per pod that the control plane and the writer (the bench's threads or the
    operator) spent while a variant admitted; None when nothing was admitted."""
    pods = float(figures.get("admitted", figures["pods"]))
    if not pods:
        return None
    control_plane = sum(float(v) for v in figures["control_plane_cpu_seconds"].values())
    return round((control_plane + float(figures[writer])) * 1000 / pods, 2)


def operator_argv(kubeconfig: Path, *, metrics_port: int, health_port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ebbtide",
        "operator",
        f"--kubeconfig={kubeconfig}",
        "--controllers=queueing",
        "--metrics-host=127.0.0.1",
        f"--metrics-port={metrics_port}",
        f"--health-port={health_port}",
        "--webhook-host=127.0.0.1",
        f"--webhook-port={free_port()}",
    ]


def ebbtide_variant(
    api: client.ApiClient, *, dev: DevCluster, run: str, args: argparse.Namespace
) -> dict[str, object]:
    """ebbtide's throughput: a backlog of its own, admitted by the real operator."""
    namespaces = make_namespaces(api, prefix=f"fqb-{run}", count=args.namespaces)
    print(f"ebbtide: creating {args.pods} gated pods over {args.queues} queues ...")
    creation, _ = create_pods(api, run=run, namespaces=namespaces, queued=True, args=args)
    print(f"ebbtide: created in {creation:.1f}s ({args.pods / creation:.0f} pods/s); starting the operator")
    metrics_port, health_port = free_port(), free_port()
    log = result_path("admission_throughput.operator.log")
    kubeconfig = dev.layout.kubeconfig
    argv = operator_argv(kubeconfig, metrics_port=metrics_port, health_port=health_port)
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    with log.open("wb") as out:
        operator = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    started = time.time()
    load = LoadSampler()
    control_plane = ControlPlaneCPU(dev)
    try:
        synced_at = 0.0
        deadline = time.monotonic() + args.timeout
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
                load.start()
                control_plane.start()
            if values.get("sum:ebbtide_fairqueue_admissions_total", 0.0) >= args.pods:
                break
            time.sleep(SCRAPE_INTERVAL if synced_at else SYNC_SCRAPE_INTERVAL)
        load.stop()
        control_plane.stop()
        ended = time.time()
        usage_at_end = process_usage(operator.pid)
        values = scrape(metrics_url)
    finally:
        os.killpg(operator.pid, signal.SIGTERM)
        operator.wait(timeout=60)
    count, latest = last_admission(api, namespaces)
    seconds = latest - synced_at
    result = {
        "pods": args.pods,
        "queues": args.queues,
        "namespaces": len(namespaces),
        "pod_creation_seconds": round(creation, 2),
        "operator_start_to_view_synced_seconds": round(synced_at - started, 2),
        "seconds": round(seconds, 2),
        "admitted": count,
        "pods_per_second": round(count / seconds, 1) if seconds > 0 else None,
        "load_average": load.summary() if load.samples else None,
        "operator_cpu_seconds_total": round(usage_at_end["cpu_seconds"], 2),
        "operator_cpu_seconds_admitting": round(
            usage_at_end["cpu_seconds"] - usage_at_sync.get("cpu_seconds", 0), 2
        ),
        "operator_rss_mib": round(usage_at_end["rss_mib"], 1),
        "operator_peak_rss_mib": round(usage_at_end["peak_rss_mib"], 1),
        "cycles": values.get("ebbtide_fairqueue_cycle_seconds_count"),
        "cycle_seconds_sum": round(values.get("ebbtide_fairqueue_cycle_seconds_sum", 0.0), 2),
        "admission_conflicts": values.get("sum:ebbtide_fairqueue_admission_conflicts_total", 0.0),
        "control_plane_cpu_seconds": control_plane.seconds,
        # Audited writes to the backlog's namespaces and to cluster-scoped objects (FairQueues)
        # while admitting, and every Event the backlog got.
        "writes": audited_writes(dev.layout.audit_log, since=synced_at, until=ended, namespaces=namespaces),
        "events": events_by_reason(api, namespaces),
        "write_errors": sum(
            v
            for k, v in values.items()
            if k.startswith("ebbtide_fairqueue_writes_total") and 'outcome="error"' in k
        ),
    }
    result["cpu_ms_per_pod"] = cpu_ms_per_pod(result, writer="operator_cpu_seconds_admitting")
    print(f"ebbtide: {result['pods_per_second']} pods/s")
    return result


_RUN = time.strftime("%H%M%S")


def _cluster_for(dev: DevCluster, *, args: argparse.Namespace, backlogs: int) -> client.ApiClient:
    """The cluster (started if needed) with ebbtide's CRDs and the queues, nodes with room for
    ``backlogs`` backlogs (every ungated pod gets bound), and a client of it."""
    slots = (backlogs + 1) * -(-args.pods // args.nodes) + 50
    cpu, memory = 64 * (backlogs + 1), 256 * (backlogs + 1)
    info = dev.up(
        nodes=uniform_nodes(count=args.nodes, cpu=str(cpu), memory=f"{memory}Gi", pods=slots), progress=print
    )
    configuration = config.new_client_from_config(config_file=str(info.kubeconfig)).configuration
    configuration.connection_pool_maxsize = args.threads + 4
    api = client.ApiClient(configuration)
    install(api=api, kubectl=info.bin_dir / "kubectl", kubeconfig=info.kubeconfig)
    make_queues(api, run=_RUN, count=args.queues)
    return api


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
        "--variants", default="ceiling,ebbtide", help="which variants to run, in this order (comma-separated)"
    )
    parser.add_argument(
        "--shared-cluster",
        dest="fresh",
        action="store_false",
        help="run every variant on the same cluster (the later one meets the earlier one's pods)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the cluster, with the backlogs and queues")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    variants = [name.strip() for name in args.variants.split(",") if name.strip()]

    dev = DevCluster(args.cluster)
    runners = {"ceiling": ceiling_variant, "ebbtide": ebbtide_variant}
    figures: dict[str, dict[str, object]] = {}
    api: client.ApiClient | None = None
    for position, name in enumerate(variants):
        if position > 0 and args.fresh and api is not None:
            api.close()
            stopped = dev.down()
            print(f"cluster {args.cluster!r} down ({len(stopped)} processes stopped): a fresh one follows")
        if api is None or args.fresh:
            api = _cluster_for(dev, args=args, backlogs=1 if args.fresh else len(variants))
        figures[name] = runners[name](api, dev=dev, run=_RUN, args=args)
    assert api is not None
    ceiling, ebbtide = figures.get("ceiling", {}), figures.get("ebbtide", {})
    ratio = None
    if ceiling.get("pods_per_second") and ebbtide.get("pods_per_second"):
        ratio = round(float(str(ebbtide["pods_per_second"])) / float(str(ceiling["pods_per_second"])), 3)
    cpu_ratio = None
    if ceiling.get("cpu_ms_per_pod") and ebbtide.get("cpu_ms_per_pod"):
        cpu_ratio = round(float(str(ceiling["cpu_ms_per_pod"])) / float(str(ebbtide["cpu_ms_per_pod"])), 3)
    result = {
        "benchmark": "admission_throughput",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "pods": args.pods,
        "queues": args.queues,
        "nodes": args.nodes,
        "ratio_to_ceiling": ratio,
        "cpu_ratio_to_ceiling": cpu_ratio,
        **figures,
    }
    print(json.dumps(result, indent=2))
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"ceiling {ceiling.get('pods_per_second')} pods/s, ebbtide {ebbtide.get('pods_per_second')} pods/s: "
        f"ratio {ratio}; CPU per pod (control plane and writer): ceiling {ceiling.get('cpu_ms_per_pod')} ms, "
        f"ebbtide {ebbtide.get('cpu_ms_per_pod')} ms: ratio {cpu_ratio}"
    )
    api.close()
    if not args.keep:
        # A cluster holding 10,000 pods costs the machine a core; later measurements need it idle.
        stopped = dev.down()
        print(f"cluster {args.cluster!r} down ({len(stopped)} processes stopped)")


if __name__ == "__main__":
    main()
