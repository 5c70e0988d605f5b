"""An immutable view of the cluster that a request scores against."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ebbtide.scoring.node_table import FloatArray, NodeTable, frozen
from ebbtide.sharding.ring import DEFAULT_VIRTUAL_NODES, HashRing


@dataclass(frozen=True, eq=False)
class ClusterSnapshot:
    """Nodes, what is requested on each (bound and assumed pods), and the key ring.

    ``requested_cpu``/``requested_memory`` are parallel to ``table``; the ring's member ids are
    table rows and it spans the schedulable (not cordoned) nodes. ``version`` grows with every
    publication, which lets callers memoise per snapshot.
    """

    table: NodeTable
    requested_cpu: FloatArray
    requested_memory: FloatArray
    ring: HashRing
    version: int = 0
    bound_pods: int = 0
    assumed_pods: int = 0
    synced: bool = True

    @classmethod
    def empty(cls) -> ClusterSnapshot:
        """A snapshot of a cluster nobody has seen yet (not synced)."""
        table = NodeTable.build([])
        return cls.of(table=table, synced=False)

    @classmethod
    def of(
        cls,
        *,
        table: NodeTable,
        requested_cpu: FloatArray | None = None,
        requested_memory: FloatArray | None = None,
        virtual_nodes: int = DEFAULT_VIRTUAL_NODES,
        synced: bool = True,
    ) -> ClusterSnapshot:
        """A snapshot with a freshly built ring; requests default to nothing."""
        zeros = np.zeros(len(table), dtype=np.float64)
        return cls(
            table=table,
            requested_cpu=frozen(zeros.copy() if requested_cpu is None else requested_cpu),
            requested_memory=frozen(zeros.copy() if requested_memory is None else requested_memory),
            ring=ring_for(table, virtual_nodes=virtual_nodes),
            synced=synced,
        )


def ring_for(
    table: NodeTable, *, virtual_nodes: int, previous: tuple[NodeTable, HashRing] | None = None
) -> HashRing:
    """The affinity-key ring over the table's schedulable nodes, with table rows as ids.

    ``previous`` is an earlier table and its ring: when both tables have the same nodes in the
    same rows and the same ones schedulable, that ring is the answer and is returned as it is.
    Most node updates (labels, allocatable) change neither, and building a ring costs a hash per
    node and a sort of ``virtual_nodes`` points per node.
    """
    if previous is not None:
        earlier, ring = previous
        if (
            ring.virtual_nodes == virtual_nodes
            and earlier.names == table.names
            and np.array_equal(earlier.schedulable, table.schedulable)
        ):
            return ring
    rows = np.flatnonzero(table.schedulable)
    return HashRing(names=[table.names[row] for row in rows.tolist()], ids=rows, virtual_nodes=virtual_nodes)
