from dataclasses import dataclass, replace

import pytest
from queue_builders import SnapshotBuilder, job, queue, snapshot

from ebbtide.queueing import QueueOrder, WaitReason, plan_admissions

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Case:
    name: str
    snapshot: SnapshotBuilder
    admitted: list[str]


CASES = [
    Case(
        "lower share queue admitted first",
        snapshot()
        .with_capacity(cpu=4)
        .with_queues(queue("a"), queue("b"))
        .with_usage("a", cpu=3)
        .with_pending(job("a1").in_queue("a"), job("b1").in_queue("b").created(99)),
        ["b1"],
    ),
    Case(
        "higher share queue admitted after lower share queue",
        snapshot()
        .with_capacity(cpu=4)
        .with_queues(queue("a"), queue("b"))
        .with_usage("a", cpu=1)
        .with_pending(job("a1").in_queue("a"), job("b1").in_queue("b"), job("b2").in_queue("b")),
        ["b1", "a1", "b2"],
    ),
    Case(
        "weights shape the interleaving",
        snapshot()
        .with_capacity(cpu=6)
        .with_queues(queue("a").weight(1), queue("b").weight(2))
        .with_pending(*[job(f"a{i}").in_queue("a").created(i) for i in range(6)])
        .with_pending(*[job(f"b{i}").in_queue("b").created(i) for i in range(6)]),
        # Shares a/b: 0/0 tie -> a0 (same age, a by name), .5/0 -> b0, .5/.25 -> b1,
        # .5/.5 tie -> a1 (created before b2), 1/.5 -> b2, 1/.75 -> b3: a gets 2, b 4.
        ["a0", "b0", "b1", "a1", "b2", "b3"],
    ),
    Case(
        "queue below its guarantee is served before a lower share queue",
        snapshot()
        .with_capacity(cpu=3)
        .with_queues(queue("g").guaranteed(cpu=3), queue("h").weight(100))
        .with_usage("g", cpu=1)
        .with_pending(job("h1").in_queue("h"), job("g1").in_queue("g"), job("g2").in_queue("g")),
        ["g1", "g2"],
    ),
    Case(
        "admission never takes a queue past its limit",
        snapshot()
        .with_capacity(cpu=10)
        .with_queues(queue("a").limit(cpu=2))
        .with_usage("a", cpu=1)
        .with_pending(job("a1").in_queue("a"), job("a2").in_queue("a").created(1)),
        ["a1"],
    ),
    Case(
        "a blocked head blocks its own queue",
        snapshot()
        .with_capacity(cpu=3)
        .with_queues(queue("a"))
        .with_usage("a", cpu=1)
        .with_pending(job("big").in_queue("a").requests(cpu=3).created(0))
        .with_pending(job("small").in_queue("a").created(1)),
        [],
    ),
    Case(
        "head of a queue at its entitlement does not hold capacity back from others",
        snapshot()
        .with_capacity(cpu=4)
        .with_queues(queue("a"), queue("b"))
        .with_usage("a", cpu=2)
        .with_pending(job("a-big").in_queue("a").requests(cpu=3))
        .with_pending(job("b1").in_queue("b"), job("b2").in_queue("b").created(1)),
        ["b1", "b2"],
    ),
    Case(
        "head of a queue below its entitlement reserves the capacity it waits for",
        snapshot()
        .with_capacity(cpu=8)
        .with_queues(queue("a"), queue("b"))
        .with_usage("b", cpu=6)
        .with_pending(job("a-big").in_queue("a").requests(cpu=3))
        .with_pending(job("b1").in_queue("b")),
        [],
    ),
    Case(
        "queue below its entitlement reserves even for a head that overshoots it",
        snapshot()
        .with_capacity(cpu=8)
        .with_queues(queue("a"), queue("b"))
        .with_usage("a", cpu=2)
        .with_usage("b", cpu=5)
        .with_pending(job("a-big").in_queue("a").requests(cpu=4))
        .with_pending(job("b1").in_queue("b"), job("b2").in_queue("b").created(1)),
        [],
    ),
    Case(
        "head blocked by its own queue's limit reserves nothing",
        snapshot()
        .with_capacity(cpu=4)
        .with_queues(queue("a").limit(cpu=2), queue("b"))
        .with_usage("a", cpu=1)
        .with_pending(job("a-big").in_queue("a").requests(cpu=2))
        .with_pending(job("b1").in_queue("b")),
        ["b1"],
    ),
    Case(
        "cohorts share nothing",
        snapshot()
        .with_capacity(cpu=1, cohort="x")
        .with_capacity(cpu=1, cohort="y")
        .with_queues(queue("a").cohort("x"), queue("b").cohort("y"))
        .with_pending(job("a1").in_queue("a"), job("a2").in_queue("a").created(1))
        .with_pending(job("b1").in_queue("b")),
        ["a1", "b1"],
    ),
    Case(
        "zero weight queue gets the capacity weighted queues leave",
        snapshot()
        .with_capacity(cpu=3)
        .with_queues(queue("scavenger").weight(0), queue("a"))
        .with_pending(job("s1").in_queue("scavenger"), job("s2").in_queue("scavenger").created(1))
        .with_pending(job("a1").in_queue("a"), job("a2").in_queue("a").created(1)),
        ["a1", "s1", "a2"],
    ),
    Case(
        "zero weight queue waits while weighted queues want everything",
        snapshot()
        .with_capacity(cpu=2)
        .with_queues(queue("scavenger").weight(0), queue("a"))
        .with_pending(job("s1").in_queue("scavenger"))
        .with_pending(*[job(f"a{i}").in_queue("a").created(i) for i in range(3)]),
        ["a0", "a1"],
    ),
    Case(
        "zero weight queue backfills what weighted queues cannot use",
        snapshot()
        .with_capacity(cpu=3)
        .with_queues(queue("scavenger").weight(0), queue("a").limit(cpu=2))
        .with_pending(job("s1").in_queue("scavenger"))
        .with_pending(job("a-big").in_queue("a").requests(cpu=2).created(0))
        .with_usage("a", cpu=1),
        ["s1"],
    ),
    Case(
        "zero weight queue does not backfill capacity a weighted queue is waiting for",
        snapshot()
        .with_capacity(cpu=2)
        .with_queues(queue("scavenger").weight(0), queue("a"))
        .with_pending(job("s1").in_queue("scavenger"))
        .with_pending(job("a-big").in_queue("a").requests(cpu=2).created(0))
        .with_usage("a", cpu=1),
        [],
    ),
    Case(
        "huge weight queue takes all the capacity another queue does not already use",
        snapshot()
        .with_capacity(cpu=4)
        .with_queues(queue("a").weight(1e300), queue("b"))
        .with_usage("b", cpu=1)
        .with_pending(*[job(f"a{i}").in_queue("a").created(i) for i in range(5)])
        .with_pending(job("b1").in_queue("b")),
        ["a0", "a1", "a2"],
    ),
    Case(
        "zero-capacity cluster admits only workloads that request nothing",
        snapshot()
        .with_capacity(cpu=0, memory_gi=0)
        .with_queues(queue("a"))
        .with_pending(job("needs-cpu").in_queue("a"), job("free").in_queue("a").requests(cpu=0)),
        ["free"],
    ),
    Case(
        "cohort without a capacity entry has none",
        snapshot().with_queues(queue("a").cohort("ghost")).with_pending(job("a1").in_queue("a")),
        [],
    ),
    Case(
        "empty snapshot plans nothing",
        snapshot().with_capacity(cpu=8),
        [],
    ),
    Case(
        "queue order holds within a queue",
        snapshot()
        .with_capacity(cpu=2)
        .with_queues(queue("p").order(QueueOrder.PRIORITY))
        .with_pending(job("low").in_queue("p").priority(1), job("high").in_queue("p").priority(9))
        .with_pending(job("mid").in_queue("p").priority(5)),
        ["high", "mid"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_admission_order(case: Case) -> None:
    plan = plan_admissions(case.snapshot.build())
    assert [admission.workload.name for admission in plan.admissions] == case.admitted


def test_drf_example_equalises_dominant_shares() -> None:
    # The DRF paper (Ghodsi et al. 2011): 9 cpu, 18 Gi; a's tasks <1 cpu, 4 Gi>, b's
    # <3 cpu, 1 Gi>. DRF gives a three tasks and b two: both dominant shares at 2/3.
    snap = (
        snapshot()
        .with_capacity(cpu=9, memory_gi=18)
        .with_queues(queue("a"), queue("b"))
        .with_pending(
            *[job(f"a{i}").in_queue("a").requests(cpu=1, memory_gi=4).created(i) for i in range(10)]
        )
        .with_pending(
            *[job(f"b{i}").in_queue("b").requests(cpu=3, memory_gi=1).created(i) for i in range(10)]
        )
        .build()
    )
    plan = plan_admissions(snap)
    assert [a.workload.name for a in plan.admissions] == ["a0", "b0", "a1", "b1", "a2"]
    assert plan.queues["a"].usage.memory_bytes == 12 * 1024**3
    assert plan.queues["b"].usage.cpu_millis == 6000


def test_admission_records_shares_before_and_after() -> None:
    snap = (
        snapshot()
        .with_capacity(cpu=4)
        .with_queues(queue("a"))
        .with_pending(job("a1").in_queue("a").requests(cpu=2))
        .build()
    )
    (admission,) = plan_admissions(snap).admissions
    assert admission.share_before.as_float() == 0
    assert admission.share_after.as_float() == 1  # entitled to its whole demand
    assert not admission.within_guarantee


def test_admission_within_guarantee_is_flagged() -> None:
    snap = (
        snapshot()
        .with_capacity(cpu=4)
        .with_queues(queue("a").guaranteed(cpu=2))
        .with_pending(job("a1").in_queue("a").requests(cpu=2))
        .build()
    )
    assert plan_admissions(snap).admissions[0].within_guarantee


def test_queue_status_reports_entitlement_usage_share_and_block() -> None:
    snap = (
        snapshot()
        .with_capacity(cpu=2)
        .with_queues(queue("a"), queue("b"))
        .with_pending(*[job(f"a{i}").in_queue("a").created(i) for i in range(3)])
        .build()
    )
    status = plan_admissions(snap).queues
    assert status["a"].entitlement.cpu_millis == 2000
    assert status["a"].usage.cpu_millis == 2000
    assert status["a"].share.as_float() == 1
    assert (status["a"].admitted, status["a"].waiting) == (2, 1)
    assert status["a"].blocked is WaitReason.WAITING_FOR_CAPACITY
    assert status["b"].blocked is None
    assert status["b"].share.as_float() == 0


def test_round_robin_cursor_advances_to_the_last_admitted_namespace() -> None:
    builder = (
        snapshot()
        .with_capacity(cpu=1)
        .with_queues(queue("rr").order(QueueOrder.ROUND_ROBIN))
        .with_pending(job("x1").in_queue("rr").namespace("x").created(0))
        .with_pending(job("x2").in_queue("rr").namespace("x").created(1))
        .with_pending(job("y1").in_queue("rr").namespace("y").created(5))
    )
    first = plan_admissions(builder.build())
    assert [a.workload.name for a in first.admissions] == ["x1"]
    assert first.round_robin_cursors == {"rr": "x"}
    # Next cycle: x1 is running elsewhere, the cursor hands the turn to y despite x2 being older.
    builder.pending = [w for w in builder.pending if w.name != "x1"]
    second = plan_admissions(builder.with_cursor("rr", "x").build())
    assert [a.workload.name for a in second.admissions] == ["y1"]
    assert second.round_robin_cursors == {"rr": "y"}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_plan_does_not_depend_on_the_order_the_cluster_lists_objects_in(case: Case) -> None:
    snap = case.snapshot.build()
    reordered = replace(snap, queues=list(reversed(snap.queues)), pending=list(reversed(snap.pending)))
    assert plan_admissions(reordered) == plan_admissions(snap)
