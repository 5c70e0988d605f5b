"""Hostile bodies on /filter and /prioritize, as the scheduler would never send them: random bytes,
random JSON, extender arguments with wrong types and odd values anywhere, deep nesting and bodies
over the limit. Every answer is 200 or 400 with a reason (never a 5xx, never a dropped
connection), and the server still answers a well-formed request afterwards.

One server runs on an event loop in a background thread for the whole module, so each example is
a real HTTP exchange and nothing is restarted between examples. ``EBBTIDE_FUZZ_EXAMPLES`` sets
how many examples each property runs (default 1500).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient, TestServer
from extender_builders import extender, filled_cache, names_args, node_object, pod_object
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.hostile_requests import extender_args, json_values

from ebbtide.extender.config import ExtenderConfig

pytestmark = pytest.mark.unit

T = TypeVar("T")
EXAMPLES = int(os.environ.get("EBBTIDE_FUZZ_EXAMPLES", "1500"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
    database=None,
)
MAX_BODY = 64 * 1024
NODES = [node_object(f"n{index}", labels={"zone": f"z{index % 2}"}) for index in range(4)]
VERBS = ("/filter", "/prioritize")


class BackgroundClient:
    """An aiohttp test client whose loop runs in a thread, callable from synchronous tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        config = ExtenderConfig.model_validate({"server": {"maxBodyBytes": MAX_BODY}})
        app = extender(filled_cache(NODES), config=config).app()

        async def start() -> TestClient[Any, Any]:
            started: TestClient[Any, Any] = TestClient(TestServer(app))
            await started.start_server()
            return started

        self.client = self.call(start())

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        async def exchange() -> tuple[int, bytes]:
            response = await self.client.post(path, data=body)
            return response.status, await response.read()

        return self.call(exchange())

    def get(self, path: str) -> int:
        async def exchange() -> int:
            response = await self.client.get(path)
            await response.read()
            return response.status

        return self.call(exchange())

    def close(self) -> None:
        self.call(self.client.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundClient]:
    running = BackgroundClient()
    yield running
    # The server is healthy after everything the module threw at it.
    assert running.get("/healthz") == 200
    for verb in VERBS:
        status, _ = running.post(verb, names_args(pod_object(), ["n0", "n1"]))
        assert status == 200, verb
    running.close()


def assert_answered(status: int, body: bytes) -> None:
    """200 with JSON, or 400 with ``{"Error": <reason>}``; nothing else."""
    assert status in (200, 400), (status, body[:500])
    document = json.loads(body)
    if status == 400:
        assert isinstance(document, dict) and set(document) == {"Error"}, document
        assert isinstance(document["Error"], str) and document["Error"], document


# -- properties -------------------------------------------------------------------------------


@FUZZ
@given(verb=st.sampled_from(VERBS), body=st.binary(max_size=2048))
def test_random_bytes_get_an_answer(server: BackgroundClient, verb: str, body: bytes) -> None:
    assert_answered(*server.post(verb, body))


@FUZZ
@given(verb=st.sampled_from(VERBS), document=json_values)
def test_random_json_gets_an_answer(server: BackgroundClient, verb: str, document: Any) -> None:
    assert_answered(*server.post(verb, json.dumps(document).encode()))


@FUZZ
@given(verb=st.sampled_from(VERBS), args=extender_args)
def test_extender_arguments_with_anything_anywhere_get_an_answer(
    server: BackgroundClient, verb: str, args: Any
) -> None:
    assert_answered(*server.post(verb, json.dumps(args).encode()))


@settings(FUZZ, max_examples=max(50, EXAMPLES // 20))
@given(
    verb=st.sampled_from(VERBS),
    depth=st.integers(min_value=100, max_value=200_000),
    opener=st.sampled_from(['{"Pod":', "[", '{"Pod":{"spec":', '{"a":[']),
)
def test_deep_nesting_gets_400(server: BackgroundClient, verb: str, depth: int, opener: str) -> None:
    body = (opener * depth).encode()[: MAX_BODY - 16]
    status, answer = server.post(verb, body)
    assert status == 400
    assert_answered(status, answer)


@settings(FUZZ, max_examples=max(20, EXAMPLES // 50))
@given(verb=st.sampled_from(VERBS), excess=st.integers(min_value=1, max_value=4 * MAX_BODY))
def test_bodies_over_the_limit_get_400(server: BackgroundClient, verb: str, excess: int) -> None:
    names = ["n0"] * ((MAX_BODY + excess) // 5)
    status, answer = server.post(verb, names_args(pod_object(), names))
    assert status == 400
    assert b"exceeds the limit" in answer
