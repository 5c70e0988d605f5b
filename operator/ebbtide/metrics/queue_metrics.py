"""The fair queues' own metrics, on the operator's /metrics (prometheus_client's default registry).

Per-queue series carry a ``queue`` label (and ``resource``: ``cpu`` in cores, ``memory`` in
bytes; pending workloads also ``reason``, one series per wait reason, zeros included, so a
reason that clears drops to 0 instead of leaving its last count behind), so 50 queues make a few
hundred series. A queue's gauges are removed when the queue is
deleted (:func:`forget_queue`), and all of them while the replica does not lead
(:func:`forget_all_queues`); counters and histograms stay, as counters must.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

from ebbtide.api.fairqueue_vocabulary import WaitReason
from ebbtide.metrics.conditions import ConditionGauge

PENDING = Gauge(
    "ebbtide_fairqueue_pending_workloads",
    "Workloads waiting in the queue, by why they wait (their ebbtide.io/waiting-reason).",
    ["queue", "reason"],
)
ADMITTED = Gauge(
    "ebbtide_fairqueue_admitted_workloads", "Workloads admitted from the queue and still running.", ["queue"]
)
USAGE = Gauge(
    "ebbtide_fairqueue_usage",
    "Resources requested by the queue's admitted workloads (cpu in cores, memory in bytes).",
    ["queue", "resource"],
)
ENTITLEMENT = Gauge(
    "ebbtide_fairqueue_entitlement",
    "The queue's fair share of its cohort's capacity (cpu in cores, memory in bytes).",
    ["queue", "resource"],
)
SHARE = Gauge(
    "ebbtide_fairqueue_share_ratio",
    "Dominant-resource share: the largest usage / entitlement over cpu and memory (+Inf when the "
    "queue uses a resource it is entitled to none of).",
    ["queue"],
)
ADMISSIONS = Counter("ebbtide_fairqueue_admissions", "Workloads the queue admitted.", ["queue"])
PREEMPTIONS = Counter(
    "ebbtide_fairqueue_preemptions",
    "Workloads preempted, by their queue, the queue that needed the capacity, and reason "
    "(Reclaimed, PreemptedByPriority, TimeSliceExpired).",
    ["queue", "by_queue", "reason"],
)
ADMISSION_LATENCY = Histogram(
    "ebbtide_fairqueue_admission_latency_seconds",
    "Time from a workload's creation to its admission.",
    ["queue"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0),
)
CYCLE_SECONDS = Histogram(
    "ebbtide_fairqueue_cycle_seconds",
    "Duration of one admission cycle: snapshot, plan, admissions, status and waiting notes.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
WRITES = Counter(
    "ebbtide_fairqueue_writes",
    "Writes of the admission cycles, by kind (admission, waiting, status) and outcome (ok, error).",
    ["kind", "outcome"],
)
CONFLICTS = Counter(
    "ebbtide_fairqueue_admission_conflicts",
    "Admissions that met a changed object (409) and were decided again, by result "
    "(AlreadyAdmitted, Changed, Gone).",
    ["result"],
)
EVENTS_DROPPED = Counter(
    "ebbtide_fairqueue_events_dropped",
    "Events not posted because the event queue was full (Events wait there while admissions are "
    "written, then go out at a limited rate).",
)
VIEW_SYNCED = Gauge(
    "ebbtide_fairqueue_view_synced_timestamp_seconds",
    "When the controller's view of queues, workloads, nodes and namespaces was first complete "
    "after start (0 until then): admission cycles start from that moment.",
)
LEADER = Gauge(
    "ebbtide_fairqueue_leader",
    "1 while this replica holds the fair-queue Lease and runs admission cycles, else 0 (a standby "
    "keeps its view of the cluster current but admits nothing).",
)

WEBHOOK_CERTIFICATE_EXPIRY = Gauge(
    "ebbtide_webhook_certificate_expiry_timestamp_seconds",
    "When the admission webhook's certificates that the operator keeps expire (Unix time): "
    "certificate=serving, the one this replica serves, and certificate=ca, its CA.",
    ["certificate"],
)
WEBHOOK_CERTIFICATE_REFRESH_FAILURES = Counter(
    "ebbtide_webhook_certificate_refresh_failures",
    "Failed reads or renewals of the webhook's kept certificate (the certificate in use is kept).",
)

STOPPED = Gauge(
    "ebbtide_fairqueue_stopped",
    "1 while the queue's spec.stopPolicy (Hold, HoldAndDrain) holds its admissions, else 0.",
    ["queue"],
)
CONDITIONS = ConditionGauge(
    "ebbtide_fairqueue_status_condition",
    "The queue's status conditions: 1 for the condition's current status, 0 for the others.",
    ["queue"],
)

_GAUGES_BY_QUEUE = (ADMITTED, SHARE, STOPPED)
_GAUGES_BY_QUEUE_AND_RESOURCE = (USAGE, ENTITLEMENT)


def set_pending(queue: str, by_reason: Mapping[WaitReason, int]) -> None:
    """Publish the queue's pending workloads by wait reason (absent reasons as 0)."""
    for reason in WaitReason:
        PENDING.labels(queue, str(reason)).set(by_reason.get(reason, 0))


def forget_queue(queue: str) -> None:
    """Remove a deleted queue's gauge series."""
    for gauge in _GAUGES_BY_QUEUE:
        with contextlib.suppress(KeyError):
            gauge.remove(queue)
    for gauge in _GAUGES_BY_QUEUE_AND_RESOURCE:
        for resource in ("cpu", "memory"):
            with contextlib.suppress(KeyError):
                gauge.remove(queue, resource)
    PENDING.remove_by_labels({"queue": queue})
    CONDITIONS.forget((queue,))


def forget_all_queues() -> None:
    """Remove every queue's gauge series: a replica that stops leading no longer knows them, and
    its last values would otherwise stand beside the new leader's."""
    for gauge in (PENDING, *_GAUGES_BY_QUEUE, *_GAUGES_BY_QUEUE_AND_RESOURCE):
        gauge.clear()
    CONDITIONS.forget_all()
