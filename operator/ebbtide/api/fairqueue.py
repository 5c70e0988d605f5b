"""The FairQueue custom resource: a cluster-scoped queue that admits labelled workloads.

Pods and Jobs labelled ``ebbtide.io/queue: <queue name>`` wait in the queue and are admitted in
weighted fair-share order as capacity frees up. Field docstrings are the CRD's descriptions.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import ClassVar, Literal

from pydantic import Field

from ebbtide.api.base import KubeModel, PrinterColumn, Resource, StatusModel
from ebbtide.api.conditions import Conditions
from ebbtide.api.duration import Duration, when_durations_parse
from ebbtide.api.quantity import Quantity
from ebbtide.api.rules import Rule
from ebbtide.api.selectors import LabelSelector

QueueOrder = Literal["FIFO", "RoundRobin", "ShortestJobFirst", "Priority", "TimeSlice"]
ReclaimPolicy = Literal["Never", "LowerShare"]
WithinQueuePolicy = Literal["Never", "LowerPriority"]
PodPreemptionPolicy = Literal["Never", "Allowed"]
StopPolicy = Literal["None", "Hold", "HoldAndDrain"]

#: A DNS label (RFC 1123): what a queue name must be to fit in a label value.
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS_LABEL = re.compile(DNS_LABEL_PATTERN)


def _is_dns_label(name: str) -> bool:
    return len(name) <= 63 and _DNS_LABEL.fullmatch(name) is not None


class ResourceAmounts(KubeModel):
    """Amounts of CPU and memory, as Kubernetes quantities (cpu: "500m", memory: 32Gi)."""

    cpu: Quantity | None = None
    """CPU in cores: 2, 500m (half a core)."""
    memory: Quantity | None = None
    """Memory in bytes: 512Mi, 32Gi, 1G."""


class ResourceUsage(ResourceAmounts, StatusModel):
    """Amounts of CPU and memory reported by the operator."""


def _within(low: Quantity | None, high: Quantity | None) -> bool:
    return low is None or high is None or low <= high


def _guaranteed_within_limit(resource: str) -> Rule:
    cel_low, cel_high = f"self.guaranteed.{resource}", f"self.limit.{resource}"
    return Rule(
        cel=(
            f"!has(self.guaranteed) || !has(self.limit) || !has({cel_low}) || !has({cel_high})"
            # A malformed amount is refused by its own format rule; comparing it would add a
            # conversion error to that message.
            f" || !isQuantity(string({cel_low})) || !isQuantity(string({cel_high}))"
            f" || quantity(string({cel_low})).compareTo(quantity(string({cel_high}))) <= 0"
        ),
        message=f"guaranteed.{resource} must be less than or equal to limit.{resource}",
        check=lambda spec: (
            spec.guaranteed is None
            or spec.limit is None
            or _within(getattr(spec.guaranteed, resource), getattr(spec.limit, resource))
        ),
        field_path=f".guaranteed.{resource}",
    )


class Preemption(KubeModel):
    """When ebbtide may take capacity back from admitted workloads. The defaults preempt
    nothing: an admitted workload runs until it ends."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel=when_durations_parse("duration(self.minRuntime) >= duration('0s')"),
            message="minRuntime must not be negative",
            check=lambda preemption: preemption.min_runtime >= timedelta(0),
            field_path=".minRuntime",
        ),
    )

    reclaim_within_cohort: ReclaimPolicy = "Never"
    """Never: this queue waits for capacity to free. LowerShare: while this queue is below its
    entitlement and has waiting work, it takes capacity back from queues of its cohort that
    are above theirs, from the queue furthest above its share first, never pushing a queue
    below its entitlement or its guarantee, and only while its own share after admission stays
    at most the victim queue's share after preemption (so two queues never take from each
    other in turn)."""
    within_queue: WithinQueuePolicy = "Never"
    """Never: workloads of this queue never preempt each other. LowerPriority: a waiting
    workload that does not fit may preempt admitted workloads of the same queue with a lower
    pod priority."""
    min_runtime: Duration = timedelta(0)
    """How long a workload of this queue runs after admission before it may be preempted
    (by reclaim, by priority within the queue, or at the end of its time slice)."""
    pod_preemption: PodPreemptionPolicy = "Never"
    """Whether a bare pod of this queue may be preempted. A pod cannot be gated again, so
    preempting it deletes it (an Event on its owner says so); a ReplicaSet's pod comes back
    gated, a pod without an owner is gone. Never: only Jobs are preempted (set back to
    suspend: true, keeping their place at the head of the queue)."""


class FairQueueSpec(KubeModel):
    """The desired behaviour of a FairQueue: its weight in its cohort, the order of its own
    workloads, and the bounds of its share."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.weight > 0.0",
            message="weight must be greater than 0",
            check=lambda spec: spec.weight > 0,
            field_path=".weight",
        ),
        _guaranteed_within_limit("cpu"),
        _guaranteed_within_limit("memory"),
        Rule(
            cel="self.order == 'TimeSlice' ? has(self.timeSlice) : !has(self.timeSlice)",
            message="timeSlice is required when order is TimeSlice, and only then",
            check=lambda spec: (spec.order == "TimeSlice") == (spec.time_slice is not None),
            field_path=".timeSlice",
        ),
        Rule(
            cel=when_durations_parse("!has(self.timeSlice) || duration(self.timeSlice) >= duration('1s')"),
            message="timeSlice must be at least 1s",
            check=lambda spec: spec.time_slice is None or spec.time_slice >= timedelta(seconds=1),
            field_path=".timeSlice",
        ),
    )

    weight: float = 1.0
    """This queue's share of its cohort relative to the other queues' weights: a queue of
    weight 2 is entitled to twice the capacity of a queue of weight 1 when both have demand.
    Must be greater than 0."""
    order: QueueOrder = "FIFO"
    """The order in which this queue's own workloads are admitted. FIFO: oldest first.
    RoundRobin: takes turns between the namespaces that submit to the queue. ShortestJobFirst:
    the workload expected to finish soonest first. Priority: highest pod priority first, then
    oldest. TimeSlice: oldest first, and an admitted workload that has run for timeSlice while
    another workload of the cohort waits is suspended and goes to the back of the queue (a
    Job only; see timeSlice). Fairness between queues is always weighted fair share, whatever
    the order."""
    time_slice: Duration | None = None
    """The quantum of the TimeSlice order: how long an admitted Job runs before it yields to
    waiting work. Required when order is TimeSlice, and only then; at least 1s. A suspended
    Job loses its running pods (and whatever they had not saved) and resumes later."""
    cohort: str = Field(default="default", min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)
    """The group of queues that share capacity; queues in different cohorts never compete.
    Cannot change while the queue has admitted workloads (status.admitted > 0)."""
    guaranteed: ResourceAmounts | None = None
    """Capacity always available to this queue when it has demand, whatever the other queues'
    weights (a floor under its fair share). At most limit."""
    limit: ResourceAmounts | None = None
    """The most this queue may use at once (a cap on its fair share). Unset: no cap."""
    preemption: Preemption = Field(default_factory=Preemption)
    """When admitted workloads may be preempted to give capacity back; by default never."""
    namespace_selector: LabelSelector | None = None
    """Namespaces whose workloads may use this queue. Unset or empty: every namespace."""
    capacity: ResourceAmounts | None = None
    """The capacity of the cohort, as this queue declares it: a quota on what the cohort's
    admitted workloads request in total (pods outside the queues do not count against it; the
    smallest any queue of the cohort declares wins). Unset in every queue of the cohort: the
    allocatable CPU and memory of the cluster's schedulable nodes, less what pods outside the
    queues and the other cohorts' admitted workloads request."""
    stop_policy: StopPolicy = "None"
    """Whether the queue admits. None: as usual. Hold: no new admissions; admitted workloads
    run on. HoldAndDrain: no new admissions, and admitted workloads are preempted at once (Jobs
    suspended; bare pods deleted only when preemption.podPreemption is Allowed, otherwise they
    run on). Held workloads wait with reason QueueStopped and claim no share; setting None
    again admits them in their usual order."""


class FairQueueStatus(StatusModel):
    """The observed state of a FairQueue, written by the operator through the status
    subresource."""

    observed_generation: int | None = Field(default=None, ge=0)
    """The metadata.generation of the spec this status reflects."""
    pending: int | None = Field(default=None, ge=0)
    """Workloads waiting in this queue for admission."""
    admitted: int | None = Field(default=None, ge=0)
    """Workloads admitted from this queue that are still running."""
    usage: ResourceUsage | None = None
    """Resources requested by this queue's admitted workloads."""
    entitlement: ResourceUsage | None = None
    """This queue's fair share of the cohort's capacity: weighted, floored at guaranteed,
    capped at limit and at its demand."""
    share: float | None = Field(default=None, ge=0)
    """Dominant-resource share: the largest of usage / entitlement over CPU and memory. The
    backlogged queue with the lowest share is admitted from next."""
    preempted: int | None = Field(default=None, ge=0)
    """Workloads of this queue preempted so far (by reclaim, priority or time slice)."""
    reclaimed: int | None = Field(default=None, ge=0)
    """Workloads of other queues this queue has preempted to reclaim its share."""
    conditions: Conditions = Field(default_factory=list)
    """The current state of the queue, one condition per type."""


def _cohort_unchanged_or_idle(new: FairQueue, old: FairQueue) -> bool:
    return new.spec.cohort == old.spec.cohort or not old.status.admitted


class FairQueue(Resource):
    """FairQueue holds back Pods and Jobs labelled ebbtide.io/queue=<name> and admits them as
    capacity frees up, sharing the cohort's capacity among queues by weighted fair share."""

    KIND: ClassVar[str] = "FairQueue"
    PLURAL: ClassVar[str] = "fairqueues"
    SINGULAR: ClassVar[str] = "fairqueue"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("fq",)
    NAMESPACED: ClassVar[bool] = False
    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel=(f"size(self.metadata.name) <= 63 && self.metadata.name.matches('{DNS_LABEL_PATTERN}')"),
            message=(
                "metadata.name must be a DNS label (at most 63 lowercase letters, digits and"
                " '-'), to fit the ebbtide.io/queue label"
            ),
            check=lambda queue: queue.metadata.name is None or _is_dns_label(queue.metadata.name),
        ),
        Rule(
            cel=(
                "self.spec.cohort == oldSelf.spec.cohort || !has(oldSelf.status) ||"
                " !has(oldSelf.status.admitted) || oldSelf.status.admitted == 0"
            ),
            message="cohort cannot change while the queue has admitted workloads",
            check=_cohort_unchanged_or_idle,
            field_path=".spec.cohort",
            transition=True,
        ),
    )
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="Weight", type="number", json_path=".spec.weight", description="Weight"),
        PrinterColumn(
            name="Order",
            type="string",
            json_path=".spec.order",
            description="Order within the queue",
        ),
        PrinterColumn(
            name="Pending",
            type="integer",
            json_path=".status.pending",
            description="Workloads waiting for admission",
        ),
        PrinterColumn(
            name="Admitted",
            type="integer",
            json_path=".status.admitted",
            description="Admitted workloads still running",
        ),
        PrinterColumn(
            name="Share",
            type="number",
            json_path=".status.share",
            description="Dominant-resource share of the entitlement",
        ),
        PrinterColumn(
            name="Preempted",
            type="integer",
            json_path=".status.preempted",
            description="Workloads of this queue preempted so far",
        ),
        PrinterColumn(
            name="Reclaimed",
            type="integer",
            json_path=".status.reclaimed",
            description="Workloads of other queues preempted to reclaim this queue's share",
        ),
        PrinterColumn(
            name="Ready",
            type="string",
            json_path='.status.conditions[?(@.type=="Active")].status',
            description="Whether the queue takes part in admission (its Active condition)",
        ),
        PrinterColumn(
            name="Age",
            type="date",
            json_path=".metadata.creationTimestamp",
            description="Time since the queue was created",
        ),
        PrinterColumn(
            name="Message",
            type="string",
            json_path='.status.conditions[?(@.type=="Active")].message',
            description="Why the queue is not active, if it is not",
        ),
        PrinterColumn(
            name="Cohort", type="string", json_path=".spec.cohort", description="Cohort", priority=1
        ),
        PrinterColumn(
            name="Waiting",
            type="string",
            json_path='.status.conditions[?(@.type=="Backlogged")].message',
            description="Why the queue's first workload waits",
            priority=1,
        ),
        PrinterColumn(
            name="Reclaim",
            type="string",
            json_path=".spec.preemption.reclaimWithinCohort",
            description="Whether the queue reclaims its share from others",
            priority=1,
        ),
    )

    api_version: Literal["ebbtide.io/v1alpha1"] = "ebbtide.io/v1alpha1"
    """APIVersion defines the versioned schema of this representation of an object."""
    kind: Literal["FairQueue"] = "FairQueue"
    """Kind is a string value representing the REST resource this object represents."""
    spec: FairQueueSpec = Field(default_factory=FairQueueSpec)
    status: FairQueueStatus = Field(default_factory=FairQueueStatus)
