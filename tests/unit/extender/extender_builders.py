"""Builders for extender tests: Kubernetes-shaped objects, a filled node cache, a running app."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from aiohttp.test_utils import TestClient, TestServer

from ebbtide.api.resources import read_node
from ebbtide.extender.config import ExtenderConfig
from ebbtide.extender.config_reload import ConfigHolder
from ebbtide.extender.runtime import Extender
from ebbtide.kube.node_cache import NodeCache
from ebbtide.metrics.node_load import LoadSample, NodeLoadReport
from ebbtide.scoring.kube_objects import read_bound_pod
from ebbtide.scoring.values import Utilisation

FIXTURES = Path(__file__).parent / "fixtures"
T = TypeVar("T")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def node_object(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "16Gi",
    labels: Mapping[str, str] | None = None,
    version: str = "1",
    unschedulable: bool = False,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "resourceVersion": version, "labels": dict(labels or {})},
        "spec": {"unschedulable": True} if unschedulable else {},
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def pod_object(
    name: str = "p",
    *,
    uid: str | None = None,
    cpu: str = "500m",
    memory: str = "512Mi",
    node: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    phase: str = "Pending",
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]
    }
    if node is not None:
        spec["nodeName"] = node
    return {
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": uid or f"uid-{name}",
            "labels": dict(labels or {}),
            "annotations": dict(annotations or {}),
        },
        "spec": spec,
        "status": {"phase": phase},
    }


def names_args(pod: Mapping[str, Any], names: list[Any]) -> bytes:
    return json.dumps({"Pod": pod, "Nodes": None, "NodeNames": names}).encode()


def nodes_args(pod: Mapping[str, Any], nodes: list[Mapping[str, Any]]) -> bytes:
    return json.dumps({"Pod": pod, "Nodes": {"metadata": {}, "items": nodes}, "NodeNames": None}).encode()


def filled_cache(
    nodes: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]] = (), **options: Any
) -> NodeCache:
    """A node cache that has 'listed' these objects (no threads, no API)."""
    cache = NodeCache(**options)
    cache.replace_nodes(read_node(item) for item in nodes)
    cache.replace_pods(bound for bound in (read_bound_pod(item) for item in pods) if bound is not None)
    return cache


class FixedLoad:
    """A load source with fixed CPU utilisation per node, sampled now."""

    def __init__(self, utilisation: Mapping[str, float]) -> None:
        self.utilisation = dict(utilisation)

    def fetch(self) -> NodeLoadReport:
        now = time.time()
        return NodeLoadReport(
            samples={
                "cpu": {
                    node: LoadSample(utilisation=Utilisation(value), sampled_at=now)
                    for node, value in self.utilisation.items()
                }
            },
            fetched_at=now,
        )


def extender(
    cache: NodeCache,
    *,
    utilisation: Mapping[str, float] | None = None,
    config: ExtenderConfig | None = None,
    path: Path | None = None,
) -> Extender:
    source = FixedLoad(utilisation or {})
    built = Extender(
        config=ConfigHolder(initial=config or ExtenderConfig(), path=path),
        cluster=cache,
        load_source=lambda: source,
        reload_interval=3600,
        freeze_interval=None,
    )
    # The first refresh happens when the app starts; publish now so tests need not wait for it.
    built.board.publish(source.fetch())
    return built


@contextlib.asynccontextmanager
async def client_for(built: Extender) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(built.app())) as client:
        yield client


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)
