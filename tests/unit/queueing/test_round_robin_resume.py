"""RoundRobin turns survive a restart: a queue without a cursor resumes after the namespace of
its latest recorded admission, and a planner restarted mid-backlog admits what an uninterrupted
one would have."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from queue_builders import T0, job, queue, snapshot

from ebbtide.queueing import PastAdmission, QueueOrder, plan_admissions, resume_cursors

pytestmark = pytest.mark.unit


def admitted(queue_name: str, namespace: str, second: float) -> PastAdmission:
    return PastAdmission(queue=queue_name, namespace=namespace, admitted_at=T0 + timedelta(seconds=second))


@dataclass(frozen=True)
class Case:
    cursors: dict[str, str]
    round_robin: tuple[str, ...]
    admissions: tuple[PastAdmission, ...]
    expected: dict[str, str]
    id: str = field(default="")


CASES = [
    Case(
        id="a queue without a cursor resumes after its latest admission",
        cursors={},
        round_robin=("rr",),
        admissions=(admitted("rr", "b", 3), admitted("rr", "c", 9), admitted("rr", "a", 5)),
        expected={"rr": "c"},
    ),
    Case(
        id="the planner's own cursor wins over the recorded admissions",
        cursors={"rr": "a"},
        round_robin=("rr",),
        admissions=(admitted("rr", "c", 9),),
        expected={"rr": "a"},
    ),
    Case(
        id="a queue with no admission in view stays without a cursor",
        cursors={},
        round_robin=("rr", "idle"),
        admissions=(admitted("rr", "b", 1),),
        expected={"rr": "b"},
    ),
    Case(
        id="another queue's admissions do not count",
        cursors={},
        round_robin=("rr",),
        admissions=(admitted("rr", "a", 1), admitted("fifo", "z", 50)),
        expected={"rr": "a"},
    ),
    Case(
        id="queues of another order get no cursor",
        cursors={},
        round_robin=(),
        admissions=(admitted("fifo", "z", 50),),
        expected={},
    ),
    Case(
        id="cursors of other queues pass through untouched",
        cursors={"gone": "x"},
        round_robin=("rr",),
        admissions=(admitted("rr", "a", 1),),
        expected={"gone": "x", "rr": "a"},
    ),
    Case(
        id="at equal times the later namespace name wins",
        cursors={},
        round_robin=("rr",),
        admissions=(admitted("rr", "b", 4), admitted("rr", "a", 4)),
        expected={"rr": "b"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_resume_cursors(case: Case) -> None:
    got = resume_cursors(cursors=case.cursors, round_robin=case.round_robin, admissions=case.admissions)
    assert got == case.expected


def test_admissions_are_not_read_when_every_queue_has_its_cursor() -> None:
    def unreadable() -> Iterator[PastAdmission]:
        raise AssertionError("read the admissions although no cursor was missing")
        yield  # pragma: no cover

    assert resume_cursors(cursors={"rr": "a"}, round_robin=["rr"], admissions=unreadable()) == {"rr": "a"}


@given(
    st.lists(
        st.tuples(st.sampled_from(["rr", "other"]), st.sampled_from(["a", "b", "c"]), st.integers(0, 5)),
        max_size=12,
    ),
    st.randoms(),
)
def test_the_order_admissions_come_in_does_not_matter(
    rows: list[tuple[str, str, int]], shuffler: random.Random
) -> None:
    admissions = [admitted(q, ns, second) for q, ns, second in rows]
    shuffled = list(admissions)
    shuffler.shuffle(shuffled)
    expected = resume_cursors(cursors={}, round_robin=["rr"], admissions=admissions)
    assert resume_cursors(cursors={}, round_robin=["rr"], admissions=shuffled) == expected
    mine = [a for a in admissions if a.queue == "rr"]
    if mine:
        latest = max(mine, key=lambda a: (a.admitted_at, a.namespace))
        assert expected == {"rr": latest.namespace}
    else:
        assert expected == {}


def test_a_planner_restarted_mid_backlog_admits_what_an_uninterrupted_one_would() -> None:
    # One workload fits at a time and finishes before the next cycle; three namespaces queue up.
    backlog = [
        job(f"{namespace}{index}").in_queue("rr").namespace(namespace).created(index * 3 + offset)
        for index in range(3)
        for offset, namespace in enumerate("abc")
    ]

    def cycles(*, restart_after: int | None) -> list[str]:
        pending = [j.build() for j in backlog]
        cursors: dict[str, str] = {}
        history: list[PastAdmission] = []
        order: list[str] = []
        for number in range(len(backlog)):
            if number == restart_after:
                cursors = {}  # a new process, or another replica taking over
            cursors = resume_cursors(cursors=cursors, round_robin=["rr"], admissions=history)
            builder = snapshot().with_capacity(cpu=1).with_queues(queue("rr").order(QueueOrder.ROUND_ROBIN))
            for name, namespace in cursors.items():
                builder.with_cursor(name, namespace)
            plan = plan_admissions(builder.with_pending(*pending).build())
            [admission] = plan.admissions
            order.append(admission.workload.name)
            history.append(admitted("rr", admission.workload.namespace, number))
            pending = [w for w in pending if w.ref != admission.workload.ref]
            cursors = dict(plan.round_robin_cursors)
        return order

    uninterrupted = cycles(restart_after=None)
    assert uninterrupted == ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]
    for restart in range(1, len(backlog)):
        assert cycles(restart_after=restart) == uninterrupted, f"restarted before cycle {restart}"
