"""The shared event loop: uvloop's where installed, else asyncio's; either runs coroutines."""

from __future__ import annotations

import asyncio
import importlib.util

from ebbtide.event_loop import new_event_loop


def test_the_loop_is_uvloops_when_installed_and_runs_a_coroutine() -> None:
    loop = new_event_loop()
    try:
        if importlib.util.find_spec("uvloop") is not None:
            assert type(loop).__module__.startswith("uvloop")
        assert loop.run_until_complete(asyncio.sleep(0, result=42)) == 42
    finally:
        loop.close()
