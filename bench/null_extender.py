"""A scheduler extender that does no work: the floor of what the extender protocol costs.

It answers the same verbs as ebbtide's extender over the same HTTP/JSON protocol
(k8s.io/kube-scheduler/extender/v1, names only) without scoring: filter passes every node, and
prioritize gives every node score 0 (an answer as long as a real one, so the scheduler decodes
as much). It reads and writes JSON with the same library as ebbtide's extender, so that only the
work differs. ``bench/scheduler_throughput.py --extender null`` runs the second scheduler against it,
separating what the extender's own work costs the scheduler from what calling any extender costs.

    .venv/bin/python bench/null_extender.py PORT NODES
"""

from __future__ import annotations

import sys

import orjson
from aiohttp import web

from ebbtide.event_loop import new_event_loop


def app(nodes: int) -> web.Application:
    """The application: /filter, /prioritize, /healthz (reporting ``nodes`` cached), /metrics."""

    async def filter_(request: web.Request) -> web.Response:
        names = orjson.loads(await request.read()).get("NodeNames") or []
        answer: dict[str, object] = {
            "NodeNames": names,
            "FailedNodes": {},
            "FailedAndUnresolvableNodes": {},
            "Error": "",
        }
        return web.Response(body=orjson.dumps(answer), content_type="application/json")

    async def prioritize(request: web.Request) -> web.Response:
        names = orjson.loads(await request.read()).get("NodeNames") or []
        answer = [{"Host": name, "Score": 0} for name in names]
        return web.Response(body=orjson.dumps(answer), content_type="application/json")

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "nodes": nodes})

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(text="", content_type="text/plain")

    application = web.Application(client_max_size=64 * 1024**2)
    application.add_routes(
        [
            web.post("/filter", filter_),
            web.post("/prioritize", prioritize),
            web.get("/healthz", healthz),
            web.get("/metrics", metrics),
        ]
    )
    return application


if __name__ == "__main__":
    port, nodes = int(sys.argv[1]), int(sys.argv[2])
    # The same event loop as ebbtide's extender, so that only the work differs.
    web.run_app(app(nodes), host="127.0.0.1", port=port, access_log=None, print=None, loop=new_event_loop())
