"""Invariants of one planning cycle, over random snapshots."""

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from queue_builders import GI, T0

from ebbtide.api.resources import Resources
from ebbtide.queueing import PendingWorkload, QueueOrder, QueueSpec, ResourceLimit, Snapshot, plan_admissions
from ebbtide.queueing.orders import order_workloads

pytestmark = pytest.mark.unit

NAMESPACES = ("ns-a", "ns-b", "ns-c")
COHORTS = ("", "x")


def amounts(max_cpu: int, max_gi: int) -> st.SearchStrategy[Resources]:
    return st.builds(
        Resources,
        st.integers(min_value=0, max_value=max_cpu).map(lambda c: c * 500),
        st.integers(min_value=0, max_value=max_gi).map(lambda g: g * GI),
    )


# Strategies are built once: constructing them inside a draw loop dominates the run time.
WEIGHTS = st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0, 1e9])
ORDERS = st.sampled_from(list(QueueOrder))
COHORT_NAMES = st.sampled_from(COHORTS)
GUARANTEES = st.just(Resources.ZERO) | amounts(8, 16)
LIMITS = st.none() | amounts(16, 32)
NAMESPACE_SETS = st.none() | st.frozensets(st.sampled_from(NAMESPACES))
NAMESPACE_NAMES = st.sampled_from(NAMESPACES)
REQUESTS = amounts(8, 8)
USAGE = amounts(8, 16)
CAPACITY = amounts(40, 80)
CREATED = st.integers(min_value=0, max_value=20).map(lambda s: T0 + timedelta(seconds=s))
PRIORITIES = st.integers(min_value=0, max_value=3)
DURATIONS = st.none() | st.integers(min_value=0, max_value=600).map(lambda s: timedelta(seconds=s))


@st.composite
def queue_specs(draw: st.DrawFn, name: str) -> QueueSpec:
    limit = draw(LIMITS)
    return QueueSpec(
        name=name,
        weight=draw(WEIGHTS),
        order=draw(ORDERS),
        cohort=draw(COHORT_NAMES),
        guaranteed=draw(GUARANTEES),
        limit=ResourceLimit.UNLIMITED
        if limit is None
        else ResourceLimit(cpu_millis=limit.cpu_millis, memory_bytes=limit.memory_bytes),
        allowed_namespaces=draw(NAMESPACE_SETS),
    )


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    names = [f"q{i}" for i in range(draw(st.integers(min_value=0, max_value=5)))]
    queues = [draw(queue_specs(name)) for name in names]
    queue_names = st.sampled_from([*names, "missing"])
    pending = [
        PendingWorkload(
            namespace=draw(NAMESPACE_NAMES),
            name=f"w{i}",
            queue=draw(queue_names),
            requests=draw(REQUESTS),
            created_at=draw(CREATED),
            priority=draw(PRIORITIES),
            expected_duration=draw(DURATIONS),
        )
        for i in range(draw(st.integers(min_value=0, max_value=20)))
    ]
    return Snapshot(
        queues=queues,
        cohort_capacity={cohort: draw(CAPACITY) for cohort in COHORTS if draw(st.booleans())},
        pending=pending,
        usage={name: draw(USAGE) for name in names if draw(st.booleans())},
        round_robin_cursors={name: draw(NAMESPACE_NAMES) for name in names if draw(st.booleans())},
    )


def apply(snapshot: Snapshot) -> Snapshot:
    """The snapshot a controller sees after carrying out the plan."""
    plan = plan_admissions(snapshot)
    usage = dict(snapshot.usage)
    for admission in plan.admissions:
        queue = admission.workload.queue
        usage[queue] = usage.get(queue, Resources.ZERO) + admission.workload.requests
    admitted = {admission.workload.ref for admission in plan.admissions}
    return replace(
        snapshot,
        pending=[w for w in snapshot.pending if w.ref not in admitted],
        usage=usage,
        round_robin_cursors=plan.round_robin_cursors,
    )


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_every_pending_workload_is_admitted_or_waits_exactly_once(snapshot: Snapshot) -> None:
    plan = plan_admissions(snapshot)
    decided = [a.workload.ref for a in plan.admissions] + [w.workload.ref for w in plan.waiting]
    assert sorted(decided) == sorted(w.ref for w in snapshot.pending)


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_no_queue_exceeds_its_limit_and_no_cohort_its_capacity(snapshot: Snapshot) -> None:
    plan = plan_admissions(snapshot)
    specs = {q.name: q for q in snapshot.queues}
    cohort_use: dict[str, Resources] = defaultdict(lambda: Resources.ZERO)
    for name, status in plan.queues.items():
        cohort_use[specs[name].cohort] = cohort_use[specs[name].cohort] + status.usage
        if status.admitted:
            assert specs[name].limit.admits(status.usage)
    for admission in plan.admissions:
        cohort = specs[admission.workload.queue].cohort
        capacity = snapshot.cohort_capacity.get(cohort, Resources.ZERO)
        assert cohort_use[cohort].fits_within(capacity)


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_admissions_take_a_prefix_of_each_queue_order(snapshot: Snapshot) -> None:
    plan = plan_admissions(snapshot)
    specs = {q.name: q for q in snapshot.queues}
    waiting_positions = {w.workload.ref: w.queue_position for w in plan.waiting}
    for name, spec in specs.items():
        admitted = [a.workload for a in plan.admissions if a.workload.queue == name]
        admittable = admitted + [
            w.workload for w in plan.waiting if w.workload.queue == name and w.queue_position
        ]
        ordered = order_workloads(
            order=spec.order,
            workloads=admittable,
            round_robin_cursor=snapshot.round_robin_cursors.get(name),
        )
        assert ordered[: len(admitted)] == admitted
        assert [waiting_positions[w.ref] for w in ordered[len(admitted) :]] == list(
            range(1, len(ordered) - len(admitted) + 1)
        )


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_cohort_positions_number_each_cohort_from_one(snapshot: Snapshot) -> None:
    plan = plan_admissions(snapshot)
    by_cohort: dict[str, list[int]] = defaultdict(list)
    for item in plan.waiting:
        if item.cohort_position is not None:
            by_cohort[plan.queues[item.workload.queue].cohort].append(item.cohort_position)
    for positions in by_cohort.values():
        assert sorted(positions) == list(range(1, len(positions) + 1))


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_replanning_after_carrying_out_a_plan_admits_nothing(snapshot: Snapshot) -> None:
    assert plan_admissions(apply(snapshot)).admissions == ()


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_admissions_within_guarantee_come_before_all_others(snapshot: Snapshot) -> None:
    flags = [a.within_guarantee for a in plan_admissions(snapshot).admissions]
    assert flags == sorted(flags, reverse=True)


@settings(max_examples=200, deadline=None)
@given(
    others=st.lists(st.tuples(st.sampled_from([1.0, 5.0, 1e6]), st.integers(0, 8)), max_size=4),
    guaranteed_cpu=st.integers(min_value=1, max_value=8),
    job_cpus=st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=6),
    spare=st.integers(min_value=0, max_value=8),
)
def test_guaranteed_demand_is_admitted_whenever_the_capacity_is_free(
    others: list[tuple[float, int]], guaranteed_cpu: int, job_cpus: list[int], spare: int
) -> None:
    # Jobs of the guaranteed queue up to its guarantee are admitted even against queues of
    # far higher weight with huge backlogs, as long as the free capacity covers them.
    own_jobs = []
    for index, cpu in enumerate(job_cpus):
        if sum(j.requests.cpu_millis for j in own_jobs) + cpu * 1000 > guaranteed_cpu * 1000:
            break
        own_jobs.append(_pending(f"g{index}", queue="g", cpu=cpu, created=index))
    queues = [QueueSpec(name="g", weight=0.5, guaranteed=Resources(guaranteed_cpu * 1000, 0))]
    usage = {}
    backlog = []
    for index, (weight, used_cpu) in enumerate(others):
        name = f"o{index}"
        queues.append(QueueSpec(name=name, weight=weight))
        usage[name] = Resources(used_cpu * 1000, 0)
        backlog += [_pending(f"{name}-{i}", queue=name, cpu=1, created=-100 + i) for i in range(40)]
    used = sum(u.cpu_millis for u in usage.values())
    capacity = Resources(used + guaranteed_cpu * 1000 + spare * 1000, 10**15)
    plan = plan_admissions(
        Snapshot(queues=queues, cohort_capacity={"": capacity}, pending=own_jobs + backlog, usage=usage)
    )
    admitted = {a.workload.name for a in plan.admissions}
    assert {j.name for j in own_jobs} <= admitted


def _pending(name: str, *, queue: str, cpu: int, created: int) -> PendingWorkload:
    return PendingWorkload(
        namespace="default",
        name=name,
        queue=queue,
        requests=Resources(cpu * 1000, 0),
        created_at=T0 + timedelta(seconds=created),
    )
