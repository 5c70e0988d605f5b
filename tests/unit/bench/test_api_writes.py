"""bench/api_writes.py: writes counted from the API server's audit log, by verb and resource, in a
time window and a set of namespaces, the rotated log included."""

from __future__ import annotations

import json
from pathlib import Path

from api_writes import audited_writes


def audit_line(*, at: str, verb: str, resource: str, namespace: str | None, sub: str | None = None) -> str:
    ref: dict[str, str] = {"resource": resource, "name": "x"}
    if namespace is not None:
        ref["namespace"] = namespace
    if sub is not None:
        ref["subresource"] = sub
    event = {"verb": verb, "objectRef": ref, "stageTimestamp": at}
    return json.dumps(event) + "\n"


def test_writes_are_counted_by_kind_within_the_window_and_namespaces(tmp_path: Path) -> None:
    log = tmp_path / "kube-apiserver-audit.log"
    rotated = tmp_path / "kube-apiserver-audit-2026-12-04T01-00-00.000.log"
    rotated.write_text(
        audit_line(at="2026-12-04T01:00:01.000000Z", verb="patch", resource="pods", namespace="a")
    )
    log.write_text(
        audit_line(at="2026-12-04T01:00:02.000000Z", verb="patch", resource="pods", namespace="a")
        + audit_line(at="2026-12-04T01:00:02.500000Z", verb="patch", resource="pods", namespace="other")
        + audit_line(
            at="2026-12-04T01:00:03.000000Z",
            verb="patch",
            resource="fairqueues",
            namespace=None,
            sub="status",
        )
        + audit_line(at="2026-12-04T01:09:00.000000Z", verb="patch", resource="pods", namespace="a")
    )
    since = 1796346000.0  # 2026-12-04T01:00:00Z

    counts = audited_writes(log, since=since, until=since + 60, namespaces=["a"])

    assert counts == {"patch fairqueues/status": 1, "patch pods": 2}
