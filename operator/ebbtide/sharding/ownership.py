"""Which replica acts on a key, and when it may: ownership by a hash ring over the live members,
fenced so that no key is acted on by two replicas in one interval.

A replica may act on a key only when all of these hold at that moment (:meth:`Shard.verdict`,
checked before every round and again right before every write):

* **It is a member.** Its own Lease was renewed within the renew deadline. A replica that can no
  longer renew (partitioned, API server down) stops acting at that deadline; the others cannot
  count its Lease expired before ``lease_duration`` after they saw that renewal, which came later.
  A write checked just before the deadline lands within ``write_budget`` (its request timeout),
  so ``renew_deadline + write_budget < lease_duration`` keeps it ahead of any new owner.
* **Its view is fresh.** Its last successful list of the membership Leases was sent less than
  ``view_freshness`` ago. A replica that cannot list acts on nothing, rather than on a ring that
  may have gained a member.
* **It has settled.** It became a member at least ``settle = view_freshness + write_budget``
  ago. When a replica joins, the keys it takes come from members that are still live and that
  learn of the join only at their next list: each of them acts on such a key at most until its
  view without the newcomer goes stale, and its last write lands ``write_budget`` later. Past the
  settle period no previous owner acts any more.
* **It owns the key** on the ring over the members that are live now
  (:class:`~ebbtide.sharding.membership.MemberObserver`).

Keys that change hands because a member left need no settle period: a member that released its
Lease stopped acting before it did, and one whose Lease expired stopped at its renew deadline.

Rounds are spaced as well as fenced (:meth:`Shard.first_round_at`): a new owner's first round
comes one interval after the previous owner's last decision as the policy's status records it,
and, on a replica that joined recently, one interval after the end of its settle period (the
latest moment a previous owner may have acted, whether or not its status shows it yet).

Adding or removing one of N members moves about 1/N of the keys, all to or from that member
(:class:`~ebbtide.sharding.ring.HashRing`); :data:`SHARD_VIRTUAL_NODES` points per member keep each
share within a few percent of 1/N.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from ebbtide.sharding.membership import LeaseRecord, MemberObserver
from ebbtide.sharding.ring import HashRing

#: Ring points per replica: with few members, many points keep each share close to 1/N (the
#: spread of a share is about 1/sqrt(points) of it: ~3 % here). A ring of ten replicas holds
#: 10,240 points; building it costs ten hash calls and a sort.
SHARD_VIRTUAL_NODES = 1024


@dataclass(frozen=True)
class ShardTiming:
    """Seconds. The Lease part is client-go's leader-election defaults, applied to each
    replica's own membership Lease; see the module docstring for how the rest follow."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    #: How often a replica lists the membership Leases.
    observe_period: float = 2.0
    #: How old that list may be for the replica to act.
    view_freshness: float = 6.0
    #: The longest a fenced write may take (its whole request timeout, with no retry).
    write_budget: float = 4.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline:
            raise ValueError("membership needs 0 < retry_period < renew_deadline")
        if not self.renew_deadline + self.write_budget < self.lease_duration:
            raise ValueError(
                "a write checked at the renew deadline must land before the Lease can expire: "
                "renew_deadline + write_budget < lease_duration"
            )
        if not 0 < self.observe_period < self.view_freshness:
            raise ValueError("0 < observe_period < view_freshness: one failed list must not stop a replica")

    @property
    def settle(self) -> float:
        """How long a replica that just joined acts on nothing."""
        return self.view_freshness + self.write_budget


DEFAULT_SHARD_TIMING = ShardTiming()


class Verdict(Enum):
    """Whether this replica may act on a key now, and if not, why."""

    OWNER = "Owner"
    NOT_OWNER = "NotOwner"
    NOT_MEMBER = "NotMember"
    """Its own Lease is not held, or was not renewed within the renew deadline."""
    STALE_VIEW = "StaleView"
    """It has not listed the members within ``view_freshness``."""
    SETTLING = "Settling"
    """It joined less than ``settle`` ago: a previous owner may still act."""


class Shard:
    """One replica's share of the keys: pure state, fed by its membership and its lists.

    ``is_member`` answers whether this replica's own Lease is held and renewed within the renew
    deadline (the elector's judgement, on its clock); :meth:`joined` and :meth:`left` mark the
    start and end of each unbroken membership. ``clock`` is monotonic and shared with the elector.
    """

    def __init__(
        self,
        *,
        identity: str,
        timing: ShardTiming = DEFAULT_SHARD_TIMING,
        clock: Callable[[], float],
        is_member: Callable[[], bool],
        virtual_nodes: int = SHARD_VIRTUAL_NODES,
    ) -> None:
        self.identity = identity
        self.timing = timing
        self._clock = clock
        self._is_member = is_member
        self._virtual_nodes = virtual_nodes
        self._observer = MemberObserver()
        self._member_since: float | None = None
        self._listed_at: float | None = None
        self._ring: tuple[frozenset[str], tuple[str, ...], HashRing] | None = None

    # -- what happened ------------------------------------------------------------------------

    def joined(self) -> None:
        """This replica's Lease is held from now on (a new, unbroken membership)."""
        self._member_since = self._clock()

    def left(self) -> None:
        """This replica's Lease is lost, expired or released."""
        self._member_since = None

    def listed(self, records: Iterable[LeaseRecord], *, sent_at: float) -> None:
        """A list of the membership Leases, sent at ``sent_at``, answered now."""
        self._observer.observe(records, at=self._clock())
        if self._listed_at is None or sent_at > self._listed_at:
            self._listed_at = sent_at

    # -- questions ----------------------------------------------------------------------------

    @property
    def member_since(self) -> float | None:
        return self._member_since

    def members(self) -> frozenset[str]:
        """The live members now, as last listed."""
        return self._observer.live(now=self._clock())

    def owner(self, key: str) -> str | None:
        """The member that owns ``key`` on the ring of the live members now; None without members."""
        names, ring = self._ring_of(self.members())
        found = ring.owner(key)
        return None if found is None else names[found]

    def verdict(self, key: str) -> Verdict:
        """Whether this replica may act on ``key`` now (see the module docstring)."""
        now = self._clock()
        if self._member_since is None or not self._is_member():
            return Verdict.NOT_MEMBER
        if self._listed_at is None or now - self._listed_at >= self.timing.view_freshness:
            return Verdict.STALE_VIEW
        if now - self._member_since < self.timing.settle:
            return Verdict.SETTLING
        return Verdict.OWNER if self.owner(key) == self.identity else Verdict.NOT_OWNER

    def first_round_at(
        self, *, since_last_decision: float | None, interval: float, spread: float = 0.0
    ) -> float:
        """The earliest moment (on the shard's clock) a key that just came to this replica may
        have its first round: one interval after the previous owner's last decision, made
        ``since_last_decision`` seconds ago (None: never), and, within a membership's first
        moments, one interval and ``spread`` seconds after its settle period ends (``spread``, a
        key's own fraction of the interval, keeps a newcomer's first rounds from all coming at once).
        """
        now = self._clock()
        earliest = now
        if since_last_decision is not None:
            earliest = max(earliest, now - since_last_decision + interval)
        if self._member_since is not None:
            earliest = max(earliest, self._member_since + self.timing.settle + interval + spread)
        return earliest

    def shares(self, keys: Iterable[str]) -> dict[str, int]:
        """How many of ``keys`` each live member owns now (for reports and tests)."""
        counts: dict[str, int] = {}
        for key in keys:
            owner = self.owner(key)
            if owner is not None:
                counts[owner] = counts.get(owner, 0) + 1
        return counts

    def _ring_of(self, members: frozenset[str]) -> tuple[tuple[str, ...], HashRing]:
        if self._ring is None or self._ring[0] != members:
            names = tuple(sorted(members))
            self._ring = (members, names, HashRing.over(names, virtual_nodes=self._virtual_nodes))
        return self._ring[1], self._ring[2]
