"""The demo's tally of admitted Jobs, per queue (pure: plain values in, figures out).

Finished Jobs are deleted some time after they end (``ttlSecondsAfterFinished``), so the
cluster cannot say at the end what each queue was given over the run. The ledger remembers
every admitted Job it was shown, with the CPU it requested and when it was admitted and ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True)
class JobTally:
    """A queue's admitted Jobs and the CPU-seconds they were given."""

    admitted: int = 0
    cpu_seconds: float = 0.0


@dataclass(frozen=True)
class _Entry:
    queue: str
    cpu: float
    admitted_at: datetime
    ended_at: datetime | None
    seen_at: datetime


@dataclass
class JobLedger:
    """Admitted Jobs by name. A Job's CPU-seconds are its CPU requests times the time from its
    admission to its end; while it runs, to now; once it is gone without an end seen, to the
    last time it was seen."""

    _entries: dict[str, _Entry] = field(default_factory=dict)

    def record(
        self,
        *,
        name: str,
        queue: str,
        cpu: float,
        admitted_at: datetime,
        ended_at: datetime | None,
        seen_at: datetime,
    ) -> None:
        """Note what one look showed of an admitted Job."""
        known = self._entries.get(name)
        if known is not None:
            self._entries[name] = replace(known, ended_at=known.ended_at or ended_at, seen_at=seen_at)
            return
        self._entries[name] = _Entry(queue, cpu, admitted_at, ended_at, seen_at)

    def tallies(self, *, now: datetime, present: set[str] | None = None) -> dict[str, JobTally]:
        """Queue -> tally as of ``now``. ``present``: names of the Jobs that still exist (None:
        all of them); a Job that is gone counts only up to when it was last seen."""
        counts: dict[str, int] = {}
        seconds: dict[str, float] = {}
        for name, entry in self._entries.items():
            end = entry.ended_at
            if end is None:
                end = now if present is None or name in present else entry.seen_at
            counts[entry.queue] = counts.get(entry.queue, 0) + 1
            given = max(0.0, (end - entry.admitted_at).total_seconds()) * entry.cpu
            seconds[entry.queue] = seconds.get(entry.queue, 0.0) + given
        return {queue: JobTally(counts[queue], seconds[queue]) for queue in counts}
