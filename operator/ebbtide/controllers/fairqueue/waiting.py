"""Telling waiting workloads why they wait, without a write per workload per cycle.

Each waiting workload carries its reason (``ebbtide.io/waiting-reason``), its position in its
queue (``ebbtide.io/queue-position``) and a message. A note is written only when what it says
changes, and what it says is made to change rarely:

* The position is exact for the first :data:`EXACT_POSITIONS` of a queue and a lower bound
  beyond (``>10``, ``>20``, ``>50``, ``>100``, ...: a 1-2-5 ladder). A backlog moving forward
  rewrites each workload a dozen times or so over its whole wait, not at every admission ahead
  of it: 10,000 waiting pods cost a few writes each, not 10,000 writes per cycle, and a cycle
  rewrites at most the first ten of each queue plus the few that cross a step.
* The message is written with the reason and position, as of then; it alone never causes a
  write (it quotes free capacity, which moves all the time).
* At most ``budget`` notes are written per batch, reason changes first (they also post an
  Event), then the nearest positions; the rest follow in the next batches, which start a few
  seconds apart (:mod:`ebbtide.controllers.fairqueue.reporting`).

What is on the object is compared first, so a restarted operator writes nothing that is
already there; what was written is remembered until the watch shows it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from ebbtide.api.preemption_marks import preemption_message
from ebbtide.api.workloads import WorkloadRecord
from ebbtide.queueing import WaitingWorkload

EXACT_POSITIONS: Final = 10


def _ladder() -> Iterator[int]:
    step = EXACT_POSITIONS
    while True:
        yield from (step, step * 2, step * 5)
        step *= 10


def position_label(position: int | None) -> str | None:
    """``7`` -> ``"7"``; ``15`` -> ``">10"``; ``4321`` -> ``">2000"``; None stays None."""
    if position is None:
        return None
    if position <= EXACT_POSITIONS:
        return str(position)
    bound = EXACT_POSITIONS
    for step in _ladder():
        if step >= position:
            break
        bound = step
    return f">{bound}"


@dataclass(frozen=True, slots=True)
class WaitingNote:
    """What a waiting workload's annotations should say."""

    reason: str
    position: str | None
    message: str

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.reason, self.position)


def note_for(waiting: WaitingWorkload, record: WorkloadRecord) -> WaitingNote:
    message = waiting.message if record.problem is None else f"{waiting.message} ({record.problem})"
    preempted = preemption_message(record)
    if preempted is not None:
        message = f"{message}; preempted: {preempted}"
    return WaitingNote(
        reason=str(waiting.reason), position=position_label(waiting.queue_position), message=message
    )


@dataclass(frozen=True, slots=True)
class DueNote:
    """A note to write; ``reason_changed`` means an Event is due too."""

    record: WorkloadRecord
    note: WaitingNote
    reason_changed: bool


class WaitingNotes:
    """Chooses which notes to write; thread-safe (writes complete on other threads)."""

    def __init__(self, *, budget: int = 100) -> None:
        self.budget = budget
        self._lock = threading.Lock()
        self._written: dict[str, tuple[str, str | None]] = {}

    def due(self, notes: Iterable[tuple[WorkloadRecord, WaitingNote]]) -> tuple[list[DueNote], bool]:
        """The notes to write now, and whether more are due than the budget allows.

        Memory of written notes is kept only for the workloads given (the waiting ones). The
        notes returned count as written from now on; :meth:`failed` takes one back.
        """
        with self._lock:
            due, more = self._due_locked(notes)
            for item in due:
                self._written[item.record.uid] = item.note.key
        return due, more

    def failed(self, due: DueNote) -> None:
        """A note could not be written: it is due again."""
        with self._lock:
            if self._written.get(due.record.uid) == due.note.key:
                del self._written[due.record.uid]

    def _due_locked(self, notes: Iterable[tuple[WorkloadRecord, WaitingNote]]) -> tuple[list[DueNote], bool]:
        candidates: list[DueNote] = []
        waiting_uids = set()
        for record, note in notes:
            waiting_uids.add(record.uid)
            observed = (record.waiting_reason, record.queue_position)
            if note.key == observed:
                self._written.pop(record.uid, None)  # the watch has caught up
                continue
            if self._written.get(record.uid) == note.key:
                continue
            written_reason = self._written.get(record.uid, observed)[0]
            changed = note.reason not in (record.waiting_reason, written_reason)
            candidates.append(DueNote(record=record, note=note, reason_changed=changed))
        for uid in [uid for uid in self._written if uid not in waiting_uids]:
            del self._written[uid]
        candidates.sort(key=_urgency)
        return candidates[: self.budget], len(candidates) > self.budget


def _urgency(due: DueNote) -> tuple[int, int]:
    position = due.note.position
    exact = int(position) if position is not None and position.isdigit() else EXACT_POSITIONS + 1
    return (0 if due.reason_changed else 1, exact)
