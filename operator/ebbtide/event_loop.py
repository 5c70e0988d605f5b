"""The event loop of the extender and the operator: uvloop where it is installed, else asyncio's own.

Every scheduling cycle waits for the extender's answers, so the fixed cost of each HTTP request
counts against the scheduler's throughput. With uvloop (libuv under asyncio's API) the extender's
CPU per prioritize request at 100 nodes fell from 0.60 to 0.43 ms and its p99 from 2.1 to 1.1 ms
(bench/extender_latency.py), and a do-nothing extender (bench/null_extender.py) let the scheduler
reach 0.70 instead of 0.66 of the default scheduler's pods/s at 1,000 nodes. The operator's
rounds are mostly HTTP requests and timers as well (kopf's own command line picks uvloop too).
uvloop has no Windows build, so it is optional: without it both run the same, only slower.
"""

from __future__ import annotations

import asyncio


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop (not set as the thread's current loop)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
