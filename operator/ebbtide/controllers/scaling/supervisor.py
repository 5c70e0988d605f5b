"""One asyncio task per ScalingPolicy, started and stopped by what the watch reports.

The controller's kopf handler passes every watch event of a ScalingPolicy to
:meth:`PolicySupervisor.observe`. A UID not seen running gets a task running its loop, handed a
:class:`LiveBody` that every later event of that UID refreshes (the loop reads the latest spec and
status each round) and a :class:`StopFlag`. A ``DELETED`` event, or a body carrying a
``deletionTimestamp``, asks the loop to stop; a policy deleted and created again under the same
name has a new UID, so it gets a fresh loop while the old one winds down. A stopped loop gets
``grace`` seconds to finish a round in flight (and write its status) before it is cancelled;
:meth:`PolicySupervisor.stop_all` does the same for every loop when the operator exits.

A loop that ends by itself (its policy was found gone, or a bug) is not restarted here: the next
event of its UID, if one comes, starts a new one. Nothing here holds a finalizer: a policy can be
deleted whether or not any operator runs.

The events do not always include a deletion. When kopf's watch must list again (its resource
version expired, or the connection broke while listing), it reports the objects listed, each as
an event of type None, and nothing about objects deleted in the meantime: no ``DELETED`` event
ever comes for them. The loop of such a policy ends at its next status write, which finds the
policy gone (see :mod:`.loop`); until then it costs a sleeping task.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


class LiveBody(Mapping[str, Any]):
    """A policy as its latest watch event showed it: a read-only mapping whose contents
    :meth:`replace` swaps for a newer version."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw

    def replace(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw

    def __getitem__(self, key: str) -> Any:
        return self._raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


class StopFlag:
    """False until :meth:`set`; a loop checks it between rounds and sleeps with :meth:`sleep`."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def __bool__(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the flag is set meanwhile."""
        # Not asyncio.wait_for: on Python 3.11 it loses a cancellation that arrives as the
        # event is set, and a loop stopped and then cancelled after its grace would never end.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._event.wait()


#: Runs one policy's loop until its flag is set (or the loop ends by itself).
RunLoop = Callable[[LiveBody, StopFlag], Coroutine[Any, Any, None]]


@dataclass
class _Loop:
    body: LiveBody
    stop: StopFlag
    task: asyncio.Task[None]


class PolicySupervisor:
    """The running policy loops, by UID (see the module's docstring)."""

    def __init__(self, *, grace: float) -> None:
        self.grace = grace
        self._loops: dict[str, _Loop] = {}

    @property
    def running(self) -> frozenset[str]:
        """The UIDs whose loop has not ended yet (stopping ones included)."""
        return frozenset(self._loops)

    def observe(self, event_type: str | None, raw: Mapping[str, Any], *, start: RunLoop) -> None:
        """Take in one watch event (``event_type`` None for an object listed); ``start`` runs
        the loop of a policy that has none."""
        metadata = raw.get("metadata") or {}
        uid = str(metadata.get("uid") or "")
        if not uid:
            return
        found = self._loops.get(uid)
        if event_type == "DELETED" or metadata.get("deletionTimestamp"):
            if found is not None:
                self._stop(found)
            return
        if found is not None:
            found.body.replace(raw)
            return
        body, stop = LiveBody(raw), StopFlag()
        # A fresh context: the handler's (kopf's per-handler variables, the first event among
        # them) would otherwise be kept alive for as long as the loop runs.
        task = asyncio.get_running_loop().create_task(
            start(body, stop),
            name=f"policy loop {metadata.get('namespace')}/{metadata.get('name')}",
            context=contextvars.Context(),
        )
        loop = self._loops[uid] = _Loop(body=body, stop=stop, task=task)
        task.add_done_callback(lambda _: self._ended(uid, loop))

    async def stop_all(self) -> None:
        """Ask every loop to stop, wait up to ``grace`` seconds for them, then cancel the rest
        and wait for them to end."""
        loops = list(self._loops.values())
        for loop in loops:
            loop.stop.set()
        tasks = [loop.task for loop in loops]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self.grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _stop(self, loop: _Loop) -> None:
        if loop.stop:
            return
        loop.stop.set()
        asyncio.get_running_loop().call_later(self.grace, loop.task.cancel)

    def _ended(self, uid: str, loop: _Loop) -> None:
        if self._loops.get(uid) is loop:
            del self._loops[uid]
        if not loop.task.cancelled() and (error := loop.task.exception()) is not None:
            logger.error("the loop of policy %s failed", uid, exc_info=error)
