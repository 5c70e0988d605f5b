"""The extender's pod watch: its CPU per event, and what it costs the scheduler's requests.

The extender keeps a cache of bound pods from a watch (ebbtide.kube.node_cache). While a scheduler
places pods, that watch delivers a steady stream: each pod's binding, its kubelet's status updates,
its graceful deletion. This benchmark serves such a stream from a local HTTP server (another
process, so its CPU is not counted) at a fixed rate, one chunk per event as the API server sends
them. The events are shaped as a KWOK-played pod's (metadata with managed fields, a projected
token volume, tolerations; running status with conditions and container statuses), about 4 KB
each, five per pod. Variants, measured in alternating order in every repeat:

- ``per event``: the watch thread reads each event as it arrives (batch interval 0), the baseline;
- ``batched``: the thread sleeps the extender's batch interval after a read that had to wait, then
  reads what arrived meanwhile in one go (``WATCH_BATCH_SECONDS``);
- ``no events`` (second part only): the watch is open but quiet, the floor.

First part, the watch alone: the same informer and cache the extender runs, in this process; per
rate, the CPU time per event (user and system, all threads) and the delay from the server writing
an event to the cache applying it (p50, p99, max).

Second part, the scheduler's view: the extender in its own process, wired as in production (its
node cache lists and watches nodes and pods from the stream server), answers sequential
``POST /prioritize`` calls naming all 1,000 nodes, paced as a scheduler placing ``--pods-per-second``
pods, while the stream runs at ``--events-per-second``. Prints the round trip (p50, p90, p99, mean)
and the extender process's CPU time per request.

Figures are medians over repeats; ratios are against the baseline in the same run. Writes
bench/results/extender_watch.json.

    .venv/bin/python bench/extender_watch.py [--rates 200,600,1000] [--seconds 8] [--repeats 3]
        [--pods-per-second 200] [--events-per-second 600]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from kubernetes import client

from ebbtide.api.resources import read_node
from ebbtide.commands.extender import REQUEST_SWITCH_INTERVAL
from ebbtide.demo.operator_process import free_port
from ebbtide.event_loop import new_event_loop
from ebbtide.extender.config import ExtenderConfig
from ebbtide.extender.config_reload import ConfigHolder
from ebbtide.extender.runtime import Extender
from ebbtide.kube.informer import Informer
from ebbtide.kube.node_cache import WATCH_BATCH_SECONDS, NodeCache
from ebbtide.metrics.node_load import LoadSample, NodeLoadReport
from ebbtide.scoring.kube_objects import pod_uid, read_bound_pod
from ebbtide.scoring.values import Utilisation
from percentiles import percentile
from process_usage import cpu_seconds
from result_files import result_path

RESULTS = result_path("extender_watch.json")
NODES = 1000
SENT_ANNOTATION = "bench.ebbtide.io/sent"
# A fixed-width stand-in for the send time, replaced as each event is written.
SENT_PLACEHOLDER = b"0000000000.000000"


def node_name(index: int) -> str:
    return f"kwok-node-{index}"


def pod_events(index: int) -> list[bytes]:
    """The five watch events of one pod's life on a node, serialised as the API server sends them."""
    name, uid = f"bench-{index}", f"00000000-0000-4000-8000-{index:012d}"
    applied = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "bench"}}
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": "bench",
        "uid": uid,
        "resourceVersion": str(1000 + index),
        "generation": 1,
        "creationTimestamp": "2026-12-04T22:43:28Z",
        "labels": {"app": "bench", "ebbtide.io/affinity-key": f"k{index % 20}"},
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied),
            SENT_ANNOTATION: SENT_PLACEHOLDER.decode(),
        },
        "managedFields": [_fields("kubectl-client-side-apply", spec=True)],
    }
    spec = {
        "volumes": [_token_volume(index)],
        "containers": [
            {
                "name": "app",
                "image": "registry.example/app:1",
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                "volumeMounts": [
                    {
                        "name": f"kube-api-access-{index}",
                        "readOnly": True,
                        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                    }
                ],
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent",
            }
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default",
        "serviceAccount": "default",
        "nodeName": node_name(index % NODES),
        "securityContext": {},
        "schedulerName": "ebbtide-scheduler",
        "tolerations": [
            {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"},
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
        ],
        "priority": 0,
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
    }
    pending = {"phase": "Pending", "conditions": [_condition("PodScheduled")], "qosClass": "Burstable"}
    running = {
        "phase": "Running",
        "conditions": [
            _condition(kind) for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ],
        "hostIP": "127.0.0.1",
        "podIP": f"10.244.{index // 250 % 250}.{index % 250 + 1}",
        "startTime": "2026-12-04T22:43:28Z",
        "containerStatuses": [
            {
                "name": "app",
                "state": {"running": {"startedAt": "2026-12-04T22:43:28Z"}},
                "ready": True,
                "restartCount": 0,
                "image": "registry.example/app:1",
                "imageID": "",
                "started": True,
            }
        ],
        "qosClass": "Burstable",
    }
    kubelet = {**metadata, "managedFields": [*metadata["managedFields"], _fields("kwok", spec=False)]}
    deleting = {**kubelet, "deletionTimestamp": "2026-12-04T22:44:00Z", "deletionGracePeriodSeconds": 30}
    stages = [
        ("ADDED", metadata, pending),
        ("MODIFIED", kubelet, running),
        ("MODIFIED", deleting, running),
        ("MODIFIED", {**deleting, "deletionGracePeriodSeconds": 0}, running),
        ("DELETED", {**deleting, "deletionGracePeriodSeconds": 0}, running),
    ]
    return [
        orjson.dumps(
            {
                "type": kind,
                "object": {
                    "kind": "Pod",
                    "apiVersion": "v1",
                    "metadata": meta,
                    "spec": spec,
                    "status": status,
                },
            }
        )
        + b"\n"
        for kind, meta, status in stages
    ]


def _fields(manager: str, *, spec: bool) -> dict[str, Any]:
    if spec:
        fields: dict[str, Any] = {
            "f:metadata": {"f:annotations": {".": {}}, "f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:containers": {
                    'k:{"name":"app"}': {".": {}, "f:image": {}, "f:name": {}, "f:resources": {}}
                },
                "f:dnsPolicy": {},
                "f:restartPolicy": {},
                "f:schedulerName": {},
                "f:tolerations": {},
            },
        }
    else:
        condition = {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}}
        kinds = ("ContainersReady", "Initialized", "PodReadyToStartContainers", "Ready")
        fields = {
            "f:status": {
                "f:conditions": {f'k:{{"type":"{kind}"}}': condition for kind in kinds},
                "f:containerStatuses": {},
                "f:hostIP": {},
                "f:phase": {},
                "f:podIP": {},
                "f:startTime": {},
            }
        }
    entry = {"manager": manager, "operation": "Update", "apiVersion": "v1", "time": "2026-12-04T22:43:28Z"}
    entry.update({"fieldsType": "FieldsV1", "fieldsV1": fields})
    if not spec:
        entry["subresource"] = "status"
    return entry


def _token_volume(index: int) -> dict[str, Any]:
    return {
        "name": f"kube-api-access-{index}",
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
            "defaultMode": 420,
        },
    }


def _condition(kind: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True",
        "lastProbeTime": None,
        "lastTransitionTime": "2026-12-04T22:43:28Z",
    }


# -- the stream server (a separate process) ---------------------------------------------------


def node_object(index: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": node_name(index),
            "labels": {"topology.kubernetes.io/zone": f"zone-{index % 3}", "kubernetes.io/os": "linux"},
        },
        "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "110"}},
    }


def stream(port: int, rate: float, count: int) -> None:
    """Serve nodes (a list, then a quiet watch) and pods (an empty list, then ``count`` events at
    ``rate`` per second, then a quiet watch)."""
    events = [line for index in range((count + 4) // 5) for line in pod_events(index)][:count]

    async def hold(response: web.StreamResponse) -> web.StreamResponse:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await asyncio.sleep(3600)
        return response

    async def watch(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        return response

    async def nodes(request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") != "true":
            items = [node_object(index) for index in range(NODES)]
            return web.json_response(
                {"kind": "NodeList", "metadata": {"resourceVersion": "1"}, "items": items}
            )
        return await hold(await watch(request))

    async def pods(request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") != "true":
            return web.json_response({"kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": []})
        response = await watch(request)
        loop = asyncio.get_running_loop()
        started = loop.time()
        for number, line in enumerate(events):
            delay = started + number / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await response.write(line.replace(SENT_PLACEHOLDER, f"{time.time():17.6f}".encode()))
        return await hold(response)

    app = web.Application()
    app.router.add_get("/api/v1/nodes", nodes)
    app.router.add_get("/api/v1/pods", pods)
    web.run_app(app, host="127.0.0.1", port=port, print=None, shutdown_timeout=1.0)


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


@contextlib.contextmanager
def process(*argv: str) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen([sys.executable, __file__, *argv], stdout=subprocess.PIPE, text=True)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:  # a watch held open may keep it waiting
            child.kill()
            child.wait(5)


@contextlib.contextmanager
def stream_server(rate: float, count: int) -> Iterator[int]:
    port = free_port()
    with process("--stream", str(port), str(rate), str(count)):
        wait_for_port(port)
        yield port


def api_for(port: int) -> client.CoreV1Api:
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    return client.CoreV1Api(client.ApiClient(configuration))


# -- first part: the watch alone, in this process ----------------------------------------------


def watch_alone(*, batch: float, rate: float, count: int) -> dict[str, Any]:
    """Stream ``count`` events at ``rate`` through an informer and a node cache; CPU and delays."""
    cache = NodeCache(watch_batch_seconds=batch)
    cache.replace_nodes([read_node(node_object(index)) for index in range(NODES)])
    cache.replace_pods([])
    delays: list[float] = []
    done = threading.Event()

    def on_event(event_type: str, obj: Any) -> None:
        cache.apply_pod(event_type, pod_uid(obj), read_bound_pod(obj))
        delays.append(time.time() - float(obj["metadata"]["annotations"][SENT_ANNOTATION]))
        if len(delays) >= count:
            done.set()

    with stream_server(rate, count) as port:
        informer = Informer(
            kind="pods",
            list_func=api_for(port).list_pod_for_all_namespaces,
            on_list=lambda items: None,
            on_event=on_event,
            batch_interval=batch,
        )
        started = time.process_time()
        informer.start()
        finished = done.wait(count / rate + 60)
        cpu = time.process_time() - started
        informer.stop()
    if not finished:
        raise SystemExit(f"only {len(delays)} of {count} events arrived")
    return {
        "cpu_us_per_event": round(1e6 * cpu / count, 1),
        "delay_ms": {
            "p50": round(1e3 * percentile(delays, 0.5), 2),
            "p99": round(1e3 * percentile(delays, 0.99), 2),
            "max": round(1e3 * max(delays), 2),
        },
    }


# -- second part: the extender's requests while the watch streams ------------------------------


class FixedLoad:
    """Load figures for every node, as Prometheus would give them."""

    def fetch(self) -> NodeLoadReport:
        now = time.time()
        samples = {
            node_name(index): LoadSample(
                utilisation=Utilisation(0.1 + 0.7 * (index * 7919 % 100) / 100), sampled_at=now
            )
            for index in range(NODES)
        }
        return NodeLoadReport(samples={"cpu": samples}, fetched_at=now)


def serve_extender(stream_port: int, batch: float) -> None:
    """The extender as production wires it, its cluster read from the stream server; prints its port."""
    sys.setswitchinterval(REQUEST_SWITCH_INTERVAL)  # as `ebbtide extender` runs
    cache = NodeCache(watch_batch_seconds=batch)
    cache.start(api_for(stream_port))
    load = FixedLoad()
    extender = Extender(
        config=ConfigHolder(initial=ExtenderConfig()), cluster=cache, load_source=lambda: load
    )

    async def run() -> None:
        runner = web.AppRunner(extender.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        while not cache.snapshot().synced:
            await asyncio.sleep(0.05)
        print(runner.addresses[0][1], flush=True)
        await asyncio.Event().wait()

    new_event_loop().run_until_complete(run())


def request_body(index: int) -> bytes:
    shift = index * 37 % NODES  # each cycle starts at another node, as the scheduler's filter does
    names = [node_name((shift + offset) % NODES) for offset in range(NODES)]
    metadata: dict[str, Any] = {"name": f"pending-{index}", "namespace": "bench", "uid": f"pending-{index}"}
    if index % 3 == 0:
        metadata["labels"] = {"ebbtide.io/affinity-key": f"k{index % 20}"}
    spec = {"containers": [{"name": "app", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}]}
    return orjson.dumps({"Pod": {"metadata": metadata, "spec": spec}, "NodeNames": names})


async def paced_requests(port: int, *, per_second: float, seconds: float) -> list[float]:
    """Sequential prioritize calls, one every 1/``per_second`` s (or at once if late); round trips in ms."""
    bodies = [request_body(index) for index in range(50)]
    url, headers = f"http://127.0.0.1:{port}/prioritize", {"Content-Type": "application/json"}
    timings: list[float] = []
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:
        started = loop.time()
        for index in range(int(per_second * seconds)):
            delay = started + index / per_second - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            async with session.post(url, data=bodies[index % len(bodies)], headers=headers) as response:
                answer = await response.read()
            if response.status != 200 or not answer.startswith(b"["):
                raise SystemExit(f"prioritize answered {response.status}: {answer[:200]!r}")
            timings.append(1e3 * (time.perf_counter() - sent))
    return timings


def requests_under_stream(*, batch: float, rate: float, per_second: float, seconds: float) -> dict[str, Any]:
    """Round trips of paced prioritize calls while the watch streams ``rate`` events per second."""
    count = int(rate * seconds) if rate > 0 else 0
    with (
        stream_server(max(rate, 1.0), count) as stream_port,
        process("--extender", str(stream_port), str(batch)) as extender,
    ):
        assert extender.stdout is not None
        port = int(extender.stdout.readline())
        asyncio.run(paced_requests(port, per_second=per_second, seconds=1.0))  # warm-up
        cpu_before = cpu_seconds(extender.pid)
        timings = asyncio.run(paced_requests(port, per_second=per_second, seconds=seconds))
        cpu = cpu_seconds(extender.pid) - cpu_before
    ordered = sorted(timings)
    return {
        "requests": len(timings),
        "round_trip_ms": {
            "p50": round(statistics.median(ordered), 3),
            "p90": round(percentile(ordered, 0.9), 3),
            "p99": round(percentile(ordered, 0.99), 3),
            "mean": round(statistics.fmean(ordered), 3),
        },
        "extender_cpu_ms_per_request": round(1e3 * cpu / len(timings), 3),
    }


# -- the run -----------------------------------------------------------------------------------


def alternating(variants: list[str], repeat: int) -> list[str]:
    shift = repeat % len(variants)
    return variants[shift:] + variants[:shift]


def first_part(args: argparse.Namespace) -> list[dict[str, Any]]:
    variants = {"per event": 0.0, "batched": WATCH_BATCH_SECONDS}
    results = []
    for rate in [float(text) for text in args.rates.split(",")]:
        count = int(rate * args.seconds)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        for repeat in range(args.repeats):
            for name in alternating(list(variants), repeat):
                runs[name].append(watch_alone(batch=variants[name], rate=rate, count=count))
        summary = {
            name: {
                "cpu_us_per_event": statistics.median(run["cpu_us_per_event"] for run in measured),
                "delay_ms_p50": statistics.median(run["delay_ms"]["p50"] for run in measured),
                "delay_ms_p99": statistics.median(run["delay_ms"]["p99"] for run in measured),
                "delay_ms_max": max(run["delay_ms"]["max"] for run in measured),
            }
            for name, measured in runs.items()
        }
        ratio = summary["batched"]["cpu_us_per_event"] / summary["per event"]["cpu_us_per_event"]
        results.append(
            {
                "rate": rate,
                "events": count,
                "summary": summary,
                "ratio_batched_to_per_event": round(ratio, 3),
                "runs": runs,
            }
        )
        print(f"\nthe watch alone: {rate:.0f} events/s, {count} events, median of {args.repeats}")
        print(f"  {'variant':<10} {'CPU us/event':>13} {'delay p50 ms':>13} {'p99 ms':>8} {'max ms':>8}")
        for name, row in summary.items():
            print(
                f"  {name:<10} {row['cpu_us_per_event']:>13.1f} {row['delay_ms_p50']:>13.2f}"
                f" {row['delay_ms_p99']:>8.2f} {row['delay_ms_max']:>8.2f}"
            )
        print(f"  CPU per event, batched / per event: {ratio:.3f}")
    return results


def second_part(args: argparse.Namespace) -> dict[str, Any]:
    variants = {
        "no events": (0.0, WATCH_BATCH_SECONDS),
        "per event": (args.events_per_second, 0.0),
        "batched": (args.events_per_second, WATCH_BATCH_SECONDS),
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for repeat in range(args.repeats):
        for name in alternating(list(variants), repeat):
            rate, batch = variants[name]
            measured = requests_under_stream(
                batch=batch, rate=rate, per_second=args.pods_per_second, seconds=args.seconds
            )
            runs[name].append(measured)
    summary = {
        name: {
            **{
                key: statistics.median(run["round_trip_ms"][key] for run in measured)
                for key in ("p50", "p90", "p99", "mean")
            },
            "extender_cpu_ms_per_request": statistics.median(
                run["extender_cpu_ms_per_request"] for run in measured
            ),
        }
        for name, measured in runs.items()
    }
    print(
        f"\nprioritize (1,000 names) at {args.pods_per_second:.0f}/s while the watch streams"
        f" {args.events_per_second:.0f} events/s, median of {args.repeats}"
    )
    print(
        f"  {'variant':<10} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'mean ms':>8} {'ext CPU ms/req':>15}"
    )
    for name, row in summary.items():
        print(
            f"  {name:<10} {row['p50']:>7.3f} {row['p90']:>7.3f} {row['p99']:>7.3f} {row['mean']:>8.3f}"
            f" {row['extender_cpu_ms_per_request']:>15.3f}"
        )
    floor = summary["no events"]
    ratios = {
        name: {
            "mean_round_trip": round(row["mean"] / floor["mean"], 3),
            "extender_cpu": round(
                row["extender_cpu_ms_per_request"] / floor["extender_cpu_ms_per_request"], 3
            ),
        }
        for name, row in summary.items()
        if name != "no events"
    }
    for name, ratio in ratios.items():
        print(
            f"  {name} / no events: mean round trip {ratio['mean_round_trip']:.3f},"
            f" extender CPU {ratio['extender_cpu']:.3f}"
        )
    return {"summary": summary, "ratios_to_no_events": ratios, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rates", default="200,600,1000", help="events per second (first part), comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pods-per-second", type=float, default=200.0, help="prioritize calls per second")
    parser.add_argument(
        "--events-per-second", type=float, default=600.0, help="watch events during the calls"
    )
    parser.add_argument("--stream", nargs=3, metavar=("PORT", "RATE", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--extender", nargs=2, metavar=("STREAM_PORT", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream:
        port, rate, count = args.stream
        stream(int(port), float(rate), int(count))
        return
    if args.extender:
        stream_port, batch = args.extender
        serve_extender(int(stream_port), float(batch))
        return
    load_start = os.getloadavg()
    watch = first_part(args)
    requests = second_part(args)
    payload = {
        "benchmark": "extender_watch",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "batch_seconds": WATCH_BATCH_SECONDS,
        "load_average": {"start": list(load_start), "end": list(os.getloadavg())},
        "watch_alone": watch,
        "requests_under_stream": requests,
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    load = os.getloadavg()
    print(f"\nmachine: {os.cpu_count()} CPUs, load average {load[0]:.2f} (other work skews the figures)")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
