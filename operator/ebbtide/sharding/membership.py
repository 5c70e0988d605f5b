"""Who is a live member, from the membership Leases as one replica sees them.

Every replica holds a Lease of its own (renewed every retry period) and lists all of them every
observe period. A member is live while its Lease has a holder and has changed within its
``leaseDurationSeconds``, measured on the *observer's* monotonic clock from the moment the
observer first saw that version: client-go's leader-election rule, applied to every Lease of the
group. ``renewTime`` is never compared with the local clock (another machine wrote it), so the
rule assumes only that clocks run at about the same rate, not that they agree.

A Lease whose holder is cleared (a replica that stopped gracefully releases its Lease) is gone at
once; a Lease that is no longer listed (deleted) is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class LeaseRecord:
    """One membership Lease as a list showed it."""

    name: str
    version: str
    """Its resourceVersion: any renewal changes it."""
    holder: str
    """Its holderIdentity: the member's identity, empty once released."""
    duration: float
    """Its leaseDurationSeconds."""


@dataclass(frozen=True)
class _Sighting:
    record: LeaseRecord
    since: float
    """When this observer first saw the record's version (its own clock)."""


class MemberObserver:
    """The membership Leases as seen by one observer, and which members are live at a moment."""

    def __init__(self) -> None:
        self._sightings: dict[str, _Sighting] = {}

    def observe(self, records: Iterable[LeaseRecord], *, at: float) -> None:
        """Note a list's answer, received at ``at``; a changed version restarts its Lease's expiry."""
        sightings = {}
        for record in records:
            seen = self._sightings.get(record.name)
            same = seen is not None and seen.record.version == record.version
            sightings[record.name] = seen if same and seen is not None else _Sighting(record, at)
        self._sightings = sightings

    def live(self, *, now: float) -> frozenset[str]:
        """The identities that hold a Lease which has not expired at ``now``."""
        return frozenset(
            seen.record.holder
            for seen in self._sightings.values()
            if seen.record.holder and now < seen.since + seen.record.duration
        )
