"""Sends HTTP GET requests to a URL at a rate that follows a :class:`LoadPattern`.

Requests are started on a fixed tick, as many per tick as the pattern's rate owes since the
start (so the achieved rate does not drift when a tick runs late), each without waiting for the
others; at most ``concurrency`` are in flight, beyond which requests are counted as dropped
rather than queued, so a slow service sees the load it is offered, not a backlog. After the
pattern ends the load stays at its base level.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import aiohttp

from ebbtide.demo.pattern import LoadPattern

TICK_SECONDS = 0.05
REPORT_SECONDS = 10.0


@dataclass(frozen=True)
class LoadSettings:
    """Where the load goes, how it changes, and how many requests may be in flight at once."""

    url: str
    pattern: LoadPattern
    concurrency: int = 200
    timeout_seconds: float = 5.0


async def run(settings: LoadSettings) -> None:
    """Offer the load until cancelled, printing the outcomes every :data:`REPORT_SECONDS`."""
    outcomes: Counter[str] = Counter()
    in_flight: set[asyncio.Task[None]] = set()
    timeout = aiohttp.ClientTimeout(total=settings.timeout_seconds)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = last_report = time.monotonic()
        owed = sent = 0.0
        while True:
            now = time.monotonic()
            owed += settings.pattern.value(now - started) * TICK_SECONDS
            while sent + 1 <= owed:
                sent += 1
                if len(in_flight) >= settings.concurrency:
                    outcomes["dropped"] += 1
                    continue
                task = asyncio.create_task(_request(session, settings.url, outcomes))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            if now - last_report >= REPORT_SECONDS:
                rate = settings.pattern.value(now - started)
                print(f"t={now - started:.0f}s rate={rate:.1f}/s {dict(outcomes)}", flush=True)
                last_report = now
            await asyncio.sleep(TICK_SECONDS)


async def _request(session: aiohttp.ClientSession, url: str, outcomes: Counter[str]) -> None:
    try:
        async with session.get(url) as response:
            await response.read()
            outcomes["ok" if response.status < 400 else f"http {response.status}"] += 1
    except (aiohttp.ClientError, TimeoutError):
        outcomes["failed"] += 1
