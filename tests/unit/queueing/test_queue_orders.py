import pytest
from queue_builders import JobBuilder, job

from ebbtide.queueing import PendingWorkload, QueueOrder
from ebbtide.queueing.orders import order_workloads

pytestmark = pytest.mark.unit


def names(order: QueueOrder, *jobs: JobBuilder, cursor: str | None = None) -> list[str]:
    workloads: list[PendingWorkload] = [j.build() for j in jobs]
    return [w.name for w in order_workloads(order=order, workloads=workloads, round_robin_cursor=cursor)]


def test_fifo_orders_by_creation_time() -> None:
    assert names(
        QueueOrder.FIFO, job("late").created(20), job("early").created(10), job("mid").created(15)
    ) == ["early", "mid", "late"]


def test_fifo_breaks_creation_ties_by_namespace_then_name() -> None:
    assert names(
        QueueOrder.FIFO,
        job("b").namespace("x"),
        job("a").namespace("y"),
        job("a").namespace("x"),
    ) == ["a", "b", "a"]


def test_round_robin_alternates_namespaces_fifo_within_each() -> None:
    got = names(
        QueueOrder.ROUND_ROBIN,
        job("a1").namespace("a").created(1),
        job("a2").namespace("a").created(2),
        job("a3").namespace("a").created(3),
        job("b1").namespace("b").created(10),
        job("c1").namespace("c").created(5),
        job("c2").namespace("c").created(6),
    )
    assert got == ["a1", "b1", "c1", "a2", "c2", "a3"]


@pytest.mark.parametrize(
    ("cursor", "expected"),
    [
        pytest.param(None, ["a1", "b1", "c1", "a2"], id="no cursor starts with the first namespace"),
        pytest.param("a", ["b1", "c1", "a1", "a2"], id="turn passes to the namespace after the cursor"),
        pytest.param("c", ["a1", "b1", "c1", "a2"], id="cursor at the last namespace wraps around"),
        pytest.param("bb", ["c1", "a1", "b1", "a2"], id="cursor of a drained namespace still rotates"),
    ],
)
def test_round_robin_resumes_after_the_cursor(cursor: str | None, expected: list[str]) -> None:
    got = names(
        QueueOrder.ROUND_ROBIN,
        job("a1").namespace("a").created(1),
        job("a2").namespace("a").created(2),
        job("b1").namespace("b").created(3),
        job("c1").namespace("c").created(4),
        cursor=cursor,
    )
    assert got == expected


def test_shortest_job_first_puts_unannotated_last_and_ties_fifo() -> None:
    got = names(
        QueueOrder.SHORTEST_JOB_FIRST,
        job("none-early").created(1),
        job("long").expected("1h").created(2),
        job("short-late").expected("90s").created(9),
        job("short-early").expected("1m30s").created(3),
        job("tiny").expected("5s").created(8),
        job("none-late").created(10),
    )
    assert got == ["tiny", "short-early", "short-late", "long", "none-early", "none-late"]


def test_priority_runs_higher_priority_first_then_fifo() -> None:
    got = names(
        QueueOrder.PRIORITY,
        job("low").priority(-5).created(1),
        job("high-late").priority(100).created(5),
        job("high-early").priority(100).created(2),
        job("default").created(0),
    )
    assert got == ["high-early", "high-late", "default", "low"]


@pytest.mark.parametrize("order", list(QueueOrder))
def test_every_order_of_nothing_is_nothing(order: QueueOrder) -> None:
    assert names(order) == []
