"""A cycle's per-queue metrics: pending workloads by queue and wait reason, the queue's
conditions as a gauge, and both gone when the queue is."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client import REGISTRY
from tests.unit.controllers.fairqueue.test_queue_cycle import backlog, engine, pool  # noqa: F401

from ebbtide.api.fairqueue_vocabulary import CONDITION_ACTIVE, CONDITION_BACKLOGGED, WaitReason
from ebbtide.metrics import queue_metrics

pytestmark = pytest.mark.unit


def pending(queue: str, reason: WaitReason) -> float | None:
    return REGISTRY.get_sample_value(
        "ebbtide_fairqueue_pending_workloads", {"queue": queue, "reason": str(reason)}
    )


def condition(queue: str, type_: str, status: str) -> float | None:
    labels = {"queue": queue, "condition": type_, "status": status}
    return REGISTRY.get_sample_value("ebbtide_fairqueue_status_condition", labels)


def test_pending_workloads_are_counted_by_queue_and_wait_reason(pool: ThreadPoolExecutor) -> None:  # noqa: F811
    queue_metrics.forget_all_queues()
    cluster = backlog()
    cluster.add_pod("lost", queue="nowhere", second=9)
    engine(cluster, pool).run()
    assert pending("heavy", WaitReason.WAITING_FOR_CAPACITY) == 5
    assert pending("light", WaitReason.WAITING_FOR_CAPACITY) == 7
    assert pending("light", WaitReason.WAITING_FOR_FAIR_SHARE) == 0
    assert pending("nowhere", WaitReason.QUEUE_NOT_FOUND) is None  # not a queue: no series
    assert REGISTRY.get_sample_value("ebbtide_fairqueue_share_ratio", {"queue": "heavy"}) == 1


def test_a_queues_conditions_are_exported_and_dropped_with_the_queue(pool: ThreadPoolExecutor) -> None:  # noqa: F811
    queue_metrics.forget_all_queues()
    cluster = backlog()
    running = engine(cluster, pool)
    running.run()
    assert condition("heavy", CONDITION_ACTIVE, "True") == 1
    assert condition("heavy", CONDITION_BACKLOGGED, "True") == 1
    assert condition("heavy", CONDITION_BACKLOGGED, "False") == 0
    del cluster.queues["light"]
    running.store.replace_queues(copy.deepcopy(list(cluster.queues.values())))
    running.run()
    assert condition("light", CONDITION_ACTIVE, "True") is None
    assert pending("light", WaitReason.WAITING_FOR_CAPACITY) is None
    assert condition("heavy", CONDITION_ACTIVE, "True") == 1
