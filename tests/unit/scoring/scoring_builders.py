"""Small builders for hand-made clusters in scoring tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ebbtide.api.resources import NodeFacts, NodeName, Resources
from ebbtide.scoring.affinity_terms import LabelRequirement, Operator, PreferredTerm
from ebbtide.scoring.node_table import NodeTable
from ebbtide.scoring.scorer import Candidates
from ebbtide.scoring.snapshot import ClusterSnapshot
from ebbtide.scoring.values import PodFacts

GI = 1024**3


def amounts(cpu: int = 0, memory_gi: float = 0) -> Resources:
    """CPU in millicores, memory in GiB."""
    return Resources(cpu_millis=cpu, memory_bytes=int(memory_gi * GI))


def node(
    name: str,
    *,
    cpu: int = 4000,
    memory_gi: float = 16,
    labels: Mapping[str, str] | None = None,
    schedulable: bool = True,
) -> NodeFacts:
    return NodeFacts(
        name=NodeName(name),
        allocatable=amounts(cpu, memory_gi),
        labels=dict(labels or {}),
        schedulable=schedulable,
    )


def pod(
    *,
    cpu: int = 500,
    memory_gi: float = 1,
    terms: Sequence[PreferredTerm] = (),
    key: str | None = None,
    profile: str | None = None,
    uid: str = "pod-uid",
) -> PodFacts:
    return PodFacts(
        uid=uid,
        namespace="default",
        name="p",
        requests=amounts(cpu, memory_gi),
        preferred_terms=tuple(terms),
        affinity_key=key,
        profile_name=profile,
    )


def prefer(weight: int, key: str, operator: Operator, *values: str) -> PreferredTerm:
    return PreferredTerm(weight=weight, labels=(LabelRequirement(key=key, operator=operator, values=values),))


def candidates(
    snapshot: ClusterSnapshot,
    names: Sequence[str] | None = None,
    *,
    utilisation: Mapping[str, float] | None = None,
) -> Candidates:
    """All (or the named) nodes of a snapshot as candidates, with optional CPU utilisation."""
    table = snapshot.table
    rows, unknown = table.rows_of(list(names if names is not None else table.names))
    assert not unknown, unknown
    loads = utilisation or {}
    return Candidates(
        table=table,
        rows=rows,
        requested_cpu=snapshot.requested_cpu[rows],
        requested_memory=snapshot.requested_memory[rows],
        cpu_utilisation=np.array(
            [loads.get(table.names[row], np.nan) for row in rows.tolist()], dtype=np.float64
        ),
        ring_ids=rows,
    )


def snapshot_of(
    nodes: Sequence[NodeFacts], *, requested: Mapping[str, Resources] | None = None
) -> ClusterSnapshot:
    """A snapshot of the nodes with the given amounts already requested on them."""
    table = NodeTable.build(nodes)
    used = requested or {}
    cpu = np.array([used.get(name, amounts()).cpu_millis for name in table.names], dtype=np.float64)
    memory = np.array([used.get(name, amounts()).memory_bytes for name in table.names], dtype=np.float64)
    return ClusterSnapshot.of(table=table, requested_cpu=cpu, requested_memory=memory)
