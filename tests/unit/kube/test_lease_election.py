"""Leader election on a Lease: one leader at a time on a shared clock, takeover only after the
lease expired on the standby's own clock, a leader that cannot renew stops before anyone may
take over, conflicting writes lose, and a graceful stop hands over at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from tests.unit.kube.lease_builders import (
    NAME,
    NAMESPACE,
    FakeClock,
    LeaseServer,
    Link,
    Transitions,
    candidate,
)

from ebbtide.kube.lease_election import (
    Attempt,
    ElectionTiming,
    LeaseElector,
    Obj,
    pause_before_next_attempt,
)

TIMING = ElectionTiming()  # 15 s lease, 10 s renew deadline, 2 s retry


def run(clock: FakeClock, electors: list[LeaseElector], *, until: float, tick: float = 0.25) -> None:
    """Step every candidate each ``tick`` until ``until`` (clock time): more often than the real
    retry period, which only makes a standby quicker to pounce."""
    while clock.now < until:
        for elector in electors:
            elector.step()
        clock.advance(tick)


def test_a_lone_candidate_creates_the_lease_and_leads() -> None:
    server, clock = LeaseServer(), FakeClock()
    transitions = Transitions(clock)
    elector = candidate("a", Link(server), clock=clock, transitions=transitions)

    assert elector.step() is Attempt.HELD
    assert elector.is_leader
    spec = server.spec()
    assert spec["holderIdentity"] == "a"
    assert spec["leaseDurationSeconds"] == 15
    assert spec["leaseTransitions"] == 0
    assert spec["acquireTime"] == spec["renewTime"] == "2024-05-01T12:16:40.000000Z"  # MOMENT + 1000 s
    assert transitions.seen == [("started", "a", clock.now)]

    clock.advance(2)
    assert elector.step() is Attempt.HELD
    assert server.writes == [("create", "a"), ("replace", "a")]
    renewed = server.spec()
    assert renewed["renewTime"] == "2024-05-01T12:16:42.000000Z"
    assert renewed["acquireTime"] == spec["acquireTime"]
    assert transitions.seen == [("started", "a", 1000.0)], "a renewal is not a new leadership"


def test_a_standby_waits_while_the_leader_renews() -> None:
    server, clock = LeaseServer(), FakeClock()
    leader, standby = candidate("a", Link(server), clock=clock), candidate("b", Link(server), clock=clock)
    leader.step()
    run(clock, [leader, standby], until=clock.now + 60)
    assert leader.is_leader
    assert not standby.is_leader
    assert standby.holder == "a"
    assert {holder for _, holder in server.writes} == {"a"}


def test_a_leader_cut_off_stops_before_the_standby_takes_over() -> None:
    server, clock = LeaseServer(), FakeClock()
    transitions = Transitions(clock)
    link = Link(server)
    leader = candidate("a", link, clock=clock, transitions=transitions)
    standby = candidate("b", Link(server), clock=clock, transitions=transitions)
    run(clock, [leader, standby], until=clock.now + 5)
    last_renewal_started = clock.now - 0.25
    link.cut = True

    timeline: list[tuple[float, bool, bool]] = []
    while clock.now < last_renewal_started + 40:
        for elector in (leader, standby):
            elector.step()
        timeline.append((clock.now, leader.is_leader, standby.is_leader))
        clock.advance(0.25)

    assert not any(a and b for _, a, b in timeline), "two leaders at once"
    stopped = next(at for event, who, at in transitions.seen if (event, who) == ("stopped", "a"))
    started = next(at for event, who, at in transitions.seen if (event, who) == ("started", "b"))
    assert stopped <= last_renewal_started + TIMING.renew_deadline + 0.25
    # The standby saw the last renewal no earlier than it was made; it waits a whole lease from then.
    assert started >= last_renewal_started + TIMING.lease_duration
    assert started - stopped >= TIMING.lease_duration - TIMING.renew_deadline - 0.5
    assert server.spec()["holderIdentity"] == "b"
    assert server.spec()["leaseTransitions"] == 1


def test_leadership_ends_at_the_renew_deadline_even_if_the_elector_never_runs_again() -> None:
    # A renewal request that hangs keeps the elector's thread from noticing anything: the
    # admission gate reads the clock, not the thread.
    server, clock = LeaseServer(), FakeClock()
    leader = candidate("a", Link(server), clock=clock)
    leader.step()
    clock.advance(TIMING.renew_deadline - 0.01)
    assert leader.is_leader
    clock.advance(0.01)
    assert not leader.is_leader


def test_a_leader_that_cannot_renew_keeps_leading_until_the_deadline_then_resumes_when_it_can() -> None:
    server, clock = LeaseServer(), FakeClock()
    transitions = Transitions(clock)
    link = Link(server)
    leader = candidate("a", link, clock=clock, transitions=transitions)
    leader.step()
    link.cut = True
    for _ in range(4):
        clock.advance(2)
        assert leader.step() is Attempt.FAILED
        assert leader.is_leader
    clock.advance(2)
    leader.step()
    assert not leader.is_leader
    link.cut = False
    clock.advance(2)
    assert leader.step() is Attempt.HELD, "nobody else took it: still ours"
    assert [event for event, _, _ in transitions.seen] == ["started", "stopped", "started"]
    assert server.spec()["leaseTransitions"] == 0


def test_a_renewal_that_succeeds_after_the_deadline_passed_restarts_the_leadership() -> None:
    server, clock = LeaseServer(), FakeClock()
    transitions = Transitions(clock)

    class SlowLink(Link):
        """Its first renewal hangs past the renew deadline, then lands."""

        slow = True

        def replace(self, *, namespace: str, name: str, body: Obj) -> Obj | None:
            if self.slow:
                self.slow = False
                clock.advance(TIMING.renew_deadline + 1)
            return super().replace(namespace=namespace, name=name, body=body)

    leader = candidate("a", SlowLink(server), clock=clock, transitions=transitions)
    leader.step()  # creates the Lease: no replace
    clock.advance(2)
    assert leader.step() is Attempt.HELD
    assert not leader.is_leader, "a renewal that landed after the deadline gives no leadership"
    clock.advance(2)
    assert leader.step() is Attempt.HELD
    assert leader.is_leader
    # It was no leader while the request hung: whatever it guards starts afresh.
    assert [event for event, _, _ in transitions.seen] == ["started", "stopped", "started"]


def test_the_lease_carries_the_labels_it_was_created_with() -> None:
    server, clock = LeaseServer(), FakeClock()
    elector = LeaseElector(
        leases=server,
        name=NAME,
        namespace=NAMESPACE,
        identity="a",
        labels={"ebbtide.io/member-of": "scaling"},
        clock=clock,
    )
    elector.step()
    clock.advance(2)
    elector.step()
    assert server.leases[(NAMESPACE, NAME)]["metadata"]["labels"] == {"ebbtide.io/member-of": "scaling"}


def test_a_leader_that_sees_another_holder_stops_at_once() -> None:
    server, clock = LeaseServer(), FakeClock()
    transitions = Transitions(clock)
    leader = candidate("a", Link(server), clock=clock, transitions=transitions)
    leader.step()
    server.give_to("intruder")
    clock.advance(2)
    assert leader.step() is Attempt.TAKEN
    assert not leader.is_leader
    assert transitions.seen[-1] == ("stopped", "a", clock.now)


def test_a_leader_whose_lease_is_deleted_stops_then_campaigns_again() -> None:
    server, clock = LeaseServer(), FakeClock()
    transitions = Transitions(clock)
    leader = candidate("a", Link(server), clock=clock, transitions=transitions)
    leader.step()
    del server.leases[(NAMESPACE, NAME)]
    clock.advance(2)
    assert leader.step() is Attempt.HELD
    assert [event for event, _, _ in transitions.seen] == ["started", "stopped", "started"]


def test_of_two_candidates_racing_for_a_free_lease_only_the_first_write_wins() -> None:
    server, clock = LeaseServer(), FakeClock()
    candidate("a", Link(server), clock=clock).step()
    server.give_to("")  # released: free for anyone
    free = server.read(namespace=NAMESPACE, name=NAME)

    class RacingLink(Link):
        """Read the free lease just before the other candidate's write landed."""

        def read(self, *, namespace: str, name: str) -> Obj | None:
            return free

    winner = candidate("b", Link(server), clock=clock)
    loser = candidate("c", RacingLink(server), clock=clock)
    assert winner.step() is Attempt.HELD
    assert loser.step() is Attempt.FAILED, "its write carried a stale resourceVersion"
    assert not loser.is_leader
    assert server.spec()["holderIdentity"] == "b"


def test_two_candidates_creating_the_lease_at_once_get_one_leader() -> None:
    server, clock = LeaseServer(), FakeClock()

    class NotYetLink(Link):
        def read(self, *, namespace: str, name: str) -> Obj | None:
            return None  # read before the other's create landed

    assert candidate("a", Link(server), clock=clock).step() is Attempt.HELD
    late = candidate("b", NotYetLink(server), clock=clock)
    assert late.step() is Attempt.FAILED
    assert not late.is_leader


def test_a_restarted_process_with_the_same_identity_takes_its_lease_back_at_once() -> None:
    server, clock = LeaseServer(), FakeClock()
    candidate("pod-0", Link(server), clock=clock).step()
    clock.advance(3)  # the container crashed and restarted; the lease is far from expired
    restarted = candidate("pod-0", Link(server), clock=clock)
    assert restarted.step() is Attempt.HELD
    assert server.spec()["leaseTransitions"] == 0


def test_the_standby_respects_the_lease_duration_the_holder_wrote() -> None:
    server, clock = LeaseServer(), FakeClock()
    long = ElectionTiming(lease_duration=60, renew_deadline=40, retry_period=2)
    candidate("a", Link(server), clock=clock, timing=long).step()
    standby = candidate("b", Link(server), clock=clock)  # its own lease duration is 15 s
    standby.step()
    clock.advance(30)
    assert standby.step() is Attempt.TAKEN
    clock.advance(31)
    assert standby.step() is Attempt.HELD


def test_request_failures_are_attempts_that_failed_not_crashes() -> None:
    server, clock = LeaseServer(), FakeClock()
    link = Link(server)
    link.cut = True
    elector = candidate("a", link, clock=clock)
    assert elector.step() is Attempt.FAILED
    assert not elector.is_leader


@pytest.mark.parametrize(("lease", "deadline", "retry"), [(10, 10, 2), (15, 10, 10), (15, 10, 0), (5, 10, 2)])
def test_timings_that_could_give_two_leaders_are_refused(lease: float, deadline: float, retry: float) -> None:
    with pytest.raises(ValueError, match="retry_period < renew_deadline < lease_duration"):
        ElectionTiming(lease_duration=lease, renew_deadline=deadline, retry_period=retry)


# -- the thread ------------------------------------------------------------------------------

# A lease far longer than the test: a takeover within it can only come from a release.
SLOW_EXPIRY = ElectionTiming(lease_duration=120, renew_deadline=60, retry_period=0.05)


def wait_until(check: Callable[[], bool], *, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def threaded(identity: str, server: LeaseServer, transitions: Transitions) -> LeaseElector:
    return LeaseElector(
        leases=Link(server),
        name=NAME,
        namespace=NAMESPACE,
        identity=identity,
        timing=SLOW_EXPIRY,
        **transitions.callbacks(identity),
    )


def test_stopping_the_leader_releases_the_lease_and_the_standby_takes_over_at_once() -> None:
    server, transitions = LeaseServer(), Transitions()
    leader, standby = threaded("a", server, transitions), threaded("b", server, transitions)
    leader.start()
    assert wait_until(lambda: leader.is_leader)
    standby.start()
    assert wait_until(lambda: standby.holder == "a")
    try:
        leader.stop()
        assert not leader.is_leader
        assert ("replace", None) in server.writes, "released: no holder"
        assert wait_until(lambda: standby.is_leader), "the standby took over long before expiry"
        assert server.spec()["holderIdentity"] == "b"
        assert server.spec()["leaseTransitions"] == 1
    finally:
        standby.stop()
    assert [(event, who) for event, who, _ in transitions.seen] == [
        ("started", "a"),
        ("stopped", "a"),
        ("started", "b"),
        ("stopped", "b"),
    ]


def test_stopping_a_standby_leaves_the_lease_alone() -> None:
    server, transitions = LeaseServer(), Transitions()
    leader, standby = threaded("a", server, transitions), threaded("b", server, transitions)
    leader.start()
    assert wait_until(lambda: leader.is_leader)
    standby.start()
    assert wait_until(lambda: standby.holder == "a")
    writes = len(server.writes)
    standby.stop()
    time.sleep(0.2)
    try:
        assert server.spec()["holderIdentity"] == "a"
        assert all(holder == "a" for _, holder in server.writes[writes:])
    finally:
        leader.stop()


def test_stop_returns_promptly_and_twice() -> None:
    server = LeaseServer()
    elector = threaded("a", server, Transitions())
    elector.start()
    assert wait_until(lambda: elector.is_leader)
    stopper = threading.Thread(target=elector.stop)
    started = time.monotonic()
    stopper.start()
    stopper.join(10)
    assert time.monotonic() - started < 5
    elector.stop()
    assert not elector.is_leader


@pytest.mark.parametrize(
    ("attempt_started", "now", "valid_until", "expected"),
    [
        pytest.param(100.0, 100.1, None, 1.9, id="a quick attempt waits out the rest of the period"),
        pytest.param(100.0, 105.0, 110.0, 0.0, id="an attempt slower than the period is followed at once"),
        pytest.param(100.0, 100.0, 101.0, 1.0, id="a leader's deadline comes before the period ends"),
        pytest.param(100.0, 112.0, 110.0, 0.0, id="never a negative pause"),
    ],
)
def test_the_next_attempt_is_a_retry_period_after_the_last_one_started(
    attempt_started: float, now: float, valid_until: float | None, expected: float
) -> None:
    pause = pause_before_next_attempt(
        retry_period=2.0, attempt_started=attempt_started, now=now, valid_until=valid_until
    )
    assert pause == pytest.approx(expected)
