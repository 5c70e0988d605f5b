"""``ebbtide demo`` step by step: the cluster, the CRDs, the operator, the load, the workloads,
the queues, the live view and the summary.

:class:`DemoRun` owns what it starts (the operator, the load exporter) and stops it when the
``with`` block ends, however it ends (Ctrl-C and SIGTERM included); the cluster itself stays
unless the caller takes it down.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from kubernetes import client

from ebbtide.api import API_GROUP, FairQueue, ScalingPolicy, format_duration
from ebbtide.demo import exporter, report, view
from ebbtide.demo.exporter import LoadExporter
from ebbtide.demo.files import DemoFiles
from ebbtide.demo.kubectl import Kubectl
from ebbtide.demo.observe import Observer, metrics_reader
from ebbtide.demo.operator_process import COMPONENT as OPERATOR
from ebbtide.demo.operator_process import OperatorRun, start_operator, wait_for_webhook, wait_healthy
from ebbtide.demo.pattern import LoadPattern
from ebbtide.demo.summary import Summary, summarise
from ebbtide.demo.timeline import Sample
from ebbtide.demo.workloads import (
    PART_OF,
    PART_OF_VALUE,
    Backlog,
    delete_jobs,
    list_jobs,
    read_placement,
    wait_placed,
)
from ebbtide.devcluster.cluster import ClusterInfo, DevCluster
from ebbtide.devcluster.nodes import uniform_nodes
from ebbtide.kube.client import load_api_client

Echo = Callable[[str], None]

NAMESPACE = "demo"
NODES = 4
#: Seconds between two lines of the live view.
LOOK_EVERY = 2.0
#: Jobs kept waiting in each queue.
BACKLOG = 6
STEPS = 8


@dataclass(frozen=True)
class Outputs:
    """The files the demo wrote (``plot`` None: matplotlib is missing)."""

    timeline: Path
    summary: Path
    plot: Path | None


class DemoRun:
    """One run of the demo against the local cluster ``name``.

    The kind variant (:class:`ebbtide.demo.kind_steps.KindDemoRun`) replaces the steps that
    differ on real nodes through the hooks named ``_...`` below: the load, the queues' capacity,
    the Jobs' template, and where the operator's metrics are read.
    """

    #: The namespace of the demo's workloads, Jobs and policy.
    namespace = NAMESPACE

    def __init__(self, *, name: str, duration: float, echo: Echo, files: DemoFiles) -> None:
        self.cluster = DevCluster(name)
        self.pattern = LoadPattern(duration=duration)
        self.echo = echo
        self.files = files
        self.policy = ScalingPolicy.model_validate(_document(files.demo("scalingpolicy-web.yaml")))
        queues = [FairQueue.model_validate(d) for d in _documents(files.demo("fairqueues.yaml"))]
        self.queue_weights = {str(q.metadata.name): q.spec.weight for q in queues}
        self.caches = {
            str(d["metadata"]["name"]): int(d["spec"]["replicas"])
            for d in _documents(files.demo("affinity-deployments.yaml"))
        }
        self.exporter = LoadExporter(self.pattern)
        self._stack = contextlib.ExitStack()
        self._step = 0
        self.info: ClusterInfo | None = None
        self.operator: OperatorRun | None = None
        self.api_client: client.ApiClient | None = None

    def __enter__(self) -> DemoRun:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.close()

    @property
    def target_per_replica(self) -> float:
        return self.policy.spec.metric.target_per_replica

    def announce(self, text: str) -> None:
        self._step += 1
        self.echo(f"[{self._step}/{STEPS}] {text}")

    def detail(self, text: str) -> None:
        self.echo(f"      {text}")

    # ----------------------------------------------------------------------------- steps 1-6
    def start_cluster(self) -> ClusterInfo:
        self.announce(
            f"local cluster {self.cluster.name!r}: {NODES} KWOK nodes, Prometheus, "
            "the ebbtide-scheduler and the extender"
        )
        self.info = self.cluster.up(nodes=uniform_nodes(count=NODES), extender=True, progress=self.detail)
        self.api_client = load_api_client(self.info.kubeconfig)
        self._stack.callback(self.api_client.close)
        return self.info

    def install_crds(self) -> None:
        self.announce(f"CRDs from {self.files.crds}/ (server-side apply), waiting until Established")
        kubectl = self._kubectl()
        kubectl.apply(self.files.crds)
        names = [f"crd/{kind.PLURAL}.{API_GROUP}" for kind in (ScalingPolicy, FairQueue)]
        kubectl.wait(*names, condition="Established")

    def start_operator(self) -> None:
        info = self._info()
        self.announce(f"ebbtide operator (log: {self.cluster.layout.log_file(OPERATOR)})")
        self.operator = start_operator(self.cluster.layout, info)
        self._stack.callback(self._stop_operator)
        wait_healthy(self.operator)
        wait_for_webhook(self.operator, client.CoreV1Api(self._api()))
        self.detail("healthy, and the fair-queue webhook gates queued pods")

    def start_load(self) -> None:
        self.announce("load exporter: the gauge ebbtide_demo_requests_per_second, scraped every 2s")
        target = self.exporter.serve()
        self._stack.callback(self.exporter.close)
        exporter.register(self.cluster.layout, target)
        self._stack.callback(exporter.unregister, self.cluster.layout)
        query = self.policy.spec.metric.query
        exporter.wait_until_scraped(self._info().prometheus_url, query=query)
        self.detail(f"serving on {target}; Prometheus answers {query}")

    def apply_workloads(self) -> None:
        self.announce(
            f"namespace {self.namespace!r}: web + its ScalingPolicy, cache-a/cache-b via the extender"
        )
        kubectl = self._kubectl()
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": self.namespace, "labels": {PART_OF: PART_OF_VALUE}},
        }
        kubectl.apply_manifest(yaml.safe_dump(namespace))
        kubectl.apply(self.files.web_deployment, namespace=self.namespace)
        # A field manager of its own, so that applying the example again keeps this field.
        kubectl.apply(
            self.files.demo("web-startup-time.yaml"),
            namespace=self.namespace,
            field_manager="ebbtide-demo-startup",
        )
        kubectl.apply(self.files.demo("scalingpolicy-web.yaml"), namespace=self.namespace)
        deployment = f"deployment/{self.policy.spec.target_ref.name}"
        kubectl.wait(deployment, condition="Available", namespace=self.namespace, timeout=120)
        self._place_caches()

    def _place_caches(self) -> None:
        """One line on the policy, then cache-a and cache-b placed through the extender."""
        self._kubectl().apply(self.files.demo("affinity-deployments.yaml"), namespace=self.namespace)
        spec = self.policy.spec
        self.detail(
            f"ScalingPolicy web: {spec.prediction.model} forecast "
            f"{format_duration(spec.prediction.horizon)} ahead, every {format_duration(spec.interval)}, "
            f"{spec.metric.target_per_replica:g} req/s per replica, scale-down window "
            f"{format_duration(spec.cooldown.scale_down)}"
        )
        placed = wait_placed(
            client.CoreV1Api(self._api()), namespace=self.namespace, replicas=self.caches, timeout=180
        )
        for deployment, nodes in placed.items():
            self.detail(f"{deployment} (affinity key shared by its pods): {view.placement(nodes)}")

    def submit_backlog(self) -> Backlog:
        weights = ", ".join(f"{name} weight {weight:g}" for name, weight in self.queue_weights.items())
        self.announce(f"FairQueues {weights}; a backlog of 10s Jobs (1 CPU each) in both")
        batch = client.BatchV1Api(self._api())
        left = delete_jobs(batch, namespace=self.namespace)
        if left:
            self.detail(f"deleted {left} Jobs an earlier run left")
        self._kubectl().apply_manifest(self._queues_manifest())
        backlog = Backlog(
            batch,
            namespace=self.namespace,
            template=self._job_template(),
            queues=self.queue_weights,
            waiting=BACKLOG,
        )
        made = backlog.top_up(list_jobs(batch, namespace=self.namespace))
        self.detail(f"{made} Jobs submitted; {BACKLOG} per queue are kept waiting from now on")
        return backlog

    # ----------------------------------------------------------------------------- step 7
    def watch(self, backlog: Backlog) -> list[Sample]:
        """The live view, until the pattern has played or Ctrl-C; returns the samples."""
        ramp = self.pattern.phase("ramp")
        self.announce(
            f"live view for {view.clock(self.pattern.duration)}: quiet, then a ramp at "
            f"{view.clock(ramp.start)} to {self.pattern.peak:g} req/s, a plateau, a fall, quiet"
        )
        self.echo(view.HEADER)
        observer = Observer(
            self._api(),
            namespace=self.namespace,
            policy=str(self.policy.metadata.name),
            deployment=self.policy.spec.target_ref.name,
            queues=self.queue_weights,
            read_metrics=self._metrics_reader(),
        )
        batch = client.BatchV1Api(self._api())
        samples: list[Sample] = []
        self._begin_load()
        try:
            while (elapsed := self._elapsed()) <= self.pattern.duration:
                jobs = _jobs_or_none(batch, self.namespace)
                if jobs is not None:
                    backlog.top_up(jobs)
                sample = observer.look(elapsed=elapsed, load=self.pattern.value(elapsed), jobs=jobs)
                self.echo(view.line(sample))
                said = view.decision(sample, samples[-1] if samples else None)
                if said:
                    self.echo(said)
                samples.append(sample)
                time.sleep(max(0.0, LOOK_EVERY * len(samples) - self._elapsed()))
        except KeyboardInterrupt:
            self.echo("interrupted: summing up what was seen so far")
        return samples

    # ----------------------------------------------------------------------------- step 8
    def conclude(self, samples: list[Sample], output: Path) -> tuple[Summary, Outputs] | None:
        self.announce(f"summary, timeline and plot in {output}/")
        if not samples:
            self.detail("no samples: nothing to sum up")
            return None
        placed = read_placement(
            client.CoreV1Api(self._api()), namespace=self.namespace, deployments=self.caches
        )
        summary = summarise(
            samples,
            target_per_replica=self.target_per_replica,
            ramp_start=self.pattern.phase("ramp").start,
            plateau=(self.pattern.phase("plateau").start, self.pattern.phase("plateau").end),
            placement=placed,
        )
        output.mkdir(parents=True, exist_ok=True)
        outputs = Outputs(
            timeline=report.write_timeline(
                output / "timeline.csv", samples, target_per_replica=self.target_per_replica
            ),
            summary=report.write_summary(output / "summary.json", summary),
            plot=report.write_plot(
                output / "demo.png", samples, pattern=self.pattern, target_per_replica=self.target_per_replica
            ),
        )
        for text in view.summary_lines(summary, target_per_replica=self.target_per_replica):
            self.detail(text)
        self.detail(f"wrote {outputs.timeline} and {outputs.summary}")
        if outputs.plot is None:
            self.detail("matplotlib is not installed: no plot (pip install 'ebbtide[plot]')")
        else:
            self.detail(f"wrote {outputs.plot}")
        return summary, outputs

    # ----------------------------------------------------------------------------- hooks
    def _begin_load(self) -> None:
        """Start playing the load pattern (from here on, :meth:`_elapsed` counts)."""
        self.exporter.begin()

    def _elapsed(self) -> float:
        """Seconds since the load pattern began (0 before)."""
        return self.exporter.elapsed() or 0.0

    def _metrics_reader(self) -> Callable[[], str]:
        """How the live view reads the operator's /metrics (the forecast is there)."""
        return metrics_reader(self._operator().metrics_url)

    def _queues_manifest(self) -> str:
        """The FairQueues, as YAML."""
        return self.files.demo("fairqueues.yaml").read_text()

    def _job_template(self) -> Path:
        """The Job the backlog submits over and over."""
        return self.files.demo("batch-job.yaml")

    # ----------------------------------------------------------------------------- helpers

    def _stop_operator(self) -> None:
        if self.operator is not None and self.operator.stop():
            self.detail("stopped the operator")

    def _info(self) -> ClusterInfo:
        if self.info is None:
            raise RuntimeError("the cluster is not up yet")
        return self.info

    def _operator(self) -> OperatorRun:
        if self.operator is None:
            raise RuntimeError("the operator has not been started")
        return self.operator

    def _api(self) -> client.ApiClient:
        if self.api_client is None:
            raise RuntimeError("the cluster is not up yet")
        return self.api_client

    def _kubectl(self) -> Kubectl:
        info = self._info()
        return Kubectl(binary=info.bin_dir / "kubectl", kubeconfig=info.kubeconfig)


def _jobs_or_none(batch: client.BatchV1Api, namespace: str) -> list[Any] | None:
    try:
        return list_jobs(batch, namespace=namespace)
    except Exception:  # a busy API server: the next look tries again
        return None


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _document(path: Path) -> dict[str, Any]:
    (document,) = _documents(path)
    return document
