"""Waiting workloads are told why they wait and where they stand, with few writes."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ebbtide.api.resources import Resources
from ebbtide.api.workloads import WorkloadRecord, WorkloadState
from ebbtide.controllers.fairqueue.waiting import WaitingNote, WaitingNotes, position_label


@pytest.mark.parametrize(
    ("position", "label"),
    [
        (None, None),
        (1, "1"),
        (10, "10"),
        (11, ">10"),
        (20, ">10"),
        (21, ">20"),
        (51, ">50"),
        (101, ">100"),
        (4321, ">2000"),
        (10_001, ">10000"),
    ],
)
def test_positions_are_exact_near_the_head_and_a_lower_bound_beyond(
    position: int | None, label: str | None
) -> None:
    assert position_label(position) == label


def test_a_backlog_moving_forward_relabels_each_workload_only_a_few_times() -> None:
    # A workload starting at position 10,000 that moves up by one per admission ahead of it.
    labels = [position_label(position) for position in range(10_000, 0, -1)]
    changes = sum(1 for before, after in itertools.pairwise(labels) if before != after)
    assert changes <= 22  # the ten exact positions plus the steps of the ladder


def record(uid: str, *, reason: str | None = None, position: str | None = None) -> WorkloadRecord:
    return WorkloadRecord(
        kind="Pod",
        uid=uid,
        namespace="ns",
        name=uid,
        resource_version="1",
        queue="q",
        state=WorkloadState.PENDING,
        requests=Resources.ZERO,
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
        waiting_reason=reason,
        queue_position=position,
    )


def note(reason: str = "WaitingForCapacity", position: str | None = "1") -> WaitingNote:
    return WaitingNote(reason=reason, position=position, message="m")


def test_nothing_is_written_when_the_object_already_says_it() -> None:
    notes = WaitingNotes()
    due, more = notes.due([(record("a", reason="WaitingForCapacity", position="1"), note())])
    assert (due, more) == ([], False)


def test_a_new_waiting_workload_gets_its_note_and_an_event() -> None:
    due, _ = WaitingNotes().due([(record("a"), note())])
    assert [(item.record.uid, item.reason_changed) for item in due] == [("a", True)]


def test_a_position_change_is_written_without_an_event() -> None:
    due, _ = WaitingNotes().due(
        [(record("a", reason="WaitingForCapacity", position="2"), note(position="1"))]
    )
    assert [item.reason_changed for item in due] == [False]


def test_a_note_due_is_not_due_again_before_the_watch_shows_it() -> None:
    notes = WaitingNotes()
    stale = record("a")
    assert len(notes.due([(stale, note())])[0]) == 1
    assert notes.due([(stale, note())]) == ([], False)
    # Once the watch shows it, the memory goes; a later change is due again.
    seen = replace(stale, waiting_reason="WaitingForCapacity", queue_position="1")
    assert notes.due([(seen, note())]) == ([], False)
    assert len(notes.due([(seen, note(position="2"))])[0]) == 1


def test_a_note_that_could_not_be_written_is_due_again() -> None:
    notes = WaitingNotes()
    (item,), _ = notes.due([(record("a"), note())])
    notes.failed(item)
    assert len(notes.due([(record("a"), note())])[0]) == 1


def test_the_budget_serves_reason_changes_first_then_the_nearest_positions() -> None:
    notes = WaitingNotes(budget=3)
    waiting = [
        (record("far", reason="WaitingForCapacity", position="9"), note(position="8")),
        (record("near", reason="WaitingForCapacity", position="3"), note(position="2")),
        (record("fresh"), note(position="9")),
        (record("beyond", reason="WaitingForCapacity", position=">50"), note(position=">20")),
    ]
    due, more = notes.due(waiting)
    assert [item.record.uid for item in due] == ["fresh", "near", "far"]
    assert more
