"""Invariants of preemption over random cohorts: floors, minimal victims, convergence, no cycles."""

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from preemption_sim import SimCluster, running, usage_of
from queue_builders import T0, cores, job, queue

from ebbtide.api.resources import Resources
from ebbtide.queueing import (
    PreemptionPolicy,
    QueueSpec,
    Snapshot,
    dominant_share,
    plan_admissions,
    plan_preemptions,
)

pytestmark = pytest.mark.unit

NAMES = ("a", "b", "c")
NOW = T0 + timedelta(hours=1)


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[list[QueueSpec], list, list, Resources]:
    count = draw(st.integers(min_value=2, max_value=3))
    queues, runs, pending = [], [], []
    for name in NAMES[:count]:
        guarantee = draw(st.sampled_from([0, 0, 2, 4]))
        spec = replace(
            queue(name).weight(draw(st.sampled_from([1, 2, 3]))).guaranteed(guarantee).build(),
            preemption=PreemptionPolicy(reclaim=True),
        )
        queues.append(spec)
        for i in range(draw(st.integers(min_value=0, max_value=12))):
            cpu = draw(st.sampled_from([1, 1, 2]))
            workload = job(f"{name}-r{i}").in_queue(name).requests(cpu).kind("Job").build()
            runs.append(running(workload, at=T0 + timedelta(minutes=draw(st.integers(0, 30)))))
        for i in range(draw(st.integers(min_value=0, max_value=8))):
            cpu = draw(st.sampled_from([1, 2, 3]))
            pending.append(job(f"{name}-p{i}").in_queue(name).requests(cpu).kind("Job").build())
    used = sum((w.requests for w in runs), Resources.ZERO)
    capacity = cores(max(used.cpu_millis // 1000, 4), 1024)
    return queues, runs, pending, capacity


@settings(max_examples=150, deadline=None)
@given(cohorts())
def test_victims_never_push_a_queue_below_its_entitlement_or_guarantee(case) -> None:
    queues, runs, pending, capacity = case
    snap = Snapshot(queues=queues, cohort_capacity={"": capacity}, pending=pending, usage=usage_of(runs))
    # As the controller calls it: with this cycle's admissions, which a queue keeps beside what survives.
    plan = plan_admissions(snap)
    admitted = [admission.workload for admission in plan.admissions]
    taken = plan_preemptions(snap, running=runs, now=NOW, admitted=admitted)
    entitlements = {name: status.entitlement for name, status in plan.queues.items()}
    victims = {p.victim.ref for p in taken}
    assert len(victims) == len(taken)
    left = usage_of([w for w in runs if w.ref not in victims])
    for workload in admitted:
        left[workload.queue] = left.get(workload.queue, Resources.ZERO) + workload.requests
    for spec in queues:
        lost = [p for p in taken if p.victim.queue == spec.name]
        if not lost:
            continue
        usage = left.get(spec.name, Resources.ZERO)
        assert dominant_share(usage, entitlements[spec.name]).as_float() >= 1
        assert usage.cpu_millis >= spec.guaranteed.cpu_millis
        assert all(p.by_queue != spec.name for p in taken)  # a queue never takes and loses at once


@settings(max_examples=150, deadline=None)
@given(cohorts(), st.sampled_from([1, 2, 3, 4]))
def test_a_single_need_takes_a_minimal_set_of_victims(case, size: int) -> None:
    queues, runs, _, capacity = case
    runs = [w for w in runs if w.queue != "a"]
    need = job("need").in_queue("a").requests(size).kind("Job").build()
    snap = Snapshot(queues=queues, cohort_capacity={"": capacity}, pending=[need], usage=usage_of(runs))
    taken = plan_preemptions(snap, running=runs, now=NOW)
    if not taken:
        return
    free = capacity.saturating_sub(sum((w.requests for w in runs), Resources.ZERO))
    freed = sum((p.victim.requests for p in taken), Resources.ZERO)
    assert need.requests.fits_within(free + freed)
    for p in taken:
        assert not need.requests.fits_within(free + freed.saturating_sub(p.victim.requests))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([1, 2, 3]), min_size=2, max_size=3), st.integers(min_value=8, max_value=24))
def test_rounds_converge_to_the_weights_within_a_workload_per_queue_without_cycles(
    weights: list[int], capacity_cpu: int
) -> None:
    names = NAMES[: len(weights)]
    queues = [
        replace(queue(n).weight(w).build(), preemption=PreemptionPolicy(reclaim=True))
        for n, w in zip(names, weights, strict=True)
    ]
    cluster = SimCluster(queues=queues, capacity=cores(capacity_cpu, 1024), pending=[])
    # Staggered: each queue becomes backlogged a round after the one before.
    for minute, name in enumerate(names):
        cluster.pending += [
            job(f"{name}-{i}").in_queue(name).kind("Job").created(60 * minute).build()
            for i in range(capacity_cpu)
        ]
        cluster.round()
    for _ in range(capacity_cpu + 5):
        if cluster.round() == (0, []):
            break
    assert cluster.round() == (0, [])
    total = sum(weights)
    for name, weight in zip(names, weights, strict=True):
        target = capacity_cpu * weight / total
        assert abs(cluster.usage(name).cpu_millis / 1000 - target) <= len(names) - 1
    pairs = {(p.by_queue, p.victim.queue) for p in cluster.preemptions}
    assert not any((victim, taker) in pairs for taker, victim in pairs)
