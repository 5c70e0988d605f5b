"""The watch-fed node cache: events, assumed pods, re-lists and the list+watch loop."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.unit.extender.extender_builders import filled_cache, node_object, pod_object

from ebbtide.api.resources import NodeName, Resources, read_node
from ebbtide.kube.node_cache import POD_FIELD_SELECTOR, NodeCache, pause_after
from ebbtide.scoring.kube_objects import read_bound_pod

pytestmark = pytest.mark.unit

GI = 1024**3


def requested(cache: NodeCache) -> dict[str, tuple[float, float]]:
    snapshot = cache.snapshot()
    return {
        name: (float(snapshot.requested_cpu[row]), float(snapshot.requested_memory[row]))
        for row, name in enumerate(snapshot.table.names)
    }


def apply_pod(cache: NodeCache, event: str, pod: dict[str, Any]) -> None:
    cache.apply_pod(event, pod["metadata"]["uid"], read_bound_pod(pod))


def test_bound_pods_add_their_requests_to_their_node() -> None:
    cache = filled_cache(
        [node_object("n1"), node_object("n2")], [pod_object("a", node="n1", cpu="1", memory="1Gi")]
    )
    apply_pod(cache, "ADDED", pod_object("b", node="n1", cpu="500m", memory="1Gi"))
    apply_pod(cache, "ADDED", pod_object("pending"))
    assert requested(cache) == {"n1": (1500.0, 2.0 * GI), "n2": (0.0, 0.0)}
    apply_pod(cache, "DELETED", pod_object("a", node="n1", cpu="1", memory="1Gi"))
    apply_pod(cache, "MODIFIED", pod_object("b", node="n1", cpu="500m", memory="1Gi", phase="Succeeded"))
    assert requested(cache) == {"n1": (0.0, 0.0), "n2": (0.0, 0.0)}


def test_snapshots_are_immutable_and_versioned() -> None:
    cache = filled_cache([node_object("n1")])
    before = cache.snapshot()
    apply_pod(cache, "ADDED", pod_object("a", node="n1"))
    after = cache.snapshot()
    assert after.version > before.version
    assert before.requested_cpu.tolist() == [0.0]
    with pytest.raises(ValueError, match="read-only"):
        after.requested_cpu[0] = 1.0


def test_status_only_node_updates_keep_the_table() -> None:
    cache = filled_cache([node_object("n1", labels={"zone": "a"})])
    table = cache.snapshot().table
    cache.apply_node("MODIFIED", read_node(node_object("n1", labels={"zone": "a"}, version="2")))
    cache.rebuild()
    unchanged = cache.snapshot().table
    cache.apply_node("MODIFIED", read_node(node_object("n1", labels={"zone": "b"}, version="3")))
    cache.rebuild()
    assert unchanged.labels.rows_by_value["zone"].keys() == {"a"}
    assert cache.snapshot().table.labels.rows_by_value["zone"].keys() == {"b"}
    assert table is not cache.snapshot().table


def test_label_changes_keep_the_ring_and_what_is_requested() -> None:
    cache = filled_cache(
        [node_object("n1", labels={"zone": "a"}), node_object("n2")],
        [pod_object("a", node="n1", cpu="1", memory="1Gi")],
    )
    cache.assume(uid="uid-p", nodes=[NodeName("n2")], requests=POD_REQUESTS)
    ring = cache.snapshot().ring
    cache.apply_node("MODIFIED", read_node(node_object("n1", labels={"zone": "b"}, version="2")))
    cache.rebuild()
    snapshot = cache.snapshot()
    assert snapshot.table.labels.rows_by_value["zone"].keys() == {"b"}
    assert snapshot.ring is ring
    assert requested(cache) == {"n1": (1000.0, float(GI)), "n2": (1000.0, float(GI))}


def test_cordoning_or_adding_a_node_builds_a_new_ring_and_recounts() -> None:
    cache = filled_cache(
        [node_object("n1"), node_object("n3")], [pod_object("a", node="n3", cpu="1", memory="1Gi")]
    )
    ring = cache.snapshot().ring
    cache.apply_node("MODIFIED", read_node(node_object("n1", unschedulable=True, version="2")))
    cache.rebuild()
    cordoned = cache.snapshot().ring
    assert cordoned is not ring and cordoned.member_ids.tolist() == [cache.snapshot().table.index["n3"]]
    cache.apply_node("ADDED", read_node(node_object("n2")))  # sorts between the two: n3 moves a row down
    cache.rebuild()
    assert cache.snapshot().table.names == ("n1", "n2", "n3")
    assert requested(cache) == {"n1": (0.0, 0.0), "n2": (0.0, 0.0), "n3": (1000.0, float(GI))}


def test_pods_on_nodes_not_yet_known_count_once_the_node_arrives() -> None:
    cache = filled_cache([node_object("n1")])
    apply_pod(cache, "ADDED", pod_object("early", node="n2", cpu="2"))
    cache.apply_node("ADDED", read_node(node_object("n2")))
    cache.rebuild()
    assert requested(cache)["n2"][0] == 2000.0


def test_cordoned_nodes_stay_in_the_table_but_leave_the_ring() -> None:
    cache = filled_cache([node_object("n1"), node_object("n2", unschedulable=True)])
    snapshot = cache.snapshot()
    assert len(snapshot.table) == 2
    assert snapshot.ring.member_ids.tolist() == [snapshot.table.index["n1"]]


POD_REQUESTS = Resources(cpu_millis=1000, memory_bytes=GI)


def test_an_assumed_pod_counts_at_once_and_is_replaced_by_its_binding() -> None:
    cache = filled_cache([node_object("n1"), node_object("n2")])
    cache.assume(uid="uid-p", nodes=[NodeName("n1")], requests=POD_REQUESTS)
    assert requested(cache)["n1"] == (1000.0, float(GI))
    assert cache.snapshot().assumed_pods == 1
    # The scheduler chose n2 after all: the binding replaces the guess, nothing counts twice.
    apply_pod(cache, "MODIFIED", pod_object("p", node="n2", cpu="1", memory="1Gi"))
    assert requested(cache) == {"n1": (0.0, 0.0), "n2": (1000.0, float(GI))}
    assert cache.snapshot().assumed_pods == 0


def test_ties_share_an_assumed_pod_equally() -> None:
    cache = filled_cache([node_object("n1"), node_object("n2"), node_object("n3")])
    cache.assume(uid="u", nodes=[NodeName("n1"), NodeName("n2")], requests=POD_REQUESTS)
    assert requested(cache) == {"n1": (500.0, GI / 2), "n2": (500.0, GI / 2), "n3": (0.0, 0.0)}


def test_assuming_again_replaces_the_earlier_assumption() -> None:
    cache = filled_cache([node_object("n1"), node_object("n2")])
    cache.assume(uid="u", nodes=[NodeName("n1")], requests=POD_REQUESTS)
    cache.assume(uid="u", nodes=[NodeName("n2")], requests=POD_REQUESTS)
    assert requested(cache) == {"n1": (0.0, 0.0), "n2": (1000.0, float(GI))}


def test_an_already_bound_pod_is_not_assumed() -> None:
    cache = filled_cache(
        [node_object("n1"), node_object("n2")], [pod_object("p", node="n1", cpu="1", memory="1Gi")]
    )
    cache.assume(uid="uid-p", nodes=[NodeName("n2")], requests=POD_REQUESTS)
    assert requested(cache)["n2"] == (0.0, 0.0)


def test_assumptions_expire_after_their_ttl() -> None:
    now = [100.0]
    cache = filled_cache([node_object("n1")], clock=lambda: now[0], assume_ttl=30.0)
    cache.assume(uid="u", nodes=[NodeName("n1")], requests=POD_REQUESTS)
    now[0] = 129.0
    assert cache.snapshot().assumed_pods == 1
    now[0] = 130.0
    assert cache.snapshot().assumed_pods == 0
    assert requested(cache)["n1"] == (0.0, 0.0)


def test_deleting_a_pending_pod_ends_its_assumption_but_updating_it_does_not() -> None:
    cache = filled_cache([node_object("n1")])
    cache.assume(uid="uid-p", nodes=[NodeName("n1")], requests=POD_REQUESTS)
    apply_pod(cache, "MODIFIED", pod_object("p"))
    assert cache.snapshot().assumed_pods == 1
    apply_pod(cache, "DELETED", pod_object("p"))
    assert cache.snapshot().assumed_pods == 0


def test_a_relist_replaces_everything_and_settles_assumptions() -> None:
    cache = filled_cache([node_object("n1")], [pod_object("gone", node="n1")])
    cache.assume(uid="uid-p", nodes=[NodeName("n1")], requests=POD_REQUESTS)
    cache.replace_pods([read_bound_pod(pod_object("p", node="n1", cpu="2", memory="1Gi"))])  # type: ignore[list-item]
    assert requested(cache)["n1"] == (2000.0, float(GI))
    assert (cache.snapshot().bound_pods, cache.snapshot().assumed_pods) == (1, 0)


def test_the_cache_is_synced_once_nodes_and_pods_were_listed() -> None:
    cache = NodeCache()
    assert not cache.snapshot().synced
    cache.replace_nodes([])
    assert not cache.snapshot().synced
    cache.replace_pods([])
    assert cache.snapshot().synced


# -- the list+watch loop, against a fake API ------------------------------------------------------


def eventually(condition: Callable[[], bool], *, within: float = 60.0) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class FakeResponse:
    def __init__(self, document: dict[str, Any]) -> None:
        self.data = json.dumps(document).encode()


class FakeWatchResponse:
    """A streamed watch answer: one JSON event per line, then the end of the stream, or (once the
    script is played out) nothing until :meth:`shutdown`, as an idle watch."""

    def __init__(self, events: list[dict[str, Any]] | None) -> None:
        self.events = events
        self.shut = threading.Event()

    def stream(self, amt: Any = None, decode_content: bool = False) -> Iterator[bytes]:
        if self.events is None:
            self.shut.wait()
            return
        for event in self.events:
            yield json.dumps(event).encode() + b"\n"

    def shutdown(self) -> None:
        self.shut.set()

    def close(self) -> None:
        self.shut.set()

    def release_conn(self) -> None:
        pass


class FakeApi:
    """Pages of list results, one script of watch events per watch call, and a record of every
    call. Once every script has been played, watches stay open until the cache is stopped."""

    def __init__(
        self, pages: dict[str, list[list[dict[str, Any]]]], watches: dict[str, list[list[dict[str, Any]]]]
    ) -> None:
        self.pages = pages
        self.watches = watches
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.watch_calls: dict[str, list[dict[str, Any]]] = {kind: [] for kind in watches}
        self.lists = {"nodes": 0, "pods": 0}
        self.all_played = threading.Event()
        self._lock = threading.Lock()
        self._finished: set[str] = set()

    def _list(self, kind: str, **kwargs: Any) -> FakeResponse | FakeWatchResponse:
        self.calls.append((kind, kwargs))
        if kwargs.get("watch"):
            return self._watch(kind, kwargs)
        pages = self.pages[kind]
        index = int(kwargs.get("_continue") or 0)
        if index == 0:
            self.lists[kind] += 1
        more = index + 1 < len(pages)
        metadata = {"resourceVersion": f"{kind}-{self.lists[kind]}-rv"}
        if more:
            metadata["continue"] = str(index + 1)
        return FakeResponse({"metadata": metadata, "items": pages[index]})

    def _watch(self, kind: str, kwargs: dict[str, Any]) -> FakeWatchResponse:
        with self._lock:
            self.watch_calls[kind].append(kwargs)
            script = self.watches[kind].pop(0) if self.watches[kind] else None
            if script is None:
                self._finished.add(kind)
                if self._finished == set(self.watches):
                    self.all_played.set()
        return FakeWatchResponse(script)

    def list_node(self, **kwargs: Any) -> FakeResponse | FakeWatchResponse:
        return self._list("nodes", **kwargs)

    def list_pod_for_all_namespaces(self, **kwargs: Any) -> FakeResponse | FakeWatchResponse:
        return self._list("pods", **kwargs)


def test_list_then_watch_resumes_from_versions_and_relists_after_410_gone() -> None:
    bound = pod_object("b", node="n2", cpu="2")
    bound["metadata"]["resourceVersion"] = "b-rv"
    bookmark = {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "bm"}}}
    # What the API server streams when the watch's version was compacted away.
    gone = {
        "type": "ERROR",
        "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"},
    }
    api = FakeApi(
        {
            "nodes": [[node_object("n1")], [node_object("n2")]],  # two pages
            "pods": [[pod_object("a", node="n1", cpu="1")]],
        },
        {
            "nodes": [[{"type": "ADDED", "object": node_object("n3", version="n3-rv")}]],
            "pods": [[{"type": "ADDED", "object": bound}, bookmark], [gone]],
        },
    )
    cache = NodeCache(rebuild_delay=0.0)
    cache.start(api)
    try:
        assert api.all_played.wait(60)
        # The rebuilder thread adds n3 to the table shortly after the watch delivered it.
        assert eventually(lambda: "n3" in cache.snapshot().table.index)
    finally:
        cache.stop()

    node_calls, pod_calls = api.watch_calls["nodes"], api.watch_calls["pods"]
    # Nodes: both pages listed once; the watch resumed from the list's version, then after n3.
    assert api.lists["nodes"] == 1
    assert [call["resource_version"] for call in node_calls] == ["nodes-1-rv", "n3-rv"]
    assert all(call["_preload_content"] is False for call in node_calls)  # plain JSON, no models
    # Pods: selected by phase; resumed after the bookmark; listed again after 410 Gone.
    assert all(kwargs["field_selector"] == POD_FIELD_SELECTOR for kind, kwargs in api.calls if kind == "pods")
    assert [call["resource_version"] for call in pod_calls] == ["pods-1-rv", "bm", "pods-2-rv"]
    assert api.lists["pods"] == 2
    snapshot = cache.snapshot()
    assert set(snapshot.table.names) == {"n1", "n2", "n3"}
    # The second list (pod "a" only) replaced the watched state that had pod "b" too.
    assert snapshot.bound_pods == 1
    assert snapshot.synced


def test_rebuilds_pause_at_least_the_delay_and_four_times_their_own_cost() -> None:
    assert pause_after(0.001, delay=0.1) == 0.1
    assert pause_after(0.5, delay=0.1) == 2.0
