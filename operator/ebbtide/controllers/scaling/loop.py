"""One loop per ScalingPolicy, at the policy's own ``spec.interval``.

kopf's timers fire at one fixed interval per decorator, but every policy chooses its own and may
change it at any time. So each policy gets a task of its own (:mod:`.supervisor`: one per UID, as
long as the watch shows the policy) running this loop: a round, then a sleep until the next round
is due, with the interval taken from the latest spec each time (the supervisor keeps ``body`` up
to date with the watch).

Rounds are kept on a fixed-rate schedule (due times ``t0 + k * interval``) so they do not drift
by the round's own duration; a round that is late does not cause a burst of catch-up rounds, the
schedule just moves on. The first round of each policy is offset by a stable fraction of its
interval (from its UID), so 500 policies created (or resumed after a restart) at once spread
over the interval instead of all querying Prometheus at the same instant.

Every replica runs this loop for every policy, but only the policy's owner runs rounds
(:mod:`.ownership`). A loop that does not own its policy sleeps until its next round is due or
the ownership changes, whichever comes first, and then asks again: no Prometheus read, no API
call. A loop that loses its policy forgets what it remembered (the next owner starts from the
status, as after a restart); one that gains it has its first round one interval after the
previous owner's last decision (the status's ``lastDecision.time``), or later on a replica that
just joined (see :meth:`ebbtide.sharding.ownership.Shard.first_round_at`).

A loop ends when it is asked to stop, and also when a round's status write finds the policy gone
(404): the watch does not always report a deletion (see :mod:`.supervisor`), and nothing is left
to decide for a policy that no longer exists. After a round, the owner takes off the finalizer an
earlier version left on the policy, if any (:mod:`.finalizer`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from ebbtide.api.duration import parse_duration
from ebbtide.api.scalingpolicy import ScalingPolicySpec
from ebbtide.controllers.scaling.finalizer import (
    RETRY_SECONDS,
    carries_earlier_finalizer,
    drop_earlier_finalizer,
)
from ebbtide.controllers.scaling.memory import PolicyMemory
from ebbtide.controllers.scaling.ownership import Ownership, policy_key
from ebbtide.controllers.scaling.round import HpaTargets, run_round
from ebbtide.controllers.scaling.services import ScalingServices
from ebbtide.metrics import scaling_metrics

#: The interval used while the spec is invalid (the spec's own default).
FALLBACK_INTERVAL = 15.0

logger = logging.getLogger(__name__)


class Stopped(Protocol):
    """True once the loop should end (:class:`.supervisor.StopFlag`)."""

    def __bool__(self) -> bool: ...


def first_offset(uid: str, *, interval: float) -> float:
    """The delay before a policy's first round: a stable fraction of ``interval`` from its UID."""
    return (zlib.crc32(uid.encode()) % 1000) / 1000 * interval


def next_due(previous_due: float, *, interval: float, now: float) -> float:
    """When the round after the one due at ``previous_due`` is due: one interval later, or
    ``now`` if that has already passed (late rounds are not caught up)."""
    return max(previous_due + interval, now)


async def run_policy_loop(
    *,
    services: ScalingServices,
    body: Mapping[str, Any],
    stopped: Stopped,
    hpa_targets: HpaTargets,
    sleep: Callable[[float], Awaitable[Any]],
    clock: Callable[[], float] = time.time,
) -> None:
    """Run rounds for the policy ``body`` while this replica owns it, until ``stopped`` or until
    a round finds the policy gone; ``sleep(seconds)`` must return an awaitable that ends early
    when the loop is asked to stop (:meth:`.supervisor.StopFlag.sleep`)."""
    metadata = body["metadata"]
    memory = PolicyMemory(namespace=metadata["namespace"], name=metadata["name"], uid=metadata["uid"])
    key = policy_key(namespace=memory.namespace, name=memory.name)
    ownership = services.ownership
    loop = asyncio.get_running_loop()
    interval = _interval_of(body)
    due = loop.time() + first_offset(memory.uid, interval=interval)
    owning = False
    finalizer_tried_at = float("-inf")
    try:
        while not stopped:
            delay = due - loop.time()
            if delay > 0:
                await (sleep(delay) if owning else _sleep_or_change(sleep, delay, ownership))
                if stopped:
                    break
            if not ownership.may_act(key):
                if owning:
                    owning = False
                    memory = _forget(services, memory)
                if loop.time() >= due:  # woken by the schedule, not by a change
                    due = next_due(due, interval=interval, now=loop.time())
                continue
            if not owning:
                owning = True
                spread = first_offset(memory.uid, interval=interval)
                first = _first_round_at(ownership, body, interval=interval, spread=spread, clock=clock)
                if first > loop.time():
                    due = first
                    continue
            scaling_metrics.ROUND_LATENESS_SECONDS.observe(max(0.0, loop.time() - due))
            spec = await _timed_round(services, memory, body=body, hpa_targets=hpa_targets, clock=clock)
            if memory.gone:
                logger.info("%s/%s is gone; its loop ends", memory.namespace, memory.name)
                break
            if carries_earlier_finalizer(body) and clock() - finalizer_tried_at >= RETRY_SECONDS:
                finalizer_tried_at = clock()
                await drop_earlier_finalizer(services, body)
            interval = FALLBACK_INTERVAL if spec is None else spec.interval.total_seconds()
            due = next_due(due, interval=interval, now=loop.time())
    finally:
        _forget(services, memory)


async def _timed_round(
    services: ScalingServices,
    memory: PolicyMemory,
    *,
    body: Mapping[str, Any],
    hpa_targets: HpaTargets,
    clock: Callable[[], float],
) -> ScalingPolicySpec | None:
    """:func:`.round.run_round`, timed; a round that raises (a bug) counts as an invalid spec
    rather than ending the policy's loop."""
    started = time.perf_counter()
    try:
        return await run_round(
            services=services, memory=memory, body=body, hpa_targets=hpa_targets, clock=clock
        )
    except Exception:
        scaling_metrics.ERRORS.labels(kind="round").inc()
        scaling_metrics.POLICY_ERRORS.labels(
            memory.namespace, memory.name, scaling_metrics.ROUND_FAILED
        ).inc()
        logger.exception("round of %s/%s failed", memory.namespace, memory.name)
        return None
    finally:
        scaling_metrics.ROUND_SECONDS.observe(time.perf_counter() - started)


async def _sleep_or_change(
    sleep: Callable[[float], Awaitable[Any]], delay: float, ownership: Ownership
) -> None:
    """Sleep ``delay`` seconds, or less if the ownership changes (or the loop is stopped) first."""
    waits = [asyncio.ensure_future(sleep(delay)), asyncio.ensure_future(ownership.changed())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def _first_round_at(
    ownership: Ownership,
    body: Mapping[str, Any],
    *,
    interval: float,
    spread: float,
    clock: Callable[[], float],
) -> float:
    decided = ((body.get("status") or {}).get("lastDecision") or {}).get("time")
    since = None
    if isinstance(decided, str):
        try:
            since = max(0.0, clock() - datetime.fromisoformat(decided).timestamp())
        except ValueError:
            since = None
    return ownership.first_round_at(since_last_decision=since, interval=interval, spread=spread)


def _forget(services: ScalingServices, memory: PolicyMemory) -> PolicyMemory:
    """Drop what this replica held for the policy (its load history, its gauges); a fresh memory."""
    services.source.forget(memory.uid)
    scaling_metrics.forget_policy(namespace=memory.namespace, name=memory.name)
    return PolicyMemory(namespace=memory.namespace, name=memory.name, uid=memory.uid)


def _interval_of(body: Mapping[str, Any]) -> float:
    text = (body.get("spec") or {}).get("interval")
    try:
        return max(1.0, parse_duration(text).total_seconds()) if text else FALLBACK_INTERVAL
    except ValueError:
        return FALLBACK_INTERVAL
