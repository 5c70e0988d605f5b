"""Prioritize latency of the extender over real HTTP on loopback, as the scheduler sees it.

The extender runs in its own process (as beside a real scheduler), fed a synthetic cluster (nodes with
zone and pool labels, bound pods, load figures for every node); a client issues sequential
``POST /prioritize`` requests in names-only mode, as the scheduler's serial scheduling cycle does,
for 100, 1,000 and 5,000 candidate nodes. Pods vary: some carry an affinity key, some preferred
node-affinity terms. Candidate lists come rotated from one request to the next (as the scheduler's
filter starts each cycle at a different node) or freshly shuffled (the worst case for the
extender's name memo).

Prints, per size and pattern, the client-observed round trip (p50/p90/p99/max), the extender
process's CPU time per request (read from /proc, so not inflated when the machine is busy), and the
in-process decode+score time without HTTP; writes bench/results/extender_latency.json.

    .venv/bin/python bench/extender_latency.py [--requests 2000] [--sizes 100,1000,5000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
from aiohttp import web

from ebbtide.api.resources import NodeFacts, NodeName, Resources
from ebbtide.event_loop import new_event_loop
from ebbtide.extender.config import ExtenderConfig
from ebbtide.extender.config_reload import ConfigHolder
from ebbtide.extender.load_board import LoadBoard
from ebbtide.extender.protocol import decode_args
from ebbtide.extender.runtime import Extender
from ebbtide.extender.service import ExtenderService
from ebbtide.extender.telemetry import Telemetry
from ebbtide.kube.node_cache import NodeCache
from ebbtide.metrics.node_load import LoadSample, NodeLoadReport
from ebbtide.scoring.values import BoundPod, Utilisation
from percentiles import percentile
from process_usage import cpu_seconds
from result_files import result_path

RESULTS = result_path("extender_latency.json")
TARGET_P99_MS = 5.0
WARM_UP = 50
GI = 1024**3


class _FixedLoad:
    def __init__(self, report: NodeLoadReport) -> None:
        self.report = report

    def fetch(self) -> NodeLoadReport:
        return NodeLoadReport(samples=self.report.samples, fetched_at=time.time())


def synthetic_cluster(size: int, *, seed: int) -> tuple[NodeCache, NodeLoadReport, list[str]]:
    rng = random.Random(seed)
    names = [f"node-{index:05d}" for index in range(size)]
    nodes = [
        NodeFacts(
            name=NodeName(name),
            allocatable=Resources(cpu_millis=16000, memory_bytes=64 * GI),
            labels={
                "kubernetes.io/hostname": name,
                "topology.kubernetes.io/zone": f"zone-{index % 3}",
                "ebbtide.io/pool": rng.choice(["a", "b", "c", "d"]),
                "node.kubernetes.io/instance-type": rng.choice(["m5.large", "m5.xlarge"]),
                "ebbtide.io/generation": str(rng.randint(1, 9)),
            },
        )
        for index, name in enumerate(names)
    ]
    cache = NodeCache()
    cache.replace_nodes(nodes)
    cache.replace_pods(
        BoundPod(
            uid=f"bound-{index}",
            node=NodeName(rng.choice(names)),
            requests=Resources(
                cpu_millis=rng.choice([100, 250, 500, 1000]),
                memory_bytes=rng.choice([128, 256, 512, 1024]) * 1024**2,
            ),
        )
        for index in range(size * 10)
    )
    now = time.time()
    report = NodeLoadReport(
        samples={
            "cpu": {
                name: LoadSample(utilisation=Utilisation(rng.uniform(0.05, 0.8)), sampled_at=now)
                for name in names
            }
        },
        fetched_at=now,
    )
    return cache, report, names


def pod(index: int) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": f"bench-{index}", "namespace": "bench", "uid": f"u-{index}"}
    spec: dict[str, Any] = {
        "containers": [{"name": "app", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}]
    }
    if index % 3 == 0:
        metadata["labels"] = {"ebbtide.io/affinity-key": f"tenant-{index % 50}"}
    if index % 4 == 0:
        spec["affinity"] = {
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 50,
                        "preference": {
                            "matchExpressions": [
                                {"key": "ebbtide.io/pool", "operator": "In", "values": ["a", "b"]}
                            ]
                        },
                    },
                    {
                        "weight": 20,
                        "preference": {
                            "matchExpressions": [
                                {"key": "ebbtide.io/generation", "operator": "Gt", "values": ["5"]}
                            ]
                        },
                    },
                ]
            }
        }
    return {"metadata": metadata, "spec": spec}


def serve(size: int) -> None:
    """Run the extender for a synthetic cluster of ``size`` nodes; print the port, serve forever."""
    cache, report, _ = synthetic_cluster(size, seed=size)
    extender = Extender(
        config=ConfigHolder(initial=ExtenderConfig()),
        cluster=cache,
        load_source=lambda: _FixedLoad(report),
    )

    async def run() -> None:
        runner = web.AppRunner(extender.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.Event().wait()

    # The extender's own loop (uvloop where installed), as `ebbtide extender` runs it.
    new_event_loop().run_until_complete(run())


@contextlib.contextmanager
def server_process(size: int) -> Iterator[tuple[int, int]]:
    """The extender in its own process (as beside a real scheduler); yields its pid and port."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(size)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        time.sleep(1.0)  # the first load refresh and the garbage-collector freeze
        yield process.pid, port
    finally:
        process.terminate()
        process.wait(10)


def request_bodies(names: list[str], pattern: str, count: int = 50) -> list[bytes]:
    """Prioritize bodies naming every node, in the order ``pattern`` says.

    ``rotated``: each cycle starts at a different node, as the scheduler's filter does (the
    extender's name memo hits). ``shuffled``: a fresh order every time (the memo misses).
    """
    rng = random.Random(len(names))
    bodies = []
    for index in range(count):
        if pattern == "rotated":
            shift = (index * 37) % len(names)
            order = names[shift:] + names[:shift]
        else:
            order = rng.sample(names, len(names))
        bodies.append(json.dumps({"Pod": pod(index), "Nodes": None, "NodeNames": order}).encode())
    return bodies


def in_process(size: int, bodies: list[bytes], requests: int) -> list[float]:
    """Decode + service time of prioritize without HTTP, for the breakdown."""
    cache, report, _ = synthetic_cluster(size, seed=size)
    board = LoadBoard()
    board.publish(_FixedLoad(report).fetch())
    service = ExtenderService(
        cluster=cache,
        loads=board,
        settings=ConfigHolder(initial=ExtenderConfig()).scoring,
        telemetry=Telemetry(),
    )
    timings = []
    for index in range(requests + WARM_UP):
        started = time.perf_counter()
        service.prioritize(decode_args(bodies[index % len(bodies)]))
        if index >= WARM_UP:
            timings.append((time.perf_counter() - started) * 1000)
    return timings


async def measure(port: int, bodies: list[bytes], requests: int) -> list[float]:
    """Client-observed milliseconds of sequential prioritize calls, after a warm-up."""
    url = f"http://127.0.0.1:{port}/prioritize"
    headers = {"Content-Type": "application/json"}
    timings: list[float] = []
    async with aiohttp.ClientSession() as session:
        for index in range(requests + WARM_UP):
            started = time.perf_counter()
            body = bodies[index % len(bodies)]
            async with session.post(url, data=body, headers=headers) as response:
                answer = await response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200 or not answer.startswith(b"["):
                raise RuntimeError(f"prioritize answered {response.status}: {answer[:200]!r}")
            if index >= WARM_UP:
                timings.append(elapsed * 1000)
    return timings


def summary(timings: list[float]) -> dict[str, float]:
    return {
        "p50_ms": statistics.median(timings),
        "p90_ms": percentile(timings, 0.90),
        "p99_ms": percentile(timings, 0.99),
        "max_ms": max(timings),
        "mean_ms": statistics.fmean(timings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--patterns", default="rotated,shuffled")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve is not None:
        serve(options.serve)
        return
    rows = []
    for size in (int(text) for text in options.sizes.split(",")):
        names = [f"node-{index:05d}" for index in range(size)]
        with server_process(size) as (pid, port):
            for pattern in options.patterns.split(","):
                bodies = request_bodies(names, pattern)
                cpu_before = cpu_seconds(pid)
                http = asyncio.run(measure(port, bodies, options.requests))
                server_cpu = (cpu_seconds(pid) - cpu_before) / (options.requests + WARM_UP)
                local = in_process(size, bodies, options.requests)
                rows.append(
                    {
                        "nodes": size,
                        "pattern": pattern,
                        "requests": len(http),
                        "http": summary(http),
                        "server_cpu_ms_per_request": server_cpu * 1000,
                        "service": summary(local),
                    }
                )
    print("prioritize, names-only, sequential requests (milliseconds)")
    print(
        f"{'nodes':>6} {'pattern':>9} | {'http p50':>8} {'p90':>6} {'p99':>6} {'max':>6}"
        f" | {'server cpu':>10} | {'service p50':>11} {'p99':>6}"
    )
    for row in rows:
        http, local = row["http"], row["service"]
        print(
            f"{row['nodes']:>6} {row['pattern']:>9} | {http['p50_ms']:>8.2f} {http['p90_ms']:>6.2f}"
            f" {http['p99_ms']:>6.2f} {http['max_ms']:>6.2f} | {row['server_cpu_ms_per_request']:>10.2f}"
            f" | {local['p50_ms']:>11.2f} {local['p99_ms']:>6.2f}"
        )
    print("http: round trip seen by a client on loopback; the extender runs in its own process")
    print("server cpu: the extender process's CPU time per request (not inflated by waiting for a CPU)")
    print("service: decoding and scoring in-process, without HTTP")
    print(f"target: http p99 under {TARGET_P99_MS} ms at 5,000 nodes")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} (other work skews tails)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "extender_latency",
                "target_p99_ms": TARGET_P99_MS,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "load_average": load,
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
