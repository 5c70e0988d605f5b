"""Scheduling throughput of the real kube-scheduler with the ebbtide extender, against the default one.

A local cluster of its own (``ebbtide dev``, default name ``bench-sched``) runs both schedulers side by
side: the cluster's default kube-scheduler, and ``ebbtide-scheduler`` (the same binary and plugins)
which also calls an extender (names only, on loopback). KWOK plays the nodes, with room for every
pod. One run measures four variants of the second scheduler, each against the default scheduler:

- the null extender (bench/null_extender.py: no work, the protocol's floor) and ebbtide's extender,
- each with the filter off (no utilisation ceiling: the scheduler names only the prioritize verb,
  one HTTP round trip per pod) and on (a ceiling: filter and prioritize, two round trips).

Every round measures every variant once, in an order that rotates from round to round, so that
drift and other work on the machine fall on all variants alike and each round gives a paired
comparison. Before each variant's turn the extender's configuration file is rewritten and both
schedulers and the extender start again (the second scheduler's verbs follow that file, as in the
Helm chart), then warmed up. Restarting the default scheduler as well matters: with a client rate
limit as high as upstream's performance tests use, one run that kept the default scheduler running
saw it fall from 350 to 56 pods/s over the run while the restarted second scheduler kept 300, its
requests waiting 142 ms on average in the API server's priority-and-fairness queue (the likely
cause: a backlog of earlier turns' Events, sent by the same client as its bindings). The figure of
merit: how far ebbtide's ratio to the default scheduler lies below the null extender's with the
same filter setting, as the median over rounds of that gap within each round (target: at most
0.03 with the filter off).

Each measurement gives one scheduler a batch of identical pods (cpu and memory requests; every third
pod carries an ``ebbtide.io/affinity-key``; only ``spec.schedulerName`` and the names differ between
the schedulers). The pods are created with a scheduling gate, so creating them costs the scheduler
nothing but queueing them as gated. Then the batch is released:

- ``--release pause`` (default): the scheduler's process is paused (SIGSTOP) while the gates come
  off, then resumed. It meets the whole batch at once, as after a burst of submissions, and what
  is timed is its own work only, not the rate at which this script can patch pods. The pause must
  stay well under the second scheduler's lease renew deadline (45 s); at a few thousand pods it
  takes seconds.
- ``--release live``: the gates come off while the scheduler runs; the time then includes the
  ungating, which caps the figure at the rate this script patches pods.

Before each release the bench waits until the control plane is quiet again: until the API
server, etcd, KWOK and the controller manager together use no more CPU than they did idle at the
start of the run (plus a margin). KWOK plays each pod's kubelet and falls behind during a batch of
thousands, still patching pods of earlier batches (even deleted ones) minutes later, so no
measurement should start on top of that backlog. Nor on top of the extender's: the wait also
lasts until the extender (ebbtide's or the null one) uses almost no CPU, so that it is not still
reading the previous batch's deletions. The wait does not make a busy control plane
quiet: on two shared cores the default scheduler alone still moved between 51 and 223 pods/s from
turn to turn (its bindings then throttled by a client rate limit of 200/s, since raised; the API
server at its handler timeouts), so read the per-round gaps, not only their median.

Timed: from the release (the resume, or the first patch) to the moment a watch on the batch sees
the last pod with ``spec.nodeName`` set. Pods per second is the batch size over that time. The
batch is then deleted, and the next measurement starts on empty nodes. In a variant's turn both
schedulers run once, in alternating order from round to round. A variant's ratio is the median over
rounds of the second scheduler's pods/s divided by the default scheduler's in the same turn.

Also read, before and after each measurement: each scheduler's /metrics (attempts by result, mean
scheduling-algorithm time per pod), the extender's /metrics (requests and latency by verb, as the
extender measures them), and the CPU time of the scheduler, the extender and the API server. Prints
a table per round (with the 1-minute load average) and a summary table; writes
bench/results/scheduler_throughput.json. Never fails on time.

    .venv/bin/python bench/scheduler_throughput.py [--nodes 1000] [--pods 2000] [--rounds 3]
        [--release pause|live] [--variants null-filter-off,ebbtide-filter-off,...]
        [--cluster bench-sched] [--keep-cluster]

The cluster is torn down at the end unless ``--keep-cluster`` is given (a kept cluster is reused by
the next run; its nodes keep their sizes, so run ``ebbtide dev down --name bench-sched`` to resize).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import signal
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from ebbtide.devcluster import process
from ebbtide.devcluster.cluster import DevCluster
from ebbtide.devcluster.nodes import uniform_nodes
from ebbtide.devcluster.scheduling import EXTENDER_CONFIG, SCHEDULER_NAME
from ebbtide.scoring.values import AFFINITY_KEY
from process_usage import cpu_seconds
from result_files import result_path

RESULTS = result_path("scheduler_throughput.json")
# ebbtide's ratio to the default scheduler may be at most this far below the null extender's.
TARGET_BELOW_FLOOR = 0.03
# The utilisation ceiling of the filter-on variants (the extender's default).
FILTER_CEILING = 0.9
NAMESPACE = "sched-bench"
HOLD_GATE = "bench.ebbtide.io/hold"
BATCH_LABEL = "bench.ebbtide.io/batch"
DEFAULT_SCHEDULER = "default-scheduler"
# Which dev-cluster component runs each scheduler, and the file that configures it.
COMPONENTS = {DEFAULT_SCHEDULER: "kube-scheduler", SCHEDULER_NAME: "ebbtide-scheduler"}
SHORT = {DEFAULT_SCHEDULER: "default", SCHEDULER_NAME: "ebbtide"}
# A paused ebbtide-scheduler must renew its lease within 45 s of the last renewal (see configs.py).
PAUSE_WARNING_SECONDS = 30.0
# Every node has room for every pod of a batch, whatever the scores.
NODE_CPU, NODE_MEMORY = "64", "256Gi"
CPU_SIZES = ("100m", "250m", "500m", "100m")
MEMORY_SIZES = ("128Mi", "256Mi", "128Mi", "512Mi")
# The components whose CPU use tells whether the control plane has caught up with earlier work.
CONTROL_PLANE = ("kube-apiserver", "etcd", "kwok", "kube-controller-manager")
# Quiet: at most this many cores above the idle use measured at the start.
QUIET_MARGIN_CORES = 0.15
QUIET_WINDOW_SECONDS = 2.0
# ... and the extender (ebbtide's or the null one) at most this many cores: no turn should start
# while it still reads the previous batch's deletions.
EXTENDER_QUIET_CORES = 0.05
# Gates can only be removed after creation (KEP-3521); the bench pods carry only this one.
UNGATE_PATCH = [{"op": "remove", "path": "/spec/schedulingGates"}]


# --------------------------------------------------------------------------------- the variants


@dataclass(frozen=True)
class Variant:
    """Which extender the second scheduler calls, and whether its configuration has a filter.

    Without a filter (no utilisation ceiling) the scheduler is configured with the prioritize verb
    only: one HTTP round trip per pod instead of two. ``null`` is bench/null_extender.py, an
    extender that does no work: what calling any extender costs, the floor for ebbtide's.
    """

    extender: str
    filtering: bool

    @property
    def key(self) -> str:
        return f"{self.extender}-filter-{'on' if self.filtering else 'off'}"

    @property
    def title(self) -> str:
        return f"{self.extender} extender, filter {'on' if self.filtering else 'off'}"


VARIANTS = tuple(Variant(name, filtering) for filtering in (False, True) for name in ("null", "ebbtide"))


# --------------------------------------------------------------------------------- the pods


def pod_manifest(*, name: str, scheduler: str, batch: str, index: int, keys: int) -> dict[str, Any]:
    """The ``index``-th pod of a batch; the same index gives the same pod whatever the scheduler."""
    labels = {BATCH_LABEL: batch}
    if index % 3 == 0:
        labels[AFFINITY_KEY] = f"tenant-{index % keys}"
    requests = {"cpu": CPU_SIZES[index % len(CPU_SIZES)], "memory": MEMORY_SIZES[index % len(MEMORY_SIZES)]}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "schedulerName": scheduler,
            "schedulingGates": [{"name": HOLD_GATE}],
            "containers": [
                {"name": "work", "image": "registry.k8s.io/pause:3.10", "resources": {"requests": requests}}
            ],
        },
    }


def with_retries(call: Callable[[], object], *, done_if: int | None = None) -> None:
    """Retry throttling and server errors (a busy API server); anything else is a bug here.

    ``done_if``: a status that means an earlier attempt did land (409 for a create that timed out).
    """
    for attempt in range(6):
        try:
            call()
            return
        except ApiException as error:
            if attempt and error.status == done_if:
                return
            if error.status not in (429, 500, 503, 504) or attempt == 5:
                raise
            time.sleep(0.5 * (attempt + 1))


def in_parallel(threads: int, work: Callable[[int], None], count: int) -> float:
    """Run ``work`` on ``0 .. count-1`` with ``threads`` workers; returns the seconds it took."""
    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(count)))
    return time.monotonic() - started


def delete_batch(core: client.CoreV1Api, batch: str | None, *, timeout: float) -> None:
    """Delete the batch's pods (every bench pod when ``batch`` is None) and wait until they are gone."""
    selector = f"{BATCH_LABEL}={batch}" if batch else BATCH_LABEL
    with_retries(  # a busy API server may time out on a large collection, and finish it later
        lambda: core.delete_collection_namespaced_pod(
            NAMESPACE, label_selector=selector, grace_period_seconds=0, _preload_content=False
        ).release_conn()
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = core.list_namespaced_pod(NAMESPACE, label_selector=selector, limit=1, _preload_content=False)
        if not json.loads(page.data)["items"]:
            return
        time.sleep(0.5)
    raise TimeoutError(f"pods of batch {batch} still exist after {timeout:.0f}s")


# --------------------------------------------------------------------------------- watching bindings


@dataclass
class BindWatch:
    """When each pod of one batch was first seen bound (``spec.nodeName`` set), from a watch.

    The watch is opened (and the batch listed) by :meth:`start`, before the release; events are
    parsed as plain JSON in a thread of their own, so a slow client does not delay the timestamps
    much. Times are ``time.monotonic()``.
    """

    core: client.CoreV1Api
    batch: str
    expected: int
    bound: dict[str, float] = field(default_factory=dict, init=False)
    done: threading.Event = field(default_factory=threading.Event, init=False)
    failure: BaseException | None = field(default=None, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)

    def start(self) -> None:
        page = self.core.list_namespaced_pod(NAMESPACE, label_selector=self._selector, _preload_content=False)
        listing = json.loads(page.data)
        now = time.monotonic()
        for pod in listing["items"]:
            if pod["spec"].get("nodeName"):
                self.bound.setdefault(pod["metadata"]["name"], now)
        stream = self._open(listing["metadata"]["resourceVersion"])
        threading.Thread(target=self._run, args=(stream,), daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    @property
    def _selector(self) -> str:
        return f"{BATCH_LABEL}={self.batch}"

    def _open(self, resource_version: str) -> Any:
        return self.core.list_namespaced_pod(
            NAMESPACE,
            label_selector=self._selector,
            resource_version=resource_version,
            watch=True,
            timeout_seconds=60,
            _preload_content=False,
        )

    def _run(self, stream: Any) -> None:
        try:
            while not self._stop.is_set():
                resource_version = self._consume(stream)
                if self.done.is_set() or self._stop.is_set():
                    return
                stream = self._open(resource_version)
        except BaseException as error:
            self.failure = error
            self.done.set()
        finally:
            stream.close()  # not back to the pool: the server may still be sending
            stream.release_conn()

    def _consume(self, stream: Any) -> str:
        """Read events until the watch ends or the batch is bound; returns the last resourceVersion."""
        resource_version = ""
        for line in iter_resp_lines(stream):
            event = json.loads(line)
            pod = event["object"]
            if event["type"] == "ERROR":
                raise RuntimeError(f"watch failed: {pod.get('message')}")
            resource_version = str(pod["metadata"]["resourceVersion"])
            if pod["spec"].get("nodeName"):
                self.bound.setdefault(pod["metadata"]["name"], time.monotonic())
                if len(self.bound) >= self.expected:
                    self.done.set()
                    return resource_version
            if self._stop.is_set():
                break
        return resource_version


# --------------------------------------------------------------------------------- metrics and CPU


@dataclass(frozen=True)
class Endpoints:
    """Where to read each scheduler's and the extender's metrics, and the pids to pause and profile."""

    dev: DevCluster
    #: The extender's process when it is not the cluster's own (``--extender null``).
    extender_pid: int | None = None

    def scheduler_metrics_url(self, scheduler: str) -> str:
        ports = self.dev.layout.load_ports()
        assert ports is not None
        port = ports.scheduler if scheduler == DEFAULT_SCHEDULER else ports.ebbtide_scheduler
        return f"https://127.0.0.1:{port}/metrics"

    def extender_url(self, path: str) -> str:
        ports = self.dev.layout.load_ports()
        assert ports is not None
        return f"http://127.0.0.1:{ports.ebbtide_extender}{path}"

    def tls(self) -> ssl.SSLContext:
        """Verifies the schedulers against the cluster CA and presents the admin certificate."""
        layout = self.dev.layout
        context = ssl.create_default_context(cafile=str(layout.ca.cert))
        admin = layout.cert("admin")
        context.load_cert_chain(str(admin.cert), str(admin.key))
        return context

    def pid(self, component: str) -> int:
        if component == "ebbtide-extender" and self.extender_pid is not None:
            return self.extender_pid
        pid = process.find(self.dev.layout.pid_file(component))
        if pid is None:
            log = self.dev.layout.log_file(component)
            raise RuntimeError(f"{component} is not running; last lines of {log}:\n{process.log_tail(log)}")
        return pid

    def scheduler_configuration(self, scheduler: str) -> dict[str, Any]:
        path = self.dev.layout.config_file(f"{COMPONENTS[scheduler]}.yaml")
        document: dict[str, Any] = yaml.safe_load(path.read_text())
        return document


def scrape(url: str, *, context: ssl.SSLContext | None = None) -> dict[str, float]:
    """A Prometheus text exposition as ``series -> value`` (``name{labels}`` exactly as written)."""
    with urllib.request.urlopen(url, timeout=10, context=context) as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            values[series] = float(value)
    return values


def delta(after: dict[str, float], before: dict[str, float], series: str) -> float:
    return after.get(series, 0.0) - before.get(series, 0.0)


def matching(values: dict[str, float], name: str, *labels: str) -> Iterator[tuple[str, float]]:
    """Series of metric ``name`` whose labels include every ``key="value"`` in ``labels``."""
    for series, value in values.items():
        if series.split("{", 1)[0] == name and all(label in series for label in labels):
            yield series, value


def histogram_quantile(buckets: list[tuple[float, float]], quantile: float) -> float | None:
    """Prometheus' estimate from cumulative ``(upper bound, count)`` pairs, linear within a bucket."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = quantile * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / max(count - lower_count, 1e-9)
        lower_bound, lower_count = bound, count
    return lower_bound


def mean_ms(before: dict[str, float], after: dict[str, float], name: str, *labels: str) -> float | None:
    """Mean of histogram ``name`` between two scrapes, in milliseconds, over series with ``labels``."""
    total = sum(delta(after, before, series) for series, _ in matching(after, f"{name}_sum", *labels))
    count = sum(delta(after, before, series) for series, _ in matching(after, f"{name}_count", *labels))
    return round(1000 * total / count, 3) if count else None


def label_value(series: str, label: str) -> str:
    return series.split(f'{label}="', 1)[1].split('"', 1)[0]


def scheduler_figures(before: dict[str, float], after: dict[str, float], scheduler: str) -> dict[str, Any]:
    """Attempts by result and mean times per pod, from two scrapes of one kube-scheduler."""
    profile = f'profile="{scheduler}"'
    attempts = {
        label_value(series, "result"): int(delta(after, before, series))
        for series, _ in matching(after, "scheduler_schedule_attempts_total", profile)
    }
    points = "scheduler_framework_extension_point_duration_seconds"
    return {
        "attempts": {result: n for result, n in attempts.items() if n},
        # Filter, score and the extenders' calls: the serial part of a pod's scheduling. The binding
        # runs apart, in parallel with the next pods.
        "algorithm_ms_mean": mean_ms(before, after, "scheduler_scheduling_algorithm_duration_seconds"),
        "extension_point_ms_mean": {
            point: mean_ms(before, after, points, f'extension_point="{point}"', profile)
            for point in ("PreFilter", "Filter", "PreScore", "Score")
        },
    }


def extender_figures(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """Requests by verb and code, and latency by verb as the extender measures it (read to write)."""
    figures: dict[str, Any] = {}
    name = "ebbtide_extender_request_duration_seconds"
    for verb in ("filter", "prioritize"):
        label = f'verb="{verb}"'
        codes = {
            label_value(series, "code"): int(delta(after, before, series))
            for series, _ in matching(after, "ebbtide_extender_requests_total", label)
        }
        buckets = [
            (float(label_value(series, "le")), delta(after, before, series))
            for series, _ in matching(after, f"{name}_bucket", label)
        ]
        p50, p99 = histogram_quantile(buckets, 0.5), histogram_quantile(buckets, 0.99)
        figures[verb] = {
            "requests_by_code": {code: n for code, n in codes.items() if n},
            "mean_ms": mean_ms(before, after, name, label),
            "p50_ms": None if p50 is None else round(1000 * p50, 3),
            "p99_ms": None if p99 is None else round(1000 * p99, 3),
        }
    return figures


# --------------------------------------------------------------------------------- one measurement


@dataclass
class Quiet:
    """Waits until the control plane's CPU use is back to its idle level, and the extender's to
    almost nothing."""

    endpoints: Endpoints
    idle_cores: float = 0.0

    def cores(self) -> tuple[float, float]:
        """Cores the control plane and the extender used over one window."""
        control = [self.endpoints.pid(component) for component in CONTROL_PLANE]
        extender = self.endpoints.pid("ebbtide-extender")
        control_before, extender_before = sum(cpu_seconds(pid) for pid in control), cpu_seconds(extender)
        time.sleep(QUIET_WINDOW_SECONDS)
        control_used = sum(cpu_seconds(pid) for pid in control) - control_before
        extender_used = cpu_seconds(extender) - extender_before
        return control_used / QUIET_WINDOW_SECONDS, extender_used / QUIET_WINDOW_SECONDS

    def calibrate(self) -> float:
        """Take the control plane's idle level as the least of three windows (the cluster has just
        started)."""
        self.idle_cores = min(self.cores()[0] for _ in range(3))
        return self.idle_cores

    def wait(self, *, timeout: float) -> float:
        """Wait until, over one window, the control plane uses at most its idle level plus the
        margin and the extender at most ``EXTENDER_QUIET_CORES``; returns the seconds waited
        (``timeout`` at most, with a warning)."""
        started = time.monotonic()
        while True:
            control, extender = self.cores()
            if control <= self.idle_cores + QUIET_MARGIN_CORES and extender <= EXTENDER_QUIET_CORES:
                break
            if time.monotonic() - started > timeout:
                print(f"warning: the control plane or the extender was still busy after {timeout:.0f}s")
                break
        return time.monotonic() - started


@dataclass
class Bench:
    """The cluster, its clients and the options shared by every measurement."""

    core: client.CoreV1Api
    endpoints: Endpoints
    args: argparse.Namespace
    quiet: Quiet

    def measure(self, *, scheduler: str, batch: str, pods: int) -> dict[str, Any]:
        """Create a gated batch for ``scheduler``, release it, time it until bound, delete it."""
        args = self.args
        names = [f"{batch}-{index:05d}" for index in range(pods)]

        def create(index: int) -> None:
            body = pod_manifest(
                name=names[index], scheduler=scheduler, batch=batch, index=index, keys=args.keys
            )
            with_retries(
                lambda: self.core.create_namespaced_pod(NAMESPACE, body, _preload_content=False), done_if=409
            )

        creation = in_parallel(args.threads, create, pods)
        time.sleep(args.settle)  # every informer (both schedulers, the extender, KWOK) has the batch
        quiet_wait = self.quiet.wait(timeout=args.quiet_timeout)
        watch = BindWatch(core=self.core, batch=batch, expected=pods)
        watch.start()
        try:
            scheduler_before, extender_before = self._scrape(scheduler), self._scrape(None)
            released, ungating, cpu_before = self._release(scheduler, names)
            self._wait(watch, scheduler=scheduler, deadline=released + args.timeout)
            cpu_after = self._cpu(scheduler)
        finally:
            watch.stop()
        scheduler_after = self._scrape(scheduler, scheduled_since=(scheduler_before, pods))
        times = sorted(watch.bound.values())
        seconds = times[-1] - released
        result: dict[str, Any] = {
            "scheduler": scheduler,
            "pods": pods,
            "creation_seconds": round(creation, 3),
            "quiet_wait_seconds": round(quiet_wait, 1),
            "ungating_seconds": round(ungating, 3),
            "first_bound_seconds": round(times[0] - released, 3),
            "all_bound_seconds": round(seconds, 3),
            "pods_per_second": round(pods / seconds, 1),
            "cpu_ms_per_pod": {
                name: round(1000 * (cpu_after[name] - cpu_before[name]) / pods, 3) for name in cpu_before
            },
            "scheduler_metrics": scheduler_figures(scheduler_before, scheduler_after, scheduler),
            "load_average": list(os.getloadavg()),
        }
        if scheduler == SCHEDULER_NAME:
            result["extender_metrics"] = extender_figures(extender_before, self._scrape(None))
        delete_batch(self.core, batch, timeout=args.timeout)
        time.sleep(args.settle)  # the deletions reach every cache before the next batch
        return result

    def _release(self, scheduler: str, names: list[str]) -> tuple[float, float, dict[str, float]]:
        """Remove the batch's gates; returns when timing starts, the ungating seconds and CPU times then.

        With ``--release pause`` the scheduler is stopped while the gates come off and timing starts
        when it resumes; with ``live`` timing starts with the first patch.
        """

        def ungate(index: int) -> None:
            with_retries(
                lambda: self.core.patch_namespaced_pod(
                    names[index],
                    NAMESPACE,
                    UNGATE_PATCH,
                    _content_type="application/json-patch+json",
                    _preload_content=False,
                )
            )

        if self.args.release == "live":
            cpu, released = self._cpu(scheduler), time.monotonic()
            return released, in_parallel(self.args.threads, ungate, len(names)), cpu
        pid = self.endpoints.pid(COMPONENTS[scheduler])
        os.kill(pid, signal.SIGSTOP)
        try:
            ungating = in_parallel(self.args.threads, ungate, len(names))
            cpu = self._cpu(scheduler)
        finally:
            released = time.monotonic()
            os.kill(pid, signal.SIGCONT)
        if ungating > PAUSE_WARNING_SECONDS:
            print(f"warning: {scheduler} was paused {ungating:.0f}s; its lease allows 45s (see --threads)")
        return released, ungating, cpu

    def _wait(self, watch: BindWatch, *, scheduler: str, deadline: float) -> None:
        while not watch.done.wait(1.0):
            self.endpoints.pid(COMPONENTS[scheduler])  # raises if the scheduler died (lost its lease)
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(watch.bound)} of {watch.expected} pods bound by {scheduler} in time"
                    " (do the nodes have room? a kept cluster keeps its node sizes)"
                )
        if watch.failure is not None:
            raise RuntimeError(f"watching batch {watch.batch} failed") from watch.failure

    def _cpu(self, scheduler: str) -> dict[str, float]:
        """CPU seconds so far of the scheduler under test, the extender and the API server."""
        components = {
            "scheduler": COMPONENTS[scheduler],
            "extender": "ebbtide-extender",
            "apiserver": "kube-apiserver",
        }
        return {name: cpu_seconds(self.endpoints.pid(c)) for name, c in components.items()}

    def _scrape(
        self, scheduler: str | None, *, scheduled_since: tuple[dict[str, float], int] | None = None
    ) -> dict[str, float]:
        """The scheduler's metrics (the extender's for None).

        ``scheduled_since=(earlier scrape, n)`` waits (up to 5 s) until the scheduler counts ``n``
        more pods scheduled: it counts a pod once the binding call has returned, which can be a
        moment after the watch saw the binding.
        """
        if scheduler is None:
            return scrape(self.endpoints.extender_url("/metrics"))
        url, tls = self.endpoints.scheduler_metrics_url(scheduler), self.endpoints.tls()
        series = f'scheduler_schedule_attempts_total{{profile="{scheduler}",result="scheduled"}}'
        deadline = time.monotonic() + 5
        while True:
            values = scrape(url, context=tls)
            if scheduled_since is None or time.monotonic() > deadline:
                return values
            earlier, count = scheduled_since
            if delta(values, earlier, series) >= count:
                return values
            time.sleep(0.2)


# --------------------------------------------------------------------------------- set-up and report


def ensure_namespace(core: client.CoreV1Api) -> None:
    try:
        core.create_namespace({"metadata": {"name": NAMESPACE}})
    except ApiException as error:
        if error.status != 409:
            raise
    deadline = time.monotonic() + 60
    while True:
        try:
            core.read_namespaced_service_account("default", NAMESPACE, _preload_content=False)
            return
        except ApiException as error:
            if error.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_extender_synced(endpoints: Endpoints, nodes: int, *, timeout: float) -> None:
    """The extender answers 503 until its cache has listed the cluster; with ``ignorable: true`` the
    scheduler would then schedule without it, and the comparison would flatter ebbtide."""
    deadline = time.monotonic() + timeout
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(endpoints.extender_url("/healthz"), timeout=5) as response:
                health = json.loads(response.read())
            if health.get("status") == "ok" and health.get("nodes", 0) >= nodes:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the extender did not sync {nodes} nodes in {timeout:.0f}s: {health}")


def scheduling_settings(endpoints: Endpoints, nodes: int) -> dict[str, Any]:
    """What in each scheduler's configuration bears on throughput."""
    settings: dict[str, Any] = {}
    for scheduler in COMPONENTS:
        configuration = endpoints.scheduler_configuration(scheduler)
        percentage = configuration.get("percentageOfNodesToScore") or 0
        # kube-scheduler's numFeasibleNodesToFind: all nodes under 100, else an adaptive share.
        adaptive = max(5, 50 - nodes // 125)
        share = percentage or adaptive
        settings[scheduler] = {
            "client_qps": configuration.get("clientConnection", {}).get("qps"),
            "client_burst": configuration.get("clientConnection", {}).get("burst"),
            "percentage_of_nodes_to_score": percentage or f"adaptive ({adaptive}%)",
            # The filter stops once it has found this many feasible nodes; every node has room here,
            # so it is also how many names each extender call carries.
            "feasible_nodes_per_pod": nodes if nodes < 100 else max(100, nodes * share // 100),
            "extenders": configuration.get("extenders", []),
        }
    return settings


def print_round(number: int, rows: list[dict[str, Any]], ratio: float) -> None:
    print(f"\nround {number}")
    print(
        f"{'scheduler':<18} {'pods':>5} {'ungate s':>8} {'1st bind s':>10} {'all bound s':>11}"
        f" {'pods/s':>7} {'scheduled':>9} {'failed':>6} {'algo ms':>7} {'sched cpu':>9} {'ext cpu':>7}"
        f" {'load1':>5} {'quiet s':>7}"
    )
    for row in rows:
        metrics = row["scheduler_metrics"]
        attempts = metrics["attempts"]
        failed = sum(n for result, n in attempts.items() if result != "scheduled")
        algorithm = metrics["algorithm_ms_mean"]
        extender_cpu = row["cpu_ms_per_pod"]["extender"] if row["scheduler"] == SCHEDULER_NAME else None
        print(
            f"{row['scheduler']:<18} {row['pods']:>5} {row['ungating_seconds']:>8.2f}"
            f" {row['first_bound_seconds']:>10.2f} {row['all_bound_seconds']:>11.2f}"
            f" {row['pods_per_second']:>7.1f} {attempts.get('scheduled', 0):>9} {failed:>6}"
            f" {'-' if algorithm is None else f'{algorithm:.2f}':>7}"
            f" {row['cpu_ms_per_pod']['scheduler']:>9.2f}"
            f" {'-' if extender_cpu is None else f'{extender_cpu:.2f}':>7}"
            f" {row['load_average'][0]:>5.2f} {row['quiet_wait_seconds']:>7.1f}"
        )
    print(f"ratio ebbtide-scheduler / default: {ratio:.3f}")


def print_variant(variant: Variant, summary: dict[str, Any]) -> None:
    """The extender's own view of one variant: requests and latency by verb."""
    print(f"\n{variant.title}: extender latency as the extender measures it (read request to answer written)")
    print(f"  {'verb':<11} {'requests':>8} {'non-200':>7} {'mean ms':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for verb, figures in summary["extender"].items():
        print(
            f"  {verb:<11} {figures['requests']:>8} {figures['non_200']:>7}"
            f" {figures['mean_ms']:>8.2f} {figures['p50_ms']:>7.2f} {figures['p99_ms']:>7.2f}"
        )
    extra = summary["algorithm_ms_added_by_extender"]
    if extra is not None:
        print(f"  scheduling-algorithm time added per pod by the extender (scheduler's view): {extra:.2f} ms")


def compare_to_floor(variants: list[dict[str, Any]]) -> dict[str, Any]:
    """Each ebbtide variant against the null extender's with the same filter setting.

    ``below_floor`` is the median over rounds of the gap between the two ratios within a round
    (paired: both measured minutes apart, under the same drift); ``below_floor_of_medians`` is the
    gap between the two variants' median ratios.
    """
    by_key = {entry["variant"]: entry for entry in variants}
    comparison: dict[str, Any] = {}
    for filtering in (False, True):
        ours = by_key.get(Variant("ebbtide", filtering).key)
        floor = by_key.get(Variant("null", filtering).key)
        if ours is None or floor is None:
            continue
        floor_ratios = {entry["round"]: entry["ratio"] for entry in floor["rounds"]}
        gaps = [
            round(floor_ratios[entry["round"]] - entry["ratio"], 3)
            for entry in ours["rounds"]
            if entry["round"] in floor_ratios
        ]
        median_ratio, floor_ratio = ours["summary"]["median_ratio"], floor["summary"]["median_ratio"]
        comparison[ours["variant"]] = {
            "ratio": median_ratio,
            "null_extender_ratio": floor_ratio,
            "gaps_by_round": gaps,
            "below_floor": round(statistics.median(gaps), 3),
            "below_floor_of_medians": round(floor_ratio - median_ratio, 3),
            "target_below_floor": TARGET_BELOW_FLOOR,
        }
    return comparison


def print_summary(result: dict[str, Any]) -> None:
    print("\nsummary (medians over rounds; ratio = ebbtide-scheduler pods/s / default pods/s, same round)")
    print(
        f"  {'variant':<30} {'verbs':<18} {'default pods/s':>14} {'ebbtide pods/s':>14} {'ratio':>6}"
        f" {'load1 min-max':>14}"
    )
    for entry in result["variants"]:
        summary = entry["summary"]
        rates, (low, high) = summary["median_pods_per_second"], summary["load1_range"]
        print(
            f"  {entry['title']:<30} {'+'.join(entry['verbs']):<18} {rates[DEFAULT_SCHEDULER]:>14.1f}"
            f" {rates[SCHEDULER_NAME]:>14.1f} {summary['median_ratio']:>6.3f}"
            f" {low:>6.2f}-{high:<6.2f}"
        )
    for key, figures in result["against_floor"].items():
        gaps = ", ".join(f"{gap:+.3f}" for gap in figures["gaps_by_round"])
        print(
            f"  {key}: {figures['below_floor']:+.3f} below the null extender's ratio"
            f" (median of the gaps within each round: {gaps}; target: at most {TARGET_BELOW_FLOOR});"
            f" medians {figures['ratio']:.3f} against {figures['null_extender_ratio']:.3f}"
        )
    print()
    for scheduler, settings in result["scheduling"].items():
        print(
            f"{scheduler}: client qps {settings['client_qps']}, burst {settings['client_burst']};"
            f" feasible nodes sought per pod {settings['feasible_nodes_per_pod']}"
            f" (percentageOfNodesToScore {settings['percentage_of_nodes_to_score']})"
        )
    load = result["load_average"]
    print(
        f"machine: {result['cpus']} CPUs, load average {load['start'][0]:.2f} at the start,"
        f" {load['end'][0]:.2f} at the end (other work skews figures)"
    )


def summarise(rounds: list[dict[str, Any]], extender_counts: dict[str, float]) -> dict[str, Any]:
    """Medians over the rounds; ``extender_counts``: the extender's metrics added up over its turns."""
    rates: dict[str, list[float]] = {scheduler: [] for scheduler in COMPONENTS}
    algorithm: dict[str, list[float]] = {scheduler: [] for scheduler in COMPONENTS}
    loads: list[float] = []
    for entry in rounds:
        for row in entry["measurements"]:
            loads.append(row["load_average"][0])
            rates[row["scheduler"]].append(row["pods_per_second"])
            if row["scheduler_metrics"]["algorithm_ms_mean"] is not None:
                algorithm[row["scheduler"]].append(row["scheduler_metrics"]["algorithm_ms_mean"])
    overall = extender_figures({}, extender_counts)
    extender = {}
    for verb, figures in overall.items():
        codes = figures["requests_by_code"]
        extender[verb] = {
            "requests": sum(codes.values()),
            "non_200": sum(n for code, n in codes.items() if code != "200"),
            "mean_ms": figures["mean_ms"] or 0.0,
            "p50_ms": figures["p50_ms"] or 0.0,
            "p99_ms": figures["p99_ms"] or 0.0,
        }
    added = None
    if all(algorithm.values()):
        added = round(
            statistics.median(algorithm[SCHEDULER_NAME]) - statistics.median(algorithm[DEFAULT_SCHEDULER]), 3
        )
    return {
        "median_pods_per_second": {s: round(statistics.median(r), 1) for s, r in rates.items()},
        "median_ratio": round(statistics.median(entry["ratio"] for entry in rounds), 3),
        "extender": extender,
        "algorithm_ms_added_by_extender": added,
        # The 1-minute load average at the end of each measurement: lowest and highest.
        "load1_range": [min(loads), max(loads)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--cluster", default="bench-sched", help="the ebbtide dev cluster (started if needed)"
    )
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=2000, help="pods per scheduler per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (each measures every variant once)")
    parser.add_argument("--warmup", type=int, default=100, help="pods per scheduler before each turn")
    parser.add_argument("--keys", type=int, default=20, help="distinct affinity keys (every third pod)")
    parser.add_argument("--release", choices=("pause", "live"), default="pause")
    parser.add_argument("--threads", type=int, default=16, help="threads creating and ungating pods")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds for caches to catch up")
    parser.add_argument(
        "--quiet-timeout", type=float, default=180.0, help="seconds to wait for a quiet control plane"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a batch may take")
    parser.add_argument("--keep-cluster", action="store_true", help="leave the cluster running")
    parser.add_argument(
        "--variants",
        type=parse_variants,
        default=VARIANTS,
        help="comma-separated, in order, from: " + ", ".join(v.key for v in VARIANTS) + " (default: all)",
    )
    args = parser.parse_args()

    dev = DevCluster(args.cluster)
    try:
        result = run(dev, args)
        print_summary(result)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS}")
    finally:
        if not args.keep_cluster:
            stopped = dev.down()
            print(f"cluster {args.cluster!r} down ({len(stopped)} processes stopped)")


def parse_variants(text: str) -> tuple[Variant, ...]:
    known = {variant.key: variant for variant in VARIANTS}
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in known]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown variants {unknown}; choose from {sorted(known)}")
    return tuple(known[name] for name in chosen)


def node_slots(args: argparse.Namespace) -> int:
    """Pods per node: room for every batch, whatever the scheduler's placement."""
    pods, nodes = int(args.pods), int(args.nodes)
    return max(110, 2 * math.ceil(pods / nodes) + 50)


def run(dev: DevCluster, args: argparse.Namespace) -> dict[str, Any]:
    """Bring the cluster up, then measure every variant once per round; returns the results."""
    slots = node_slots(args)
    started = time.monotonic()
    info = dev.up(
        nodes=uniform_nodes(count=args.nodes, cpu=NODE_CPU, memory=NODE_MEMORY, pods=slots),
        extender=True,
        progress=print,
    )
    print(f"{args.nodes} nodes ready in {time.monotonic() - started:.1f}s")
    configuration = config.new_client_from_config(config_file=str(info.kubeconfig)).configuration
    configuration.connection_pool_maxsize = args.threads + 4
    idle_cores = Quiet(Endpoints(dev)).calibrate()
    print(f"control plane idle: {idle_cores:.2f} cores (node leases, controllers)")
    chosen: list[Variant] = list(args.variants)
    rounds: dict[str, list[dict[str, Any]]] = {variant.key: [] for variant in chosen}
    counts: dict[str, dict[str, float]] = {variant.key: {} for variant in chosen}
    verbs: dict[str, list[str]] = {}
    load_start = os.getloadavg()
    scheduling: dict[str, Any] = {}
    for number in range(1, args.rounds + 1):
        shift = (number - 1) % len(chosen)
        for variant in chosen[shift:] + chosen[:shift]:
            print(f"\n=== round {number}: {variant.title}")
            with configured(dev, variant=variant, nodes=args.nodes) as endpoints:
                quiet = Quiet(endpoints, idle_cores)
                entry, extender_counts = measure_turn(
                    endpoints, configuration, args, number=number, quiet=quiet
                )
                scheduling = scheduling_settings(endpoints, args.nodes)
            rounds[variant.key].append(entry)
            add_counts(counts[variant.key], extender_counts)
            [call] = scheduling[SCHEDULER_NAME]["extenders"]
            verbs[variant.key] = [call[key] for key in ("filterVerb", "prioritizeVerb") if key in call]
    variants = []
    for variant in chosen:
        summary = summarise(rounds[variant.key], counts[variant.key])
        print_variant(variant, summary)
        variants.append(
            {
                "variant": variant.key,
                "title": variant.title,
                "verbs": verbs[variant.key],
                "summary": summary,
                "rounds": rounds[variant.key],
            }
        )
    return {
        "benchmark": "scheduler_throughput",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": {"start": list(load_start), "end": list(os.getloadavg())},
        "cluster": args.cluster,
        "nodes": args.nodes,
        "node_size": {"cpu": NODE_CPU, "memory": NODE_MEMORY, "pods": node_slots(args)},
        "pods_per_scheduler_per_round": args.pods,
        "affinity_keys": args.keys,
        "release": args.release,
        "warmup_pods": args.warmup,
        "control_plane_idle_cores": round(idle_cores, 3),
        "scheduling": scheduling,
        "against_floor": compare_to_floor(variants),
        "variants": variants,
    }


def add_counts(total: dict[str, float], more: dict[str, float]) -> None:
    """Add one turn's increase of every series (counters and histogram buckets add up)."""
    for series, value in more.items():
        total[series] = total.get(series, 0.0) + value


@contextlib.contextmanager
def configured(dev: DevCluster, *, variant: Variant, nodes: int) -> Iterator[Endpoints]:
    """The second scheduler and its extender as ``variant`` wants them; yields where to reach them.

    The extender's configuration file decides whether the scheduler names the filter verb; the
    scheduler and the extender start again with it. The null extender replaces the cluster's own
    on the same port, which is started again afterwards.
    """
    ceilings = {"cpu": FILTER_CEILING} if variant.filtering else {}
    path = dev.layout.config_file(EXTENDER_CONFIG)
    path.write_text(yaml.safe_dump({"filter": {"ceilings": ceilings}}))
    dev.restart_second_scheduler()
    # The default scheduler starts afresh too, so that both begin each turn alike: a long-lived one
    # slowed down from turn to turn (see the module's docstring).
    dev.stop_component(COMPONENTS[DEFAULT_SCHEDULER])
    dev.start_component(COMPONENTS[DEFAULT_SCHEDULER])
    if variant.extender == "ebbtide":
        yield Endpoints(dev)
        return
    with null_extender(dev, nodes) as pid:
        yield Endpoints(dev, extender_pid=pid)


@contextlib.contextmanager
def null_extender(dev: DevCluster, nodes: int) -> Iterator[int]:
    """Replace the cluster's extender with bench/null_extender.py on the same port; yields its pid.
    The cluster's own extender is started again afterwards."""
    ports = dev.layout.load_ports()
    assert ports is not None
    dev.stop_component("ebbtide-extender")
    script = Path(__file__).with_name("null_extender.py")
    server = subprocess.Popen([sys.executable, str(script), str(ports.ebbtide_extender), str(nodes)])
    try:
        yield server.pid
    finally:
        server.terminate()
        server.wait(10)
        dev.start_component("ebbtide-extender")


def measure_turn(
    endpoints: Endpoints,
    configuration: client.Configuration,
    args: argparse.Namespace,
    *,
    number: int,
    quiet: Quiet,
) -> tuple[dict[str, Any], dict[str, float]]:
    """One variant's turn in round ``number`` on the freshly configured schedulers: warm up, then
    both schedulers once. Returns the round's entry and the increase of the extender's metrics."""
    with client.ApiClient(configuration) as api:
        core = client.CoreV1Api(api)
        ensure_namespace(core)
        delete_batch(core, None, timeout=args.timeout)  # whatever an interrupted run left
        wait_extender_synced(endpoints, args.nodes, timeout=120)
        bench = Bench(core=core, endpoints=endpoints, args=args, quiet=quiet)
        if args.warmup:  # the second scheduler and the extender have just started
            for scheduler in COMPONENTS:
                bench.measure(scheduler=scheduler, batch=f"warmup-{SHORT[scheduler]}", pods=args.warmup)
        before = scrape(endpoints.extender_url("/metrics"))
        order = list(COMPONENTS) if number % 2 else list(reversed(COMPONENTS))
        rows = [bench.measure(scheduler=s, batch=f"r{number}-{SHORT[s]}", pods=args.pods) for s in order]
        after = scrape(endpoints.extender_url("/metrics"))
    by_scheduler = {row["scheduler"]: row for row in rows}
    ratio = (
        by_scheduler[SCHEDULER_NAME]["pods_per_second"] / by_scheduler[DEFAULT_SCHEDULER]["pods_per_second"]
    )
    print_round(number, rows, ratio)
    entry = {"round": number, "order": order, "ratio": round(ratio, 3), "measurements": rows}
    return entry, {series: delta(after, before, series) for series in after}


if __name__ == "__main__":
    main()
