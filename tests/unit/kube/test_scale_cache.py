"""The watch-fed /scale of apps/v1 targets: what it answers, and when it sends a round to the API."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from tests.unit.kube.fake_informer import FakeInformer

from ebbtide.kube.discovery import ScalableResource
from ebbtide.kube.scale import ScaleReading
from ebbtide.kube.scale_cache import ScaleCache, label_selector_text

pytestmark = pytest.mark.unit

DEPLOYMENTS = ScalableResource(group="apps", version="v1", plural="deployments", kind="Deployment")
WIDGETS = ScalableResource(group="example.com", version="v1", plural="widgets", kind="Widget")


def deployment(
    name: str, *, replicas: int | None, running: int, version: str, ns: str = "ns"
) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": f"u-{name}", "resourceVersion": version},
        "spec": spec,
        "status": {"replicas": running},
    }


def cache(namespaces: tuple[str, ...] = ()) -> tuple[ScaleCache, list[FakeInformer]]:
    made: list[FakeInformer] = []

    def factory(**kwargs: Any) -> FakeInformer:
        made.append(FakeInformer(**kwargs))
        return made[-1]

    return ScaleCache(client.ApiClient(), namespaces=namespaces, informer_factory=factory), made  # type: ignore[arg-type]


def test_a_synced_watch_answers_as_the_scale_subresource_would() -> None:
    scales, made = cache()
    assert scales.lookup(DEPLOYMENTS, namespace="ns", name="web") is None  # not listed yet: read it
    [informer] = made
    assert informer.started and informer.kwargs["kind"] == "deployments"
    informer.lists(deployment("web", replicas=3, running=2, version="10"))
    assert scales.lookup(DEPLOYMENTS, namespace="ns", name="web") == ScaleReading(
        replicas=3, observed=2, selector="app=web", uid="u-web", version="10"
    )
    assert scales.lookup(DEPLOYMENTS, namespace="ns", name="unseen") is None  # read it, never "missing"


def test_events_update_and_delete_and_an_older_event_never_hides_a_newer_write() -> None:
    scales, made = cache()
    scales.lookup(DEPLOYMENTS, namespace="ns", name="web")
    [informer] = made
    informer.lists(deployment("web", replicas=None, running=0, version="10"))
    assert scales.lookup(DEPLOYMENTS, namespace="ns", name="web").replicas == 1  # type: ignore[union-attr]
    written = ScaleReading(replicas=5, observed=1, selector="app=web", uid="u-web", version="20")
    scales.note_written(DEPLOYMENTS, namespace="ns", name="web", reading=written)
    informer.on_event("MODIFIED", deployment("web", replicas=1, running=1, version="15"))
    assert scales.lookup(DEPLOYMENTS, namespace="ns", name="web") == written
    informer.on_event("MODIFIED", deployment("web", replicas=5, running=5, version="21"))
    assert scales.lookup(DEPLOYMENTS, namespace="ns", name="web").observed == 5  # type: ignore[union-attr]
    informer.on_event("DELETED", deployment("web", replicas=5, running=5, version="22"))
    assert scales.lookup(DEPLOYMENTS, namespace="ns", name="web") is None


def test_kinds_it_does_not_watch_and_namespaces_it_does_not_serve_go_to_the_api() -> None:
    scales, made = cache(namespaces=("ns",))
    assert scales.lookup(WIDGETS, namespace="ns", name="w") is None
    assert scales.lookup(DEPLOYMENTS, namespace="other", name="web") is None
    assert made == []
    scales.lookup(DEPLOYMENTS, namespace="ns", name="web")
    [informer] = made
    assert informer.kwargs["list_kwargs"] == {"namespace": "ns"}
    scales.close()
    assert informer.stopped


def test_a_relist_drops_what_is_gone() -> None:
    scales, made = cache()
    scales.lookup(DEPLOYMENTS, namespace="ns", name="a")
    [informer] = made
    informer.lists(
        deployment("a", replicas=1, running=1, version="1"),
        deployment("b", replicas=1, running=1, version="2"),
    )
    informer.lists(deployment("a", replicas=2, running=1, version="3"))
    assert scales.lookup(DEPLOYMENTS, namespace="ns", name="b") is None
    assert scales.lookup(DEPLOYMENTS, namespace="ns", name="a").replicas == 2  # type: ignore[union-attr]


def test_selectors_read_as_the_scale_subresource_writes_them() -> None:
    selector = {
        "matchLabels": {"b": "2", "a": "1"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "api"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    }
    assert label_selector_text(selector) == "a=1,b=2,tier in (api,web),!canary"
    assert label_selector_text(None) == ""
