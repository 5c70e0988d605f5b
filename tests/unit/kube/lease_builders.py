"""An in-memory Lease API that behaves as the API server does, a link to it that can be cut, and
a clock the test moves by hand."""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from ebbtide.kube.lease_election import ElectionTiming, LeaseElector, Obj

NAME, NAMESPACE = "ebbtide-fair-queue", "ebbtide-system"
MOMENT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class LeaseServer:
    """Leases keyed by namespace and name: every write bumps the resourceVersion, a replace with
    a stale one or a create of an existing name is refused (None, as the client maps 409)."""

    def __init__(self) -> None:
        self.leases: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes: list[tuple[str, str | None]] = []  # (verb, holder written)
        self._version = 0
        self._lock = threading.Lock()

    def read(self, *, namespace: str, name: str) -> Obj | None:
        with self._lock:
            found = self.leases.get((namespace, name))
            return copy.deepcopy(found) if found is not None else None

    def create(self, *, namespace: str, body: Obj) -> Obj | None:
        with self._lock:
            key = (namespace, body["metadata"]["name"])
            if key in self.leases:
                return None
            return self._store(key, body, verb="create")

    def replace(self, *, namespace: str, name: str, body: Obj) -> Obj | None:
        with self._lock:
            current = self.leases.get((namespace, name))
            if current is None:
                return None
            if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                return None
            return self._store((namespace, name), body, verb="replace")

    def _store(self, key: tuple[str, str], body: Obj, *, verb: str) -> dict[str, Any]:
        self._version += 1
        stored = copy.deepcopy(dict(body))
        stored["metadata"] = {**stored["metadata"], "resourceVersion": str(self._version)}
        self.leases[key] = stored
        self.writes.append((verb, stored["spec"].get("holderIdentity")))
        return copy.deepcopy(stored)

    def spec(self) -> dict[str, Any]:
        return dict(self.leases[(NAMESPACE, NAME)]["spec"])

    def give_to(self, holder: str) -> None:
        """Someone else writes the Lease (an operator with another identity, or a person)."""
        with self._lock:
            lease = self.leases[(NAMESPACE, NAME)]
        self.replace(
            namespace=NAMESPACE,
            name=NAME,
            body={**lease, "spec": {**lease["spec"], "holderIdentity": holder, "renewTime": "later"}},
        )


class Link:
    """One candidate's connection to the server: while cut, every request fails."""

    def __init__(self, server: LeaseServer) -> None:
        self.server = server
        self.cut = False

    def _check(self) -> None:
        if self.cut:
            raise OSError("connection refused")

    def read(self, *, namespace: str, name: str) -> Obj | None:
        self._check()
        return self.server.read(namespace=namespace, name=name)

    def create(self, *, namespace: str, body: Obj) -> Obj | None:
        self._check()
        return self.server.create(namespace=namespace, body=body)

    def replace(self, *, namespace: str, name: str, body: Obj) -> Obj | None:
        self._check()
        return self.server.replace(namespace=namespace, name=name, body=body)


class Transitions:
    """What the callbacks saw: ("started" | "stopped", identity, clock time)."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.seen: list[tuple[str, str, float]] = []
        self._clock = clock

    def callbacks(self, identity: str) -> dict[str, Any]:
        def at() -> float:
            return self._clock.now if self._clock is not None else 0.0

        return {
            "on_started_leading": lambda: self.seen.append(("started", identity, at())),
            "on_stopped_leading": lambda: self.seen.append(("stopped", identity, at())),
        }


def candidate(
    identity: str,
    leases: Any,
    *,
    clock: FakeClock,
    transitions: Transitions | None = None,
    timing: ElectionTiming | None = None,
) -> LeaseElector:
    return LeaseElector(
        leases=leases,
        name=NAME,
        namespace=NAMESPACE,
        identity=identity,
        timing=timing or ElectionTiming(),
        clock=clock,
        now=lambda: MOMENT + timedelta(seconds=clock.now),
        **(transitions.callbacks(identity) if transitions is not None else {}),
    )
