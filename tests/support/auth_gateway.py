"""An authenticating gateway in front of the test bed's Prometheus, as multi-tenant setups (Mimir,
Cortex, Thanos behind an auth proxy) put one.

Prometheus's web configuration checks basic auth, never a bearer token, and knows no tenants, so
this stands in for the gateway a user runs: a small aiohttp reverse proxy that forwards a request
to the real Prometheus only when it carries ``Authorization: Bearer <token>`` and the tenant
header ``X-Scope-OrgID``, and answers 401 (with the reason, as such gateways do) otherwise. The
answers themselves are the real Prometheus's.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

TOKEN = "ebbtide-e2e-bearer-token"
TENANT = "team-blue"
TENANT_HEADER = "X-Scope-OrgID"
#: Headers a proxy must not pass on (hop-by-hop), and those aiohttp sets itself.
_NOT_FORWARDED = {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "authorization"}
_SESSION = web.AppKey("session", aiohttp.ClientSession)


@dataclass
class AuthGateway:
    """The gateway at ``url``; ``token_file`` holds the token a client should send, and
    ``answers`` counts what it answered: ``forwarded`` or the reason it refused."""

    url: str
    token_file: Path
    answers: Counter[str] = field(default_factory=Counter)


def _refusal(request: web.Request) -> str | None:
    """Why the gateway refuses ``request``; None when it forwards it."""
    if request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return "invalid bearer token"
    if request.headers.get(TENANT_HEADER) != TENANT:
        return f"no or unknown tenant in {TENANT_HEADER}"
    return None


def _application(gateway: AuthGateway, upstream: str) -> web.Application:
    async def forward(request: web.Request) -> web.StreamResponse:
        refusal = _refusal(request)
        gateway.answers[refusal or "forwarded"] += 1
        if refusal is not None:
            return web.Response(status=401, text=refusal)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        async with request.app[_SESSION].request(
            request.method, upstream + request.rel_url.path_qs, headers=headers, data=await request.read()
        ) as answer:
            return web.Response(
                status=answer.status, body=await answer.read(), content_type=answer.content_type
            )

    async def session(app: web.Application) -> AsyncIterator[None]:
        app[_SESSION] = aiohttp.ClientSession()
        yield
        await app[_SESSION].close()

    app = web.Application()
    app.cleanup_ctx.append(session)
    app.router.add_route("*", "/{path:.*}", forward)
    return app


@contextmanager
def auth_gateway(directory: Path, *, upstream: str, port: int) -> Iterator[AuthGateway]:
    """Serve the gateway on ``http://127.0.0.1:port`` in front of ``upstream`` until the block ends."""
    directory.mkdir(parents=True, exist_ok=True)
    token_file = directory / "token"
    token_file.write_text(TOKEN + "\n")
    gateway = AuthGateway(url=f"http://127.0.0.1:{port}", token_file=token_file)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(_application(gateway, upstream.rstrip("/")))
    thread = threading.Thread(target=loop.run_forever, name="auth-gateway", daemon=True)
    try:
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        thread.start()
        yield gateway
    finally:
        if thread.is_alive():
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
        else:
            loop.run_until_complete(runner.cleanup())
        loop.close()
