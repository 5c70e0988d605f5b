"""Sharded ownership on a fake clock: each replica owns its ring share of the live members,
joins and departures move only the joining or leaving member's keys, and no key is ever open to
two replicas: a previous owner's last write lands before a new owner's first (fencing), on a
join, on a crash and across a partition."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import pytest

from ebbtide.sharding.membership import LeaseRecord, MemberObserver
from ebbtide.sharding.ownership import Shard, ShardTiming, Verdict

pytestmark = pytest.mark.unit

TIMING = ShardTiming()  # 15 s lease, 10 s renew deadline, 2 s renewals and lists, 6 s freshness, 4 s writes
KEYS = [f"ns-{index % 7}/policy-{index}" for index in range(3000)]
TICK = 0.1


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Replica:
    """One operator replica: renews its own Lease and lists everyone's, while its link is up."""

    name: str
    clock: Clock
    store: dict[str, LeaseRecord]
    phase: float = 0.0
    link_up: bool = True
    alive: bool = True
    renewed_at: float | None = None
    listed_at: float | None = None
    versions: int = 0
    shard: Shard = field(init=False)

    def __post_init__(self) -> None:
        self.shard = Shard(identity=self.name, timing=TIMING, clock=self.clock, is_member=self._valid)

    def _valid(self) -> bool:
        return self.renewed_at is not None and self.clock() < self.renewed_at + TIMING.renew_deadline

    def step(self) -> None:
        if not self.alive:
            return
        now = self.clock()
        was = self._valid()
        if self.link_up and (self.renewed_at is None or now - self.renewed_at >= TIMING.retry_period):
            self.versions += 1
            self.store[self.name] = LeaseRecord(self.name, f"{self.name}-{self.versions}", self.name, 15)
            self.renewed_at = now
        if self._valid() and (not was or self.shard.member_since is None):
            self.shard.joined()
        if not self._valid() and self.shard.member_since is not None:
            self.shard.left()
        due = self.listed_at is None or now - self.listed_at >= TIMING.observe_period
        if self.link_up and due and now >= self.phase:
            self.shard.listed(list(self.store.values()), sent_at=now)
            self.listed_at = now

    def release(self) -> None:
        self.alive = False
        self.shard.left()
        record = self.store[self.name]
        self.store[self.name] = LeaseRecord(record.name, record.version + "-released", "", record.duration)


class Cluster:
    def __init__(self, names: list[str]) -> None:
        self.clock = Clock()
        self.store: dict[str, LeaseRecord] = {}
        self.replicas = {
            name: Replica(name, self.clock, self.store, phase=self.clock.now + 0.37 * index)
            for index, name in enumerate(names)
        }
        #: key -> [(time, replica)] for every tick at which a replica might act on the key
        self.acting: dict[str, list[tuple[float, str]]] = {}

    def add(self, name: str) -> Replica:
        replica = Replica(name, self.clock, self.store, phase=self.clock.now + 0.91)
        self.replicas[name] = replica
        return replica

    def run(self, seconds: float, *, keys: list[str] | None = None) -> None:
        until = self.clock.now + seconds
        while self.clock.now < until:
            for replica in self.replicas.values():
                replica.step()
            for key in keys or []:
                for replica in self.replicas.values():
                    if replica.alive and replica.shard.verdict(key) is Verdict.OWNER:
                        self.acting.setdefault(key, []).append((self.clock.now, replica.name))
            self.clock.now += TICK

    def owners(self, keys: list[str]) -> dict[str, str]:
        """Each key's acting owner now (a replica with an OWNER verdict)."""
        found = {}
        for key in keys:
            for replica in self.replicas.values():
                if replica.alive and replica.shard.verdict(key) is Verdict.OWNER:
                    assert key not in found, f"{key} is open to {found[key]} and {replica.name}"
                    found[key] = replica.name
        return found

    def assert_fenced(self) -> None:
        """A new owner's first tick comes at least ``write_budget`` after the previous owner's
        last one: a write checked then has landed before the next owner checks its first."""
        for key, ticks in self.acting.items():
            for (before, old), (after, new) in pairwise(ticks):
                if old != new:
                    assert after - before >= TIMING.write_budget, (key, old, before, new, after)


def split(owners: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for owner in owners.values():
        counts[owner] = counts.get(owner, 0) + 1
    return counts


def test_three_replicas_each_own_a_third_within_fifteen_percent() -> None:
    cluster = Cluster(["operator-0", "operator-1", "operator-2"])
    cluster.run(TIMING.settle + 3)
    owners = cluster.owners(KEYS)
    assert len(owners) == len(KEYS)
    for count in split(owners).values():
        assert abs(count - 1000) <= 150


def test_a_replica_acts_on_nothing_until_its_settle_period_has_passed() -> None:
    cluster = Cluster(["operator-0"])
    cluster.run(TIMING.settle - 1)
    assert cluster.replicas["operator-0"].shard.verdict(KEYS[0]) is Verdict.SETTLING
    cluster.run(1.5)
    assert cluster.replicas["operator-0"].shard.verdict(KEYS[0]) is Verdict.OWNER


def test_a_joining_replica_takes_only_its_fair_part_and_never_overlaps_the_old_owner() -> None:
    cluster = Cluster(["operator-0", "operator-1", "operator-2"])
    keys = KEYS[:300]
    cluster.run(TIMING.settle + 3)
    before = cluster.owners(KEYS)
    cluster.add("operator-3")
    cluster.run(TIMING.settle + 3, keys=keys)
    after = cluster.owners(KEYS)
    moved = {key for key in KEYS if before[key] != after[key]}
    assert all(after[key] == "operator-3" for key in moved)
    assert abs(len(moved) / len(KEYS) - 1 / 4) < 0.05
    cluster.assert_fenced()


def test_a_crashed_replicas_keys_go_to_the_others_after_its_lease_expires_and_no_sooner() -> None:
    cluster = Cluster(["operator-0", "operator-1", "operator-2"])
    keys = KEYS[:300]
    cluster.run(TIMING.settle + 3)
    before = cluster.owners(KEYS)
    crashed_at = cluster.clock.now
    cluster.replicas["operator-1"].alive = False  # SIGKILL: no release
    cluster.run(TIMING.lease_duration - 0.5, keys=keys)
    orphans = [key for key in KEYS if before[key] == "operator-1"]
    assert not set(cluster.owners(orphans)), "taken over before the lease expired"
    cluster.run(TIMING.observe_period + 1, keys=keys)
    after = cluster.owners(KEYS)
    assert set(after) == set(KEYS)
    assert {key for key in KEYS if before[key] != after[key]} == set(orphans)
    taken = min(t for key in keys if before[key] == "operator-1" for t, _ in cluster.acting.get(key, []))
    assert taken - crashed_at <= TIMING.lease_duration + TIMING.retry_period + TIMING.observe_period + TICK
    cluster.assert_fenced()


def test_a_stopped_replica_hands_over_at_the_next_list() -> None:
    cluster = Cluster(["operator-0", "operator-1"])
    cluster.run(TIMING.settle + 3)
    cluster.replicas["operator-1"].release()
    cluster.run(TIMING.observe_period + TICK)
    assert set(split(cluster.owners(KEYS))) == {"operator-0"}


def test_a_partitioned_replica_stops_before_its_lease_can_expire_for_the_others() -> None:
    cluster = Cluster(["operator-0", "operator-1", "operator-2"])
    keys = KEYS[:300]
    cluster.run(TIMING.settle + 3)
    cut = cluster.replicas["operator-2"]
    cut.link_up = False  # alive, acting on what it knows, but no renewal or list gets through
    cluster.run(TIMING.lease_duration + 2 * TIMING.observe_period, keys=keys)
    assert cut.shard.verdict(keys[0]) in (Verdict.NOT_MEMBER, Verdict.STALE_VIEW)
    cluster.assert_fenced()
    cut.link_up = True  # it comes back: a new membership, settled before it acts again
    cluster.run(1, keys=keys)
    assert cut.shard.verdict(keys[0]) in (Verdict.SETTLING, Verdict.NOT_OWNER)
    cluster.run(TIMING.settle + 3, keys=keys)
    assert "operator-2" in split(cluster.owners(KEYS))
    cluster.assert_fenced()


def test_a_replica_that_cannot_list_stops_once_its_view_is_stale() -> None:
    clock = Clock()
    shard = Shard(identity="a", timing=TIMING, clock=clock, is_member=lambda: True)
    shard.joined()
    clock.now += TIMING.settle
    shard.listed([LeaseRecord("a", "1", "a", 15)], sent_at=clock.now)
    assert shard.verdict("k") is Verdict.OWNER
    clock.now += TIMING.view_freshness
    assert shard.verdict("k") is Verdict.STALE_VIEW


def test_a_new_owners_first_round_comes_an_interval_after_the_last_decision_and_the_settle() -> None:
    clock = Clock()
    shard = Shard(identity="a", timing=TIMING, clock=clock, is_member=lambda: True)
    assert shard.first_round_at(since_last_decision=None, interval=15) == clock.now
    assert shard.first_round_at(since_last_decision=20, interval=15) == clock.now
    assert shard.first_round_at(since_last_decision=5, interval=15) == clock.now + 10
    shard.joined()
    assert shard.first_round_at(since_last_decision=None, interval=15) == clock.now + TIMING.settle + 15
    # A newcomer's first rounds are spread over an interval by each key's own fraction.
    spread = shard.first_round_at(since_last_decision=None, interval=15, spread=6)
    assert spread == clock.now + TIMING.settle + 15 + 6


def test_a_lease_is_live_until_it_stays_unchanged_for_its_duration_on_the_observers_clock() -> None:
    observer = MemberObserver()
    observer.observe([LeaseRecord("l-a", "1", "a", 15), LeaseRecord("l-b", "7", "", 15)], at=0)
    assert observer.live(now=14.9) == {"a"}  # a released lease counts for nobody
    assert observer.live(now=15) == frozenset()
    observer.observe([LeaseRecord("l-a", "1", "a", 15)], at=10)
    assert observer.live(now=15) == frozenset()  # the same version: the wait did not restart
    observer.observe([LeaseRecord("l-a", "2", "a", 15)], at=16)
    assert observer.live(now=30) == {"a"}
    observer.observe([], at=17)
    assert observer.live(now=17) == frozenset()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"write_budget": 5.0}, "renew_deadline \\+ write_budget"),
        ({"observe_period": 6.0}, "observe_period"),
        ({"retry_period": 10.0}, "retry_period"),
    ],
)
def test_timings_that_would_let_two_replicas_act_are_refused(change: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ShardTiming(**change)
