"""One admitting replica: the fair-queue engine admits only while it holds a Lease.

The Helm chart runs several operator replicas, and kopf runs standalone in each (the
ScalingPolicies are shared out among them). The admission engine is not shared out: global
fairness needs one view of every queue's usage, and two engines admitting at once would each
count the same free capacity as theirs. So a startup handler starts an engine in every replica,
and the engines elect the one that admits on a coordination.k8s.io/v1 Lease
(:mod:`ebbtide.kube.lease_election`).

Every replica runs the informers, so a standby's view is current when it takes over; only the
leader runs admission cycles (plans, admissions, FairQueue statuses, waiting notes, per-queue
gauges). Taking the Lease forgets what this replica's own earlier cycles remembered (another
replica admitted meanwhile: RoundRobin cursors are found again from the workloads' admissions)
and asks for a cycle at once. The gate reads the elector's clock
on every cycle and before every admission write, so a leader whose renewals fail stops
admitting at its renew deadline, before any standby may take the Lease, even while a renewal
request hangs.

Stopping stops the admission loop first (a cycle in progress completes), then releases the
Lease, so the standby takes over at its next attempt, then stops the rest of the engine.
"""

from __future__ import annotations

from typing import Final

from kubernetes import client

from ebbtide.controllers.fairqueue.engine import EngineSettings, QueueEngine
from ebbtide.kube.lease_election import DEFAULT_TIMING, ElectionTiming, LeaseElector, Leases
from ebbtide.kube.leases import KubeLeases, default_identity, default_namespace
from ebbtide.metrics import queue_metrics as metrics

#: The Lease the replicas compete for (the chart grants get and update on this name only).
LEASE_NAME: Final = "ebbtide-fair-queue"


class LeaderElectedEngine(QueueEngine):
    """A :class:`QueueEngine` that admits only while it holds Lease ``lease_namespace/lease_name``.

    ``lease_namespace`` defaults to :func:`ebbtide.kube.leases.default_namespace` (``$POD_NAMESPACE``
    in the chart), ``identity`` to :func:`ebbtide.kube.leases.default_identity` (``$POD_NAME``);
    ``leases`` replaces the Lease API (tests).
    """

    def __init__(
        self,
        api_client: client.ApiClient,
        settings: EngineSettings | None = None,
        *,
        lease_name: str = LEASE_NAME,
        lease_namespace: str | None = None,
        identity: str | None = None,
        timing: ElectionTiming = DEFAULT_TIMING,
        leases: Leases | None = None,
    ) -> None:
        super().__init__(api_client, settings or EngineSettings(), may_admit=self._leading)
        self.elector = LeaseElector(
            leases=leases
            if leases is not None
            else KubeLeases(self.api_client, timeout=timing.request_timeout),
            name=lease_name,
            namespace=lease_namespace or default_namespace(),
            identity=identity or default_identity(),
            timing=timing,
            on_started_leading=self._started_leading,
            on_stopped_leading=self._stopped_leading,
        )
        metrics.LEADER.set(0)

    @property
    def is_leader(self) -> bool:
        """True while this replica holds the Lease and may admit (for the liveness probe)."""
        return self.elector.is_leader

    def start(self) -> None:
        super().start()
        self.elector.start()

    def stop(self) -> None:
        self.loop.stop()
        self.elector.stop()
        super().stop()

    def _leading(self) -> bool:
        return self.elector.is_leader

    def _started_leading(self) -> None:
        metrics.LEADER.set(1)
        self.cycle.forget_history()
        self.loop.poke()

    def _stopped_leading(self) -> None:
        metrics.LEADER.set(0)
        self.loop.poke()  # a cycle that admits nothing drops the per-queue gauges
