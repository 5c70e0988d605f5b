"""``ebbtide demo --kind``: the same demo on a kind cluster, with real pods and real load.

What changes from :class:`ebbtide.demo.steps.DemoRun`, step by step:

1. the cluster is a kind cluster of the offline node image (``ebbtide kind up``), with every
   image built here (``ebbtide kind images``) loaded on its nodes;
3. ebbtide runs as users run it, from its Helm chart (two operator replicas, the webhook
   Service, the second scheduler and the extender), beside a Prometheus in the cluster;
4. web is the demo workload (:mod:`ebbtide.workload.service`), a real HTTP service that takes
   15 s to start, and Prometheus scrapes its request counter;
5. the ScalingPolicy is examples/kind/scalingpolicy-web.yaml: the request rate Prometheus
   measures, 10 requests/s per replica;
6. the Jobs' containers really run for 10 s, each asking 100m CPU, and the queues' capacity is
   room for six such Jobs at once, since the nodes are this machine's;
7. the load generator (:mod:`ebbtide.workload.loadgen`) plays the demo's pattern from a pod,
   5 to 60 requests/s, and the live view's clock starts when its container does.

The live view, the summary, the timeline and the plot are the same code as the local demo's.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.utils import parse_quantity

from ebbtide.api import ScalingPolicy
from ebbtide.demo.files import DemoFiles
from ebbtide.demo.observe import PREDICTED_LOAD_METRIC
from ebbtide.demo.operator_process import webhook_gates
from ebbtide.demo.pattern import LoadPattern
from ebbtide.demo.steps import DemoRun, Echo
from ebbtide.devcluster.cluster import ClusterInfo
from ebbtide.devcluster.paths import bin_dir, state_root
from ebbtide.errors import KindError
from ebbtide.kind import release
from ebbtide.kind.binaries import ensure_kind
from ebbtide.kind.cluster import KindCluster
from ebbtide.kind.images import Images, ensure_images
from ebbtide.kind.nodeimage import ensure_node_image
from ebbtide.kube.client import load_api_client

#: The Helm release the demo installs, and its namespace.
RELEASE = "ebbtide"
RELEASE_NAMESPACE = "ebbtide-system"
#: Where examples/kind/prometheus.yaml serves, inside the cluster.
PROMETHEUS_URL = "http://prometheus.monitoring.svc:9090"
#: The load generator's pattern: what a few web pods on this machine's nodes carry.
BASE_RATE = 5.0
PEAK_RATE = 60.0
#: What each Job asks and how long its container runs.
JOB_CPU = "100m"
JOB_SECONDS = 10
#: The queues' capacity: room for this many Jobs at once.
JOB_SLOTS = 6
_T = TypeVar("_T")

#: How long the first steps may take on a loaded machine (seconds).
READY_TIMEOUT = 600


class KindDemoRun(DemoRun):
    """One run of the demo on the kind cluster ``name`` (created unless it exists)."""

    def __init__(self, *, name: str, duration: float, echo: Echo, files: DemoFiles) -> None:
        super().__init__(name=name, duration=duration, echo=echo, files=files)
        self.kind_cluster = KindCluster(name, ensure_kind(self.detail))
        self.pattern = LoadPattern(duration=duration, base=BASE_RATE, peak=PEAK_RATE)
        self.policy = ScalingPolicy.model_validate(_policy(files))
        self.images: Images | None = None
        self.load_started: datetime | None = None

    @property
    def examples(self) -> Path:
        return self.files.root / "examples" / "kind"

    # ----------------------------------------------------------------------------- steps
    def start_cluster(self) -> ClusterInfo:
        self.announce(
            f"kind cluster {self.kind_cluster.name!r}: a control plane and two workers of the "
            "offline node image, with the images built here"
        )
        log = state_root() / "kind-build.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.images = ensure_images(progress=self.detail, log=log)
        node_image = ensure_node_image(progress=self.detail, log=log)
        self.kind_cluster.create(
            image=node_image, config=self.files.root / "kind-config.yaml", progress=self.detail
        )
        self.kind_cluster.load(
            self.images.ebbtide, self.images.workload, self.images.loadgen, self.images.prometheus
        )
        self.info = ClusterInfo(
            name=self.kind_cluster.name,
            kubeconfig=self.kind_cluster.kubeconfig,
            apiserver_url="",
            prometheus_url=PROMETHEUS_URL,
            bin_dir=bin_dir(),
            state_dir=self.kind_cluster.state,
        )
        self.api_client = load_api_client(self.info.kubeconfig)
        self._stack.callback(self.api_client.close)
        self.detail(f"kubeconfig: {self.info.kubeconfig}")
        return self.info

    def start_operator(self) -> None:
        self.announce(
            f"Prometheus in the cluster, and ebbtide's Helm chart as release {RELEASE!r} in "
            f"{RELEASE_NAMESPACE!r}: two operator replicas, the webhook, the ebbtide-scheduler "
            "and the extender"
        )
        prometheus = self._with_images(self.examples / "prometheus.yaml")
        self._kubectl().apply_manifest(yaml.safe_dump_all(prometheus))
        release.install(
            self.kind_cluster,
            self.files.root / "charts" / "ebbtide",
            release=RELEASE,
            namespace=RELEASE_NAMESPACE,
            values=release.chart_values(image=self._images().ebbtide, prometheus_url=PROMETHEUS_URL),
            timeout=READY_TIMEOUT,
        )
        core = client.CoreV1Api(self._api())
        _wait(lambda: webhook_gates(core), timeout=120, what="the fair-queue webhook to gate queued pods")
        self.detail("Available, and the fair-queue webhook gates queued pods")

    def start_load(self) -> None:
        self.announce("web: the demo workload (a real HTTP service, 15s to start), scraped by Prometheus")
        self._kubectl().apply_manifest(yaml.safe_dump(_namespace(self.namespace)))
        web = [d for d in self._workload_documents() if d["metadata"]["name"] != "load"]
        self._kubectl().apply_manifest(yaml.safe_dump_all(web))
        kubectl = self._kubectl()
        kubectl.wait(
            "deployment/prometheus", condition="Available", namespace="monitoring", timeout=READY_TIMEOUT
        )
        kubectl.wait("deployment/web", condition="Available", namespace=self.namespace, timeout=READY_TIMEOUT)
        self.detail(f"Prometheus scrapes web's pods through web-pods.{self.namespace} (DNS)")

    def apply_workloads(self) -> None:
        self.announce(f"namespace {self.namespace!r}: web's ScalingPolicy, cache-a/cache-b via the extender")
        policy = _policy(self.files)
        policy["metadata"]["namespace"] = self.namespace
        self._kubectl().apply_manifest(yaml.safe_dump(policy))
        self._place_caches()

    # ----------------------------------------------------------------------------- hooks
    def _begin_load(self) -> None:
        (load,) = [d for d in self._workload_documents() if d["metadata"]["name"] == "load"]
        container = load["spec"]["template"]["spec"]["containers"][0]
        container["args"] = [
            f"--url=http://web.{self.namespace}:8080/",
            f"--duration={self.pattern.duration:.0f}s",
            f"--base={self.pattern.base:g}",
            f"--peak={self.pattern.peak:g}",
        ]
        # A load generator an earlier run left has played its pattern already: start afresh.
        kubectl = self._kubectl()
        kubectl.run("delete", "deployment/load", f"--namespace={self.namespace}", "--ignore-not-found")
        kubectl.apply_manifest(yaml.safe_dump(load))
        core = client.CoreV1Api(self._api())
        self.load_started = _wait(
            lambda: _started(core, self.namespace, "app=load"), timeout=120, what="the load generator to run"
        )

    def _elapsed(self) -> float:
        if self.load_started is None:
            return 0.0
        return (datetime.now(UTC) - self.load_started).total_seconds()

    def _metrics_reader(self) -> Callable[[], str]:
        core = client.CoreV1Api(self._api())

        def read() -> str:
            # Only the replica that owns the demo's policy (status.owner) holds its forecasts.
            try:
                pods = core.list_namespaced_pod(
                    RELEASE_NAMESPACE, label_selector="app.kubernetes.io/component=operator"
                ).items
                for pod in pods:
                    text = str(
                        core.connect_get_namespaced_pod_proxy_with_path(
                            f"{pod.metadata.name}:8080", RELEASE_NAMESPACE, "metrics"
                        )
                    )
                    if PREDICTED_LOAD_METRIC + "{" in text:
                        return text
            except ApiException as error:
                raise OSError(f"reading an operator's /metrics failed: {error.reason}") from error
            raise OSError("no operator replica serves a forecast yet")

        return read

    def _queues_manifest(self) -> str:
        capacity = f"{JOB_SLOTS * parse_quantity(JOB_CPU) * 1000:.0f}m"
        queues = [d for d in yaml.safe_load_all(self.files.demo("fairqueues.yaml").read_text()) if d]
        for queue in queues:
            queue["spec"]["capacity"] = {"cpu": capacity, "memory": "64Gi"}
        self.detail(f"the cohort's capacity for queued work: {capacity} CPU ({JOB_SLOTS} Jobs at once)")
        return yaml.safe_dump_all(queues)

    def _job_template(self) -> Path:
        job = yaml.safe_load(self.files.demo("batch-job.yaml").read_text())
        pod = job["spec"]["template"]
        pod["metadata"].pop("annotations", None)  # KWOK's simulated duration
        (container,) = pod["spec"]["containers"]
        container.update(
            image=self._images().ebbtide,
            imagePullPolicy="Never",
            command=["python3", "-c", f"import time; time.sleep({JOB_SECONDS})"],
            resources={"requests": {"cpu": JOB_CPU, "memory": "32Mi"}},
        )
        folder = Path(tempfile.mkdtemp(prefix="ebbtide-demo-"))
        self._stack.callback(_remove, folder)
        path = folder / "batch-job.yaml"
        path.write_text(yaml.safe_dump(job))
        return path

    # ----------------------------------------------------------------------------- helpers
    def _images(self) -> Images:
        if self.images is None:
            raise RuntimeError("the images are not built yet")
        return self.images

    def _with_images(self, manifest: Path) -> list[dict[str, Any]]:
        """The documents of ``manifest`` with the images built here, pulled never."""
        images = self._images()
        built = {
            "ebbtide-workload": images.workload,
            "ebbtide-loadgen": images.loadgen,
            "ebbtide-prometheus": images.prometheus,
        }
        documents = [d for d in yaml.safe_load_all(manifest.read_text()) if d]
        for document in documents:
            pod = ((document.get("spec") or {}).get("template") or {}).get("spec") or {}
            for container in pod.get("containers") or []:
                repository = container["image"].rsplit(":", 1)[0]
                if repository in built:
                    container.update(image=built[repository], imagePullPolicy="Never")
        return documents

    def _workload_documents(self) -> list[dict[str, Any]]:
        """examples/kind/web.yaml moved into the demo's namespace."""
        documents = [d for d in self._with_images(self.examples / "web.yaml") if d["kind"] != "Namespace"]
        for document in documents:
            document["metadata"]["namespace"] = self.namespace
        return documents


def _policy(files: DemoFiles) -> dict[str, Any]:
    path = files.root / "examples" / "kind" / "scalingpolicy-web.yaml"
    (document,) = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return dict(document)


def _namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _started(core: client.CoreV1Api, namespace: str, selector: str) -> datetime | None:
    """When the running container of the pod matching ``selector`` started; None if none runs."""
    for pod in core.list_namespaced_pod(namespace, label_selector=selector).items:
        if pod.metadata.deletion_timestamp is not None:
            continue
        for status in pod.status.container_statuses or []:
            if status.state and status.state.running and status.state.running.started_at:
                return status.state.running.started_at  # type: ignore[no-any-return]
    return None


def _wait(check: Callable[[], _T | None], *, timeout: float, what: str) -> _T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise KindError(f"waited {timeout:.0f}s for {what}")
        time.sleep(1.0)


def _remove(folder: Path) -> None:
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
