"""What ``ebbtide queues``, ``queue NAME`` and ``why pod|job`` say, from objects alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.unit.explain.explain_builders import admitted_pod, event, fairqueue, namespace, node, noted, pod

from ebbtide.explain.queues import ADMITTING, QueueObjects, picture, queue_rows
from ebbtide.explain.workloads import explain_workload

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 0, 10, tzinfo=UTC)


def objects(*pods: dict, queues: list[dict] | None = None) -> QueueObjects:
    return QueueObjects(
        fairqueues=queues or [fairqueue("q", cpu="1")],
        pods=list(pods),
        jobs=[],
        nodes=[node()],
        namespaces=[namespace("ns"), namespace("other")],
    )


def test_waiting_work_is_listed_in_admission_order_with_exact_positions() -> None:
    pods = [pod(f"p{i}", second=i) for i in range(13)]
    rows = picture(objects(*reversed(pods))).waiting_rows(queue="q", now=NOW)
    # The cohort holds one CPU: the oldest is admitted in this cycle, the rest wait in FIFO order.
    assert [row["name"] for row in rows] == [f"p{i}" for i in range(13)]
    assert rows[0]["reason"] == ADMITTING
    assert [row["position"] for row in rows[1:]] == list(range(1, 13))  # exact, also past 10
    assert {row["reason"] for row in rows[1:]} == {"WaitingForCapacity"}
    assert rows[1]["age"] == "9m"


def test_work_that_can_never_be_admitted_comes_last_without_a_position() -> None:
    rows = picture(objects(pod("small", second=1), pod("huge", cpu="4", second=0))).waiting_rows(queue="q")
    assert [(row["name"], row["position"], row["reason"]) for row in rows] == [
        ("small", 0, ADMITTING),
        ("huge", None, "ExceedsCohortCapacity"),
    ]


def test_why_a_pod_waits_names_its_position_reason_and_what_is_ahead() -> None:
    pods = [pod(f"p{i}", second=i) for i in range(4)]
    target = noted(pods[3], reason="WaitingForCapacity", message="needs 1 CPU, 0 free")
    queues_now = picture(objects(*pods))
    explanation = explain_workload(
        target, picture=queues_now, events=[event("WaitingForCapacity", "needs 1 CPU")], now=NOW
    )
    assert explanation["state"] == "Pending"
    assert (explanation["position"], explanation["reason"]) == (3, "WaitingForCapacity")
    # p0 is admitted in this very cycle: still ahead of it until the operator has done so.
    assert [item["name"] for item in explanation["ahead"]] == ["p0", "p1", "p2"]
    text = explanation["text"]
    assert "Pod ns/p3 waits in queue 'q' (held by its scheduling gate) at position 3" in text
    assert "1. Pod ns/p1" in text
    assert "The operator's last note on it: WaitingForCapacity: needs 1 CPU, 0 free" in text
    assert "Recent events:" in text
    assert "9m Normal WaitingForCapacity: needs 1 CPU" in text


def test_why_a_pod_says_when_the_operator_has_not_noted_anything() -> None:
    pods = [pod("p0", second=0), pod("p1", second=1)]
    explanation = explain_workload(pods[1], picture=picture(objects(*pods)), events=[], now=NOW)
    assert "is `ebbtide operator` running?" in explanation["text"]
    assert explanation["operatorNote"] is None


def test_why_an_admitted_pod_quotes_the_admission_decision() -> None:
    explanation = explain_workload(admitted_pod("done"), picture=None, events=[], now=NOW)
    assert explanation["state"] == "Admitted"
    assert explanation["admission"]["shareAfter"] == "0.5"
    assert (
        "was admitted from queue 'q' at 2026-01-01T00:01:00.000000Z: the queue's share went from 0 to 0.5"
        in (explanation["text"])
    )
    assert "Pod phase: Running, on node n1." in explanation["text"]


def test_why_an_unqueued_pod_says_so() -> None:
    explanation = explain_workload(pod("free", queue=None, gated=False), picture=None, events=[], now=NOW)
    assert explanation["text"].startswith("Pod ns/free is not queued: it has no ebbtide.io/queue label.")


def test_queue_rows_come_from_spec_and_status() -> None:
    status = {
        "pending": 3,
        "admitted": 2,
        "share": 0.5,
        "entitlement": {"cpu": "4", "memory": "8Gi"},
        "conditions": [{"type": "Active", "status": "True", "reason": "Admitting", "message": ""}],
    }
    rows = queue_rows([fairqueue("b", weight=3, status=status), fairqueue("a")])
    assert [row["name"] for row in rows] == ["a", "b"]
    assert rows[1] | {} == rows[1]
    assert (rows[1]["weight"], rows[1]["pending"], rows[1]["admitted"], rows[1]["share"]) == (3, 3, 2, 0.5)
    assert rows[1]["entitlementText"] == "cpu=4, memory=8Gi"
    assert rows[1]["active"] == "True"
    assert rows[0]["pending"] is None


def test_queues_usable_from_a_namespace_follow_the_namespace_selector() -> None:
    team = fairqueue("team", namespaceSelector={"matchLabels": {"team": "a"}})
    everyone = fairqueue("everyone")
    labels = {"team": "b"}
    assert [row["name"] for row in queue_rows([team, everyone], usable_from=labels)] == ["everyone"]
    assert [row["name"] for row in queue_rows([team, everyone], usable_from={"team": "a"})] == [
        "everyone",
        "team",
    ]
