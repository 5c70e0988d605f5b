"""The fair-queue admission engine: informers, the store, the admission loop, the writers.

Why not kopf's own watching for pods and Jobs: kopf handles each object through a per-object
worker with its own memory, patch and logging machinery, which is what a handler of a few
custom resources wants and far more than 10,000 pods need; and a cycle must know when *every*
kind has been listed once (:mod:`ebbtide.controllers.fairqueue.store`), which kopf does not tell. So
five plain list+watch threads (:class:`ebbtide.kube.informer.Informer`) feed one store; kopf
runs the webhooks and the operator's lifecycle (:mod:`ebbtide.controllers.fairqueue.controller`).

The engine watches the whole cluster whatever ``--namespace`` says: FairQueues are
cluster-scoped and capacity depends on every pod.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kubernetes import client

from ebbtide.api import API_GROUP, API_VERSION, FairQueue
from ebbtide.api.fairqueue_vocabulary import FIELD_MANAGER, QUEUE_LABEL
from ebbtide.controllers.fairqueue.cycle import AdmissionCycle, CycleResult
from ebbtide.controllers.fairqueue.loop import AdmissionLoop
from ebbtide.controllers.fairqueue.reclaim import Preempter
from ebbtide.controllers.fairqueue.reporting import Reporter
from ebbtide.controllers.fairqueue.store import QueueStore
from ebbtide.controllers.fairqueue.waiting import WaitingNotes
from ebbtide.kube.informer import Informer
from ebbtide.kube.preemption_writes import PreemptionWriter
from ebbtide.kube.queue_events import EventRecorder
from ebbtide.kube.status import patch_status
from ebbtide.kube.workload_writes import WorkloadWriter
from ebbtide.metrics import queue_metrics as metrics

logger = logging.getLogger(__name__)

#: Finished pods hold nothing; the API server reports a pod leaving this selection as DELETED.
UNFINISHED_PODS = "status.phase!=Succeeded,status.phase!=Failed"


@dataclass(frozen=True)
class EngineSettings:
    """Tuning: concurrent admissions and reporting writes, debounce and resync of cycles,
    waiting notes per batch, and the least seconds between two batches of reporting writes
    (statuses and waiting notes: at most ``waiting_budget / report_interval`` notes a second
    and a status write per queue every ``report_interval`` seconds)."""

    write_concurrency: int = 16
    report_concurrency: int = 4
    debounce: float = 0.2
    resync: float = 30.0
    waiting_budget: int = 100
    report_interval: float = 5.0


class QueueEngine:
    """Everything the queue controller runs besides the webhooks; :meth:`start` / :meth:`stop`.

    ``may_admit`` gates the admission cycles (see :class:`AdmissionCycle`); the informers run
    regardless, so the view is current the moment it turns true
    (:class:`ebbtide.controllers.fairqueue.leadership.LeaderElectedEngine` ties it to a Lease).
    """

    def __init__(
        self,
        api_client: client.ApiClient,
        settings: EngineSettings = EngineSettings(),
        *,
        may_admit: Callable[[], bool] = lambda: True,
    ) -> None:
        self.settings = settings
        connections = settings.write_concurrency + settings.report_concurrency + 8
        self.api_client = _own_client(api_client, pool=connections)
        self.loop = AdmissionLoop(cycle=self._run_cycle, debounce=settings.debounce, resync=settings.resync)
        self.store = QueueStore(on_change=self.loop.poke)
        self.pool = ThreadPoolExecutor(settings.write_concurrency, thread_name_prefix="ebbtide-admit")
        self.report_pool = ThreadPoolExecutor(
            settings.report_concurrency, thread_name_prefix="ebbtide-report"
        )
        # Events wait while admissions are written (the cycle is made below; the lambda reads it
        # when a worker asks).
        self.events = EventRecorder(
            self.api_client, hold=lambda: self.cycle.admitting, on_drop=metrics.EVENTS_DROPPED.inc
        )
        writer = WorkloadWriter(self.api_client)
        self.cycle = AdmissionCycle(
            store=self.store,
            writer=writer,
            reporter=Reporter(
                writer=writer,
                write_status=self._write_status,
                events=self.events,
                pool=self.report_pool,
                notes=WaitingNotes(budget=settings.waiting_budget),
                wake=self.loop.poke,
                interval=settings.report_interval,
            ),
            events=self.events,
            pool=self.pool,
            may_admit=may_admit,
            preempter=Preempter(
                store=self.store,
                writer=PreemptionWriter(self.api_client),
                events=self.events,
                write_counts=self._write_status,
                may_preempt=may_admit,
            ),
        )
        self.informers = self._informers()
        self._synced_reported = False

    def start(self) -> None:
        self.events.start()
        for informer in self.informers:
            informer.start()
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop()
        for informer in self.informers:
            informer.stop()
        self.events.stop()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.report_pool.shutdown(wait=True, cancel_futures=True)
        self.api_client.close()

    def _write_status(self, name: str, status: Mapping[str, object]) -> bool:
        return patch_status(
            self.api_client,
            group=API_GROUP,
            version=API_VERSION,
            plural=FairQueue.PLURAL,
            name=name,
            namespace=None,
            status=status,
            field_manager=FIELD_MANAGER,
        )

    def _run_cycle(self) -> CycleResult:
        if not self._synced_reported and all(informer.synced.is_set() for informer in self.informers):
            self._synced_reported = True
            metrics.VIEW_SYNCED.set(time.time())
            logger.info("fair-queue view complete: admission cycles start")
        return self.cycle.run()

    def _informers(self) -> list[Informer]:
        core = client.CoreV1Api(self.api_client)
        batch = client.BatchV1Api(self.api_client)
        custom = client.CustomObjectsApi(self.api_client)
        store = self.store
        return [
            Informer(
                kind="fairqueues",
                list_func=custom.list_cluster_custom_object,
                list_kwargs={"group": API_GROUP, "version": API_VERSION, "plural": FairQueue.PLURAL},
                on_list=store.replace_queues,
                on_event=store.apply_queue,
            ),
            Informer(
                kind="pods",
                list_func=core.list_pod_for_all_namespaces,
                list_kwargs={"field_selector": UNFINISHED_PODS},
                on_list=store.replace_pods,
                on_event=store.apply_pod,
            ),
            Informer(
                kind="jobs",
                list_func=batch.list_job_for_all_namespaces,
                list_kwargs={"label_selector": QUEUE_LABEL},
                on_list=store.replace_jobs,
                on_event=store.apply_job,
            ),
            Informer(
                kind="nodes", list_func=core.list_node, on_list=store.replace_nodes, on_event=store.apply_node
            ),
            Informer(
                kind="namespaces",
                list_func=core.list_namespace,
                on_list=store.replace_namespaces,
                on_event=store.apply_namespace,
            ),
        ]


def _own_client(shared: client.ApiClient, *, pool: int) -> client.ApiClient:
    # The engine's threads (informers, write pool, event posters) each hold a connection; the
    # default pool (5 per CPU) would make urllib3 open and discard connections under load.
    configuration = copy.deepcopy(shared.configuration)
    configuration.connection_pool_maxsize = pool
    return client.ApiClient(configuration)
