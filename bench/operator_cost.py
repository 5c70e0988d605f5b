"""What the operator costs with 500 ScalingPolicies at a 15-second interval: one process, and
R replicas sharing the policies, as ratios to the one.

The operator runs as its own processes (``ebbtide operator --controllers scaling``) against a
running local cluster (``ebbtide dev up``), limited to one namespace holding N Deployments and N
ScalingPolicies, one policy per Deployment. Each policy's load is its own series of a metric this
script serves (a slow sine wave per policy, out of phase with the others, so replicas move between
1 and 3 and the operator really scales); the cluster's Prometheus scrapes it every 2 s.

One run measures several configurations one after the other, on the same cluster, policies and
load, each with fresh processes and a measured window of the same length: for each prediction
model (``--model Linear,Auto``), the single replica first (the baseline), then R replicas
(``--replicas 1,3``). The replicas run as the chart runs them: each named by ``$POD_NAME``
(unique to its configuration, so that ``status.owner`` tells the configurations apart) and
holding a membership Lease in ``$POD_NAMESPACE``, here the bench's own namespace, so that the
hash ring holds this configuration's replicas and nobody else's. They use the admin kubeconfig:
the chart's narrower rights change what the operator may do, not what it costs. Between
configurations every replica stops (SIGTERM releases its Lease) and, when the model changes,
every policy's ``spec.prediction.model`` is patched.

A configuration's warm-up lasts until every policy names one of its replicas in ``status.owner``
(every policy has had a round under it; a new owner's first round reads the whole history window
from Prometheus), and ``--warmup`` seconds more: by default until every policy's forecast is
calibrated on errors of its own (about 6 minutes at 15 s), so that the window measures the
steady state, not the first minutes after a start, when a replay of each model stands in. Then
each replica's CPU time (user + system, from /proc, so not inflated when the machine is busy) and
RSS are sampled over the measured window, its own /metrics give the decisions it made and how
late its rounds started, and the machine's load average is sampled every second.

Prints each replica's share of the policies, and its CPU and RSS and the replicas' total as
ratios to the single replica's (ideally 1/R each and 1x in total: what the total uses beyond the
single replica is what sharding costs), then a summary table. Writes
bench/results/operator_cost.json, one record per (model, replicas), after every configuration.

Pods: N Deployments at up to 3 replicas need up to 3N pod slots. A missing cluster is started
with 3 nodes of room (and taken down at the end unless ``--keep-cluster``); a running one is used
as it is, e.g. one started with ``ebbtide dev up --name bench --node-pods 1000``. The defaults
measure the issue's figure (500 policies at 15 s, Linear and the default Auto, one process and
three) in about 50 minutes:

    .venv/bin/python bench/operator_cost.py [--cluster bench-cost] [--policies 500] [--minutes 5]
        [--model Linear,Auto] [--replicas 1,3]

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
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from kubernetes import client, config
from kubernetes.utils import parse_quantity
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ebbtide.api import API_GROUP, API_VERSION, ScalingPolicy
from ebbtide.api.duration import parse_duration
from ebbtide.api.scalingpolicy import PredictionModelName
from ebbtide.demo.operator_process import free_port
from ebbtide.devcluster.cluster import ClusterInfo, DevCluster
from ebbtide.devcluster.configs import write_scrape_targets
from ebbtide.devcluster.nodes import uniform_nodes
from ebbtide.devcluster.probes import HttpProbe
from ebbtide.sharding.ownership import DEFAULT_SHARD_TIMING
from operator_cost_figures import (
    Exposition,
    calibrated_after,
    owner_of,
    print_configuration,
    print_summary,
    ratios_to_single,
    replica_figures,
    shares,
    totals,
)
from process_usage import LoadSampler, cpu_seconds, high_water_mark_bytes, rss_bytes
from result_files import result_path
from scaling_operator import scaling_operator_argv

REPO = Path(__file__).resolve().parents[1]
METRIC = "ebbtide_bench_load"
TARGET_PER_REPLICA = 10.0
HORIZON = 60.0  # every policy's prediction.horizon, seconds
LOAD_PERIOD_SECONDS = 600.0  # one sine period; each policy is out of phase with the others
MODELS: tuple[str, ...] = get_args(PredictionModelName)
#: Seconds an operator may take to answer its health probe once started.
START_TIMEOUT = 120.0
#: Seconds a stopping operator may take (it ends its rounds and releases its Lease) before SIGKILL.
STOP_TIMEOUT = 60.0


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


@dataclass(frozen=True)
class Replica:
    """One running ``ebbtide operator`` of the configuration being measured."""

    #: Its ``$POD_NAME``: the ``status.owner`` of the policies it decides.
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    health_url: str
    metrics_url: str


@dataclass(frozen=True)
class Reading:
    """Where one replica's counters stood at one moment."""

    at: float  # time.monotonic()
    cpu_seconds: float
    metrics: Exposition


@dataclass(frozen=True)
class Bed:
    """What every configuration runs against: the cluster, an admin client, the bench's
    namespace (its Deployments and policies, and the replicas' Leases) and the options."""

    info: ClusterInfo
    api: client.ApiClient
    namespace: str
    args: argparse.Namespace

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def policies(self) -> list[dict[str, Any]]:
        """Every policy, as listed now."""
        listed = self.custom.list_namespaced_custom_object(
            API_GROUP, API_VERSION, self.namespace, ScalingPolicy.PLURAL
        )
        return list(listed["items"])


def replica_counts(text: str) -> list[int]:
    """``"1,3"`` -> [1, 3]: ascending, without repeats, and always with 1 (the baseline)."""
    try:
        counts = {int(part) for part in text.split(",") if part.strip()}
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of counts: {text!r}") from error
    if any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"a replica count is at least 1: {text!r}")
    return sorted(counts | {1})


def models(text: str) -> list[str]:
    """``"Linear,Auto"`` -> ["Linear", "Auto"]: each a ``prediction.model``, in the order given."""
    names = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"models are some of {', '.join(MODELS)}: {text!r}")
    return names


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
    parser.add_argument(
        "--model",
        type=models,
        default=["Linear", "Auto"],
        help="prediction.model of every policy; a comma-separated list measures each in turn",
    )
    parser.add_argument(
        "--replicas",
        type=replica_counts,
        default=[1, 3],
        help="replica counts to measure, comma-separated (the single replica, the baseline, always first)",
    )
    parser.add_argument("--history", default="30m")
    parser.add_argument(
        "--warmup",
        type=float,
        help="seconds before measuring, once every policy has been decided by the replicas measured "
        "(default: until every policy's forecast is calibrated on its own errors, see below)",
    )
    parser.add_argument("--minutes", type=float, default=5.0, help="length of each measured window")
    parser.add_argument("--output", type=Path, help="the JSON (default bench/results/operator_cost.json)")
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = calibrated_after(interval=_seconds(args.interval), horizon=HORIZON)

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
    _install_crds(info)
    _check_capacity(api, pods_needed=3 * args.policies)
    output: Path = args.output or result_path("operator_cost.json")
    bed = Bed(info=info, api=api, namespace=f"bench-cost-{uuid.uuid4().hex[:6]}", args=args)
    client.CoreV1Api(api).create_namespace({"metadata": {"name": bed.namespace}})
    try:
        with _serving_loads(dev, count=args.policies, job=bed.namespace):
            started = time.monotonic()
            _create_objects(bed, model=args.model[0])
            took = time.monotonic() - started
            print(f"created {args.policies} Deployments and ScalingPolicies in {took:.0f}s")
            records: list[dict[str, Any]] = []
            for model in args.model:
                if model != args.model[0]:
                    _set_model(bed, model=model)
                for record in _measure_model(bed, model=model):
                    records.append(record)
                    _write(output, records, args=args)  # kept, should a later configuration fail
            print_summary(records)
            print(f"wrote {output}")
    finally:
        _clean_up(bed)


def _measure_model(bed: Bed, *, model: str) -> Iterator[dict[str, Any]]:
    """The record of each replica count with ``model``, as soon as it is measured: the single
    replica's first, then the others', each with its ratios to the single replica's."""
    single: dict[str, Any] | None = None
    for count in bed.args.replicas:  # ascending: 1 first
        record = _measure_configuration(bed, model=model, count=count)
        single = single or record
        record["vs_single"] = ratios_to_single(record, single)
        print_configuration(record)
        yield record


def _install_crds(info: ClusterInfo) -> None:
    kubectl = [str(info.bin_dir / "kubectl"), f"--kubeconfig={info.kubeconfig}"]
    crds = sorted((REPO / "crds").glob("*.yaml"))
    _run([*kubectl, "apply", "--server-side", "--force-conflicts", *(f"-f={path}" for path in crds)])
    _run(
        [*kubectl, "wait", "--for=condition=Established", "--timeout=60s", f"crd/{ScalingPolicy.crd_name()}"]
    )


@contextlib.contextmanager
def _serving_loads(dev: DevCluster, *, count: int, job: str) -> Iterator[None]:
    """Serve every policy's load (:class:`SineLoads`) for the cluster's Prometheus to scrape as
    ``job`` until the block ends."""
    registry = CollectorRegistry()
    registry.register(SineLoads(count))
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    write_scrape_targets(dev.layout, job=job, targets=[f"127.0.0.1:{port}"])
    try:
        yield
    finally:
        write_scrape_targets(dev.layout, job=job, targets=[])
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _create_objects(bed: Bed, *, model: str) -> None:
    """A Deployment at one replica and a policy scaling it, with ``model``, per policy."""
    apps, custom, namespace, args = client.AppsV1Api(bed.api), bed.custom, bed.namespace, bed.args

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
                        "query": f'sum({METRIC}{{job="{namespace}",policy="{name}"}})',
                        "targetPerReplica": TARGET_PER_REPLICA,
                    },
                    "interval": args.interval,
                    "cooldown": {"scaleUp": "0s", "scaleDown": "1m"},
                    "prediction": {
                        "model": model,
                        "horizon": f"{HORIZON:g}s",
                        "history": args.history,
                        "seasonality": None,
                    },
                },
            },
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(args.policies)))


def _set_model(bed: Bed, *, model: str) -> None:
    """Set every policy's ``spec.prediction.model`` (between configurations: no operator runs)."""
    body = {"spec": {"prediction": {"model": model}}}

    def patch(i: int) -> None:
        bed.custom.patch_namespaced_custom_object(
            API_GROUP, API_VERSION, bed.namespace, ScalingPolicy.PLURAL, f"p-{i}", body
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(patch, range(bed.args.policies)))
    print(f"every policy's prediction.model set to {model}")


def _measure_configuration(bed: Bed, *, model: str, count: int) -> dict[str, Any]:
    """One record: ``count`` fresh replicas over every policy, warmed up, then measured over the
    window; stopped at the end, whatever happens."""
    tags = [f"{model.lower()}-r{count}-{index}" for index in range(count)]
    print(f"\n{model}, {count} replica(s): starting")
    replicas: list[Replica] = []
    try:
        # All started before any is waited for, so that they join the ring together.
        for tag in tags:
            log = result_path(f"operator_cost-{tag}.log")
            replicas.append(_launch(bed, name=f"{bed.namespace}-{tag}", log=log))
        for replica in replicas:
            _wait_healthy(replica)
        names = [replica.name for replica in replicas]
        not_owned = _wait_until_owned(bed, owners=set(names))
        print(f"  warming up for {bed.args.warmup:.0f}s")
        time.sleep(bed.args.warmup)
        started_at = datetime.now(UTC)
        figures, load = _measure_window(replicas, seconds=bed.args.minutes * 60)
        owned = shares(bed.policies(), owners=names)
    finally:
        _stop(replicas)
    per_replica = [
        {"name": replica.name, "log": str(replica.log), **owned[replica.name], **figure}
        for replica, figure in zip(replicas, figures, strict=True)
    ]
    return {
        "model": model,
        "replicas": count,
        "started_at": started_at.isoformat(timespec="seconds"),
        "measured_seconds": per_replica[0]["measured_seconds"],
        "load_average": load,
        "policies_not_decided_by_these_replicas_at_warm_up": not_owned,
        "per_replica": per_replica,
        "total": totals(per_replica),
    }


def _launch(bed: Bed, *, name: str, log: Path) -> Replica:
    """Start one replica as the chart's Deployment runs it: its name in ``$POD_NAME``, the
    namespace of its membership Lease in ``$POD_NAMESPACE`` (here the bench's namespace, the
    only one it watches too)."""
    info, namespace = bed.info, bed.namespace
    health, metrics = free_port(), free_port()
    argv = scaling_operator_argv(info, namespace=namespace, metrics_port=metrics, health_port=health)
    env = {**os.environ, "POD_NAME": name, "POD_NAMESPACE": namespace}
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    return Replica(
        name=name,
        process=process,
        log=log,
        health_url=f"http://127.0.0.1:{health}/healthz",
        metrics_url=f"http://127.0.0.1:{metrics}/metrics",
    )


def _wait_healthy(replica: Replica) -> None:
    """Wait until the replica answers its health probe; raises if it exits or takes too long."""
    healthy = HttpProbe(replica.health_url)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            raise RuntimeError(f"{replica.name} exited with {replica.process.returncode}; see {replica.log}")
        if healthy():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{replica.name} not healthy after {START_TIMEOUT:.0f}s; see {replica.log}")


def _wait_until_owned(bed: Bed, *, owners: set[str]) -> int:
    """Wait until every policy names one of ``owners`` in ``status.owner`` (each has had a round
    under them); returns how many did not when the wait gave up (0 unless something is wrong).

    The wait allows for a Lease left by a replica that had to be killed (it counts until it
    expires), the newcomers' settle period, a new owner's first round one interval after the
    last decision, and first rounds that read the whole history.
    """
    args = bed.args
    timing, interval = DEFAULT_SHARD_TIMING, _seconds(args.interval)
    timeout = timing.lease_duration + timing.settle + 3 * interval + 60 + args.policies / 5
    # A list of every policy is large; every few seconds is often enough to see the last one come.
    poll = max(5.0, args.policies / 100)
    started = time.monotonic()
    while True:
        left = sum(1 for item in bed.policies() if owner_of(item) not in owners)
        waited = time.monotonic() - started
        if not left:
            print(f"  every policy decided by these replicas after {waited:.0f}s")
            return 0
        if waited > timeout:
            print(
                f"  note: {left} policies not decided by these replicas after {waited:.0f}s; measuring anyway"
            )
            return left
        time.sleep(poll)


def _measure_window(
    replicas: list[Replica], *, seconds: float
) -> tuple[list[dict[str, Any]], dict[str, object]]:
    """Each replica's figures over one window of ``seconds`` (all sampled over the same window),
    and the machine's load average during it."""
    for replica in replicas:
        if replica.process.poll() is not None:
            raise RuntimeError(f"{replica.name} exited with {replica.process.returncode}; see {replica.log}")
    before = [_read(replica) for replica in replicas]
    rss: list[list[int]] = [[] for _ in replicas]
    with LoadSampler() as load:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for samples, replica in zip(rss, replicas, strict=True):
                samples.append(rss_bytes(replica.process.pid))
            time.sleep(1.0)
    after = [_read(replica) for replica in replicas]
    figures = [
        replica_figures(
            cpu_before=first.cpu_seconds,
            cpu_after=last.cpu_seconds,
            seconds=last.at - first.at,
            metrics_before=first.metrics,
            metrics_after=last.metrics,
            rss_samples=samples,
            rss_high_water_mark=high_water_mark_bytes(replica.process.pid),
        )
        for replica, first, last, samples in zip(replicas, before, after, rss, strict=True)
    ]
    return figures, load.summary()


def _read(replica: Replica) -> Reading:
    """The replica's CPU time and /metrics now (the two as close together as they can be)."""
    with urllib.request.urlopen(replica.metrics_url, timeout=10) as response:
        text = response.read().decode()
    return Reading(
        at=time.monotonic(), cpu_seconds=cpu_seconds(replica.process.pid), metrics=Exposition(text)
    )


def _stop(replicas: list[Replica]) -> None:
    """SIGTERM every replica at once (each ends its rounds, leaves the ring and releases its
    Lease), then SIGKILL whichever still runs after :data:`STOP_TIMEOUT`."""
    for replica in replicas:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(replica.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for replica in replicas:
        try:
            replica.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"  note: {replica.name} still ran {STOP_TIMEOUT:.0f}s after SIGTERM; killed")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(replica.process.pid, signal.SIGKILL)
            replica.process.wait(timeout=10)


def _write(output: Path, records: list[dict[str, Any]], *, args: argparse.Namespace) -> None:
    result = {
        "policies": args.policies,
        "interval": args.interval,
        "history": args.history,
        "warmup_seconds": args.warmup,
        "targets": f"{args.policies} Deployments, one policy each (pause pods on KWOK nodes)",
        "expected_decisions_per_second": round(args.policies / _seconds(args.interval), 2),
        "baseline": "the single replica of the same model, measured first in the same run",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "records": records,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")


def _clean_up(bed: Bed) -> None:
    """Delete the namespace and everything in it (nothing holds a policy: the operator puts no
    finalizer on it)."""
    client.CoreV1Api(bed.api).delete_namespace(bed.namespace)


def _check_capacity(api: client.ApiClient, *, pods_needed: int) -> None:
    nodes = client.CoreV1Api(api).list_node().items
    capacity = sum(int(parse_quantity(node.status.allocatable.get("pods", "0"))) for node in nodes)
    if capacity < pods_needed:
        print(
            f"note: the nodes hold {capacity} pods and up to {pods_needed} may be asked for; the rest "
            "stay Pending (the operator's cost does not depend on it)"
        )


def _seconds(duration: str) -> float:
    return parse_duration(duration).total_seconds()


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


if __name__ == "__main__":
    main()
