"""What a benchmark asked of the API server: writes counted from its audit log, Events by reason,
and the CPU the control plane's processes spent meanwhile.

The local test bed's API server logs every patch and update at the Metadata level
(:data:`ebbtide.devcluster.configs.AUDIT_POLICY`; Events, Leases and pod statuses are left out,
so Events are counted by listing them). Writes share the API server's capacity whoever sends
them: counting them by kind says which of a controller's writes compete with the ones that do
its job.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from kubernetes import client

from ebbtide.devcluster.cluster import DevCluster
from process_usage import cpu_seconds

#: The control plane's processes whose CPU a benchmark of API writes reports.
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "kwok")


def _write_kind(event: dict[str, object]) -> str:
    ref = event.get("objectRef") or {}
    assert isinstance(ref, dict)
    resource = str(ref.get("resource", "?"))
    if ref.get("subresource"):
        resource = f"{resource}/{ref['subresource']}"
    return f"{event.get('verb')} {resource}"


def audited_writes(
    log: Path, *, since: float, until: float, namespaces: Iterable[str] | None = None
) -> dict[str, int]:
    """Writes the API server answered between ``since`` and ``until`` (unix seconds), as
    ``"<verb> <resource>[/<subresource>]"`` -> count; only those to objects in ``namespaces``
    and to cluster-scoped objects when ``namespaces`` is given. The rotated log is read too."""
    wanted = set(namespaces) if namespaces is not None else None
    counts: Counter[str] = Counter()
    for path in sorted(log.parent.glob(f"{log.stem}*{log.suffix}")):
        with path.open() as lines:
            for line in lines:
                event = json.loads(line)
                stamp = datetime.fromisoformat(event["stageTimestamp"]).timestamp()
                if not since <= stamp <= until:
                    continue
                namespace = (event.get("objectRef") or {}).get("namespace")
                if wanted is not None and namespace is not None and namespace not in wanted:
                    continue
                counts[_write_kind(event)] += 1
    return dict(sorted(counts.items()))


def events_by_reason(api: client.ApiClient, namespaces: Iterable[str]) -> dict[str, int]:
    """Events in ``namespaces`` as ``"<source component> <reason>"`` -> count."""
    core = client.CoreV1Api(api)
    counts: Counter[str] = Counter()
    for namespace in namespaces:
        token = None
        while True:
            page = json.loads(
                core.list_namespaced_event(
                    namespace, limit=1000, _continue=token, _preload_content=False
                ).data
            )
            for event in page["items"]:
                source = (event.get("source") or {}).get("component") or event.get("reportingComponent")
                counts[f"{source} {event.get('reason')}"] += 1
            token = page["metadata"].get("continue")
            if not token:
                break
    return dict(sorted(counts.items()))


class ControlPlaneCPU:
    """CPU seconds each control-plane process of ``cluster`` spends between :meth:`start` and
    :meth:`stop`."""

    def __init__(self, cluster: DevCluster) -> None:
        self._pids = {s.name: s.pid for s in cluster.status() if s.name in CONTROL_PLANE and s.pid}
        self._start: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def start(self) -> None:
        self._start = {name: cpu_seconds(pid) for name, pid in self._pids.items()}

    def stop(self) -> dict[str, float]:
        self.seconds = {
            name: round(cpu_seconds(pid) - self._start[name], 1)
            for name, pid in self._pids.items()
            if name in self._start
        }
        return self.seconds
