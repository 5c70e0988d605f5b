"""Which ScalingPolicies this replica decides, as the policy loops ask it.

Every replica runs a loop per policy (kopf standalone: no peering pauses it), and every loop
asks :class:`Ownership` before each round whether this replica owns the policy now; a loop that
does not own its policy does no work at all (no Prometheus read, no API call) and wakes when the
ownership changes or its next round comes. The round asks again right before each write
(:meth:`Ownership.fence`). :class:`ShardedOwnership` answers from this replica's membership in the
``scaling`` group (:mod:`ebbtide.kube.membership`, :mod:`ebbtide.sharding.ownership`);
:class:`SoleOwner` owns everything (tests of one round).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from ebbtide.kube.membership import ShardMembership
from ebbtide.metrics import scaling_metrics

#: The membership group (and Lease label value) of the scaling controller's replicas.
GROUP = "scaling"


def policy_key(*, namespace: str, name: str) -> str:
    """A policy's key on the ring."""
    return f"{namespace}/{name}"


class Ownership(Protocol):
    #: Who this replica is (its pod name); the status names the owner with it ("" for none).
    identity: str

    def may_act(self, key: str) -> bool:
        """True if this replica may run a round for ``key`` now."""
        ...

    def fence(self, key: str) -> bool:
        """:meth:`may_act`, asked right before a write (which then must land within the budget)."""
        ...

    def first_round_at(
        self, *, since_last_decision: float | None, interval: float, spread: float = 0.0
    ) -> float:
        """When (``time.monotonic``) a policy that just came to this replica may have its first
        round (see :meth:`ebbtide.sharding.ownership.Shard.first_round_at`)."""
        ...

    async def changed(self) -> None:
        """Return when ownership may have changed (never, for a sole owner)."""
        ...


class SoleOwner:
    """Owns every policy, always."""

    identity = ""

    def may_act(self, key: str) -> bool:
        return True

    def fence(self, key: str) -> bool:
        return True

    def first_round_at(
        self, *, since_last_decision: float | None, interval: float, spread: float = 0.0
    ) -> float:
        return asyncio.get_running_loop().time()

    async def changed(self) -> None:
        await asyncio.Event().wait()


class ShardedOwnership:
    """Ownership from ``membership``; :meth:`bind` it to the event loop the policy loops run in."""

    def __init__(self, membership: ShardMembership) -> None:
        self.membership = membership
        self.identity = membership.identity
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake the loops waiting in :meth:`changed` (on ``loop``) whenever membership changes."""
        self._loop = loop
        self._event = asyncio.Event()

        def wake() -> None:
            self.report_membership()
            loop.call_soon_threadsafe(self._wake)

        self.membership.on_change(wake)

    def may_act(self, key: str) -> bool:
        return self.membership.may_act(key)

    def fence(self, key: str) -> bool:
        return self.membership.fence(key)

    def first_round_at(
        self, *, since_last_decision: float | None, interval: float, spread: float = 0.0
    ) -> float:
        return self.membership.shard.first_round_at(
            since_last_decision=since_last_decision, interval=interval, spread=spread
        )

    async def changed(self) -> None:
        if self._event is None:
            await asyncio.Event().wait()
            return
        await self._event.wait()

    def report_membership(self) -> None:
        """Set the membership gauges from what this replica knows now: whether it holds its
        Lease, and how many members it sees."""
        # A replica that lost its Lease decides nothing: the gauge makes that visible (and
        # alertable) rather than only a log line.
        shard = self.membership.shard
        scaling_metrics.MEMBER.set(0 if shard.member_since is None else 1)
        scaling_metrics.MEMBERS.set(len(shard.members()))

    def _wake(self) -> None:
        # Every waiter holds the event it started waiting on: set it, and give later waiters a new one.
        assert self._event is not None
        event, self._event = self._event, asyncio.Event()
        event.set()
