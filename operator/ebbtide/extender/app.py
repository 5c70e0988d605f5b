"""The HTTP face of the extender: aiohttp routes, error mapping, metrics and body limits.

``POST /filter`` and ``POST /prioritize`` speak the scheduler's extender protocol,
``GET /healthz`` reports liveness and cache state, ``GET /metrics`` serves Prometheus metrics.
A request never crashes the server: a malformed or oversized body gets 400 with a message, a
cache that has not synced yet 503, and an unexpected failure 500, each counted by verb.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from ebbtide.errors import BadRequestError, NotReadyError
from ebbtide.extender.protocol import decode_args, encode_error
from ebbtide.extender.service import ExtenderService
from ebbtide.extender.telemetry import Telemetry

logger = logging.getLogger(__name__)

SERVICE = web.AppKey("service", ExtenderService)
TELEMETRY = web.AppKey("telemetry", Telemetry)
HEALTH: web.AppKey[Callable[[], dict[str, object]]] = web.AppKey("health")
MAX_BODY = web.AppKey("max_body", int)

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
_JSON = "application/json"
_VERBS = {"/filter": "filter", "/prioritize": "prioritize", "/healthz": "healthz"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    *,
    service: ExtenderService,
    telemetry: Telemetry,
    health: Callable[[], dict[str, object]] = dict,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> web.Application:
    """The extender application; background tasks are added by the caller (``cleanup_ctx``)."""
    # aiohttp's own limit would answer 413; _read_body enforces the limit and answers 400.
    app = web.Application(middlewares=[_observe], client_max_size=max_body_bytes + 1)
    app[SERVICE] = service
    app[TELEMETRY] = telemetry
    app[HEALTH] = health
    app[MAX_BODY] = max_body_bytes
    app.router.add_post("/filter", _filter)
    app.router.add_post("/prioritize", _prioritize)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    return app


async def _filter(request: web.Request) -> web.Response:
    args = decode_args(await _read_body(request))
    return web.Response(body=request.app[SERVICE].filter(args), content_type=_JSON)


async def _prioritize(request: web.Request) -> web.Response:
    args = decode_args(await _read_body(request))
    return web.Response(body=request.app[SERVICE].prioritize(args), content_type=_JSON)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response(request.app[HEALTH]())


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[TELEMETRY].exposition()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


async def _read_body(request: web.Request) -> bytes:
    limit = request.app[MAX_BODY]
    if request.content_length is not None and request.content_length > limit:
        raise BadRequestError(f"the body exceeds the limit of {limit} bytes")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as error:
        raise BadRequestError(f"the body exceeds the limit of {limit} bytes") from error
    if len(body) > limit:
        raise BadRequestError(f"the body exceeds the limit of {limit} bytes")
    return body


@web.middleware
async def _observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Time and count every request; turn failures into answers with a message."""
    telemetry = request.app[TELEMETRY]
    verb = _VERBS.get(request.path, "other")
    started = time.perf_counter()
    try:
        response = await handler(request)
    except BadRequestError as error:
        response = _error(400, str(error), telemetry=telemetry, verb=verb, kind="bad_request")
    except NotReadyError as error:
        response = _error(503, str(error), telemetry=telemetry, verb=verb, kind="not_ready")
    except web.HTTPException as error:  # 404, 405: aiohttp's own answers
        telemetry.requests.labels(verb, str(error.status)).inc()
        raise
    except Exception:
        logger.exception("%s failed", verb)
        response = _error(500, "internal error", telemetry=telemetry, verb=verb, kind="internal")
    telemetry.requests.labels(verb, str(response.status)).inc()
    if verb != "other":
        telemetry.latency.labels(verb).observe(time.perf_counter() - started)
    return response


def _error(status: int, message: str, *, telemetry: Telemetry, verb: str, kind: str) -> web.Response:
    telemetry.errors.labels(verb, kind).inc()
    if status != 500:
        logger.info("%s answered %d: %s", verb, status, message)
    return web.Response(status=status, body=encode_error(message), content_type=_JSON)
