"""The policy supervisor: one loop per policy UID, fed and stopped by the watch's events, with
fake loops in place of the real one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ebbtide.controllers.scaling.controller import LOOPS_HANDLER, QuietLoopsHandler
from ebbtide.controllers.scaling.supervisor import LiveBody, PolicySupervisor, StopFlag

pytestmark = pytest.mark.unit


def policy(uid: str, *, name: str = "web", interval: str = "15s", deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"namespace": "ns", "name": name, "uid": uid}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T12:00:00Z"
    return {"metadata": metadata, "spec": {"interval": interval}}


@dataclass
class FakeLoops:
    """Loops that record what they saw; ``on_stop`` is what a loop does once asked to stop."""

    on_stop: Callable[[], Awaitable[None]] | None = None
    ends_at_once: bool = False
    started: list[LiveBody] = field(default_factory=list)
    stops: list[StopFlag] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    async def run(self, body: LiveBody, stop: StopFlag) -> None:
        self.started.append(body)
        self.stops.append(stop)
        uid = body["metadata"]["uid"]
        if self.ends_at_once:
            return
        try:
            while not stop:
                await stop.sleep(3600)
            if self.on_stop is not None:
                await self.on_stop()
            self.finished.append(uid)
        except asyncio.CancelledError:
            self.cancelled.append(uid)
            raise


async def settle() -> None:
    """Let every task that can run, run."""
    for _ in range(10):
        await asyncio.sleep(0)


def test_a_new_policy_gets_one_loop_that_reads_the_latest_body() -> None:
    async def scenario() -> None:
        loops, supervisor = FakeLoops(), PolicySupervisor(grace=60)
        supervisor.observe(None, policy("u-1"), start=loops.run)
        await settle()
        supervisor.observe("MODIFIED", policy("u-1", interval="30s"), start=loops.run)
        await settle()
        [body] = loops.started
        assert body["spec"]["interval"] == "30s"
        assert supervisor.running == {"u-1"}
        await supervisor.stop_all()

    asyncio.run(scenario())


def test_a_deleted_policy_has_its_loop_stopped() -> None:
    async def scenario() -> None:
        loops, supervisor = FakeLoops(), PolicySupervisor(grace=60)
        supervisor.observe("ADDED", policy("u-1"), start=loops.run)
        await settle()
        supervisor.observe("DELETED", policy("u-1"), start=loops.run)
        await settle()
        assert loops.finished == ["u-1"]
        assert supervisor.running == frozenset()

    asyncio.run(scenario())


def test_a_policy_being_deleted_has_its_loop_stopped_and_gets_none_if_it_had_none() -> None:
    async def scenario() -> None:
        loops, supervisor = FakeLoops(), PolicySupervisor(grace=60)
        supervisor.observe("ADDED", policy("u-1"), start=loops.run)
        await settle()
        supervisor.observe("MODIFIED", policy("u-1", deleting=True), start=loops.run)
        supervisor.observe(None, policy("u-2", deleting=True), start=loops.run)
        await settle()
        assert loops.finished == ["u-1"]
        assert [body["metadata"]["uid"] for body in loops.started] == ["u-1"]
        assert supervisor.running == frozenset()

    asyncio.run(scenario())


def test_a_policy_created_again_under_the_same_name_gets_a_fresh_loop() -> None:
    async def scenario() -> None:
        loops, supervisor = FakeLoops(), PolicySupervisor(grace=60)
        supervisor.observe("ADDED", policy("u-1"), start=loops.run)
        await settle()
        supervisor.observe("DELETED", policy("u-1"), start=loops.run)
        supervisor.observe("ADDED", policy("u-2", interval="5s"), start=loops.run)
        await settle()
        old, new = loops.started
        assert (old["metadata"]["uid"], new["metadata"]["uid"]) == ("u-1", "u-2")
        assert new["spec"]["interval"] == "5s"
        assert loops.finished == ["u-1"]
        assert supervisor.running == {"u-2"}
        await supervisor.stop_all()

    asyncio.run(scenario())


def test_a_deleted_policys_loop_that_does_not_stop_is_cancelled_after_the_grace() -> None:
    async def scenario() -> None:
        never = asyncio.Event()
        loops, supervisor = FakeLoops(on_stop=never.wait), PolicySupervisor(grace=0)
        supervisor.observe("ADDED", policy("u-1"), start=loops.run)
        await settle()
        supervisor.observe("DELETED", policy("u-1"), start=loops.run)
        await settle()
        assert loops.cancelled == ["u-1"]
        assert supervisor.running == frozenset()

    asyncio.run(scenario())


def test_on_exit_a_round_in_flight_finishes_within_the_grace() -> None:
    async def scenario() -> None:
        async def round_in_flight() -> None:
            await settle()

        loops, supervisor = FakeLoops(on_stop=round_in_flight), PolicySupervisor(grace=60)
        for uid in ("u-1", "u-2"):
            supervisor.observe(None, policy(uid, name=uid), start=loops.run)
        await settle()
        await supervisor.stop_all()
        assert sorted(loops.finished) == ["u-1", "u-2"]
        assert loops.cancelled == []
        assert supervisor.running == frozenset()

    asyncio.run(scenario())


def test_on_exit_a_loop_still_running_after_the_grace_is_cancelled() -> None:
    async def scenario() -> None:
        never = asyncio.Event()
        loops, supervisor = FakeLoops(on_stop=never.wait), PolicySupervisor(grace=0)
        supervisor.observe(None, policy("u-1"), start=loops.run)
        await settle()
        await supervisor.stop_all()
        assert loops.cancelled == ["u-1"]
        assert supervisor.running == frozenset()

    asyncio.run(scenario())


def test_a_loop_that_ends_by_itself_is_started_again_only_by_the_next_event() -> None:
    async def scenario() -> None:
        loops, supervisor = FakeLoops(ends_at_once=True), PolicySupervisor(grace=60)
        supervisor.observe(None, policy("u-1"), start=loops.run)
        await settle()
        assert len(loops.started) == 1
        assert supervisor.running == frozenset()
        supervisor.observe("MODIFIED", policy("u-1"), start=loops.run)
        await settle()
        assert len(loops.started) == 2

    asyncio.run(scenario())


def test_a_failing_loop_is_logged_and_forgotten(caplog: pytest.LogCaptureFixture) -> None:
    async def failing(body: LiveBody, stop: StopFlag) -> None:
        raise RuntimeError("a bug")

    async def scenario() -> None:
        supervisor = PolicySupervisor(grace=60)
        supervisor.observe(None, policy("u-1"), start=failing)
        await settle()
        assert supervisor.running == frozenset()

    asyncio.run(scenario())
    assert "the loop of policy u-1 failed" in caplog.text


def test_a_stop_flag_ends_a_sleep_early() -> None:
    async def scenario() -> None:
        stop = StopFlag()
        sleeping = asyncio.ensure_future(stop.sleep(3600))
        await settle()
        assert not sleeping.done() and not stop
        stop.set()
        await asyncio.wait_for(sleeping, timeout=60)
        assert stop

    asyncio.run(scenario())


def test_kopfs_line_for_each_event_of_the_loops_handler_is_dropped_its_failures_are_not() -> None:
    quiet = QuietLoopsHandler()

    def record(level: int, message: str) -> logging.LogRecord:
        return logging.LogRecord("kopf.objects", level, __file__, 0, message, None, None)

    assert not quiet.filter(record(logging.INFO, f"Handler {LOOPS_HANDLER!r} succeeded."))
    assert quiet.filter(record(logging.INFO, "Handler 'hpa_targets' succeeded."))
    assert quiet.filter(record(logging.ERROR, f"Handler {LOOPS_HANDLER!r} failed with an exception."))
