"""The index of autoscalers by workload: HPAs from their watch, policies from their events."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from tests.unit.kube.fake_informer import FakeInformer

from ebbtide.kube.autoscaler_index import AutoscalerIndex
from ebbtide.kube.hpa import target_key

pytestmark = pytest.mark.unit

WEB = target_key(namespace="shop", api_version="apps/v1", kind="Deployment", name="web")
API = target_key(namespace="shop", api_version="apps/v1", kind="Deployment", name="api")


def hpa(name: str, *, target: str, ns: str = "shop") -> dict[str, Any]:
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"scaleTargetRef": ref}}


def policy(name: str, *, target: str, deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "shop"}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-04T00:00:00Z"
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}
    return {"metadata": metadata, "spec": {"targetRef": ref}}


def index(namespaces: tuple[str, ...] = ()) -> tuple[AutoscalerIndex, list[FakeInformer]]:
    made: list[FakeInformer] = []

    def factory(**kwargs: Any) -> FakeInformer:
        made.append(FakeInformer(**kwargs))
        return made[-1]

    built = AutoscalerIndex(client.ApiClient(), namespaces=namespaces, informer_factory=factory)  # type: ignore[arg-type]
    return built, made


def test_hpas_and_policies_of_one_workload_are_listed_together_hpas_first() -> None:
    autoscalers, [watch] = index()
    autoscalers.start()
    assert watch.started and watch.kwargs["kind"] == "horizontalpodautoscalers"
    watch.lists(hpa("web-hpa", target="web"), hpa("api-hpa", target="api"))
    autoscalers.observe_policy("ADDED", policy("web-b", target="web"))
    autoscalers.observe_policy(None, policy("web-a", target="web"))  # listed again by a re-list
    assert autoscalers[WEB] == [
        "HorizontalPodAutoscaler/web-hpa",
        "ScalingPolicy/web-a",
        "ScalingPolicy/web-b",
    ]
    assert set(autoscalers) == {WEB, API} and len(autoscalers) == 2
    assert autoscalers.wait_synced(timeout=0)


def test_a_policy_that_moves_to_another_target_or_goes_leaves_its_old_entry() -> None:
    autoscalers, _ = index()
    autoscalers.observe_policy("ADDED", policy("p", target="web"))
    autoscalers.observe_policy("MODIFIED", policy("p", target="api"))
    assert WEB not in autoscalers and autoscalers[API] == ["ScalingPolicy/p"]
    autoscalers.observe_policy("MODIFIED", policy("p", target="api", deleting=True))
    assert API not in autoscalers
    autoscalers.observe_policy("ADDED", policy("q", target="api"))
    autoscalers.observe_policy("DELETED", policy("q", target="api"))
    assert len(autoscalers) == 0


def test_a_list_replaces_the_hpas_of_its_scope_and_events_follow() -> None:
    autoscalers, watches = index(namespaces=("shop", "lab"))
    shop, lab = watches
    assert shop.kwargs["list_kwargs"] == {"namespace": "shop"}
    shop.lists(hpa("old", target="web"))
    lab.lists(hpa("lab-hpa", target="web", ns="lab"))
    shop.lists(hpa("new", target="web"))  # "old" was deleted while the watch was down
    assert autoscalers[WEB] == ["HorizontalPodAutoscaler/new"]
    lab_web = target_key(namespace="lab", api_version="apps/v1", kind="Deployment", name="web")
    assert autoscalers[lab_web] == ["HorizontalPodAutoscaler/lab-hpa"]
    shop.on_event("MODIFIED", hpa("new", target="api"))
    shop.on_event("DELETED", hpa("new", target="api"))
    assert set(autoscalers) == {lab_web}


def test_a_watch_that_never_lists_does_not_hold_the_policies_back_forever() -> None:
    autoscalers, _ = index()
    assert not autoscalers.wait_synced(timeout=0.01)
