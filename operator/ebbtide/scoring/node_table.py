"""All known nodes as columns, built once per change so each request is a few array lookups.

The request path of the extender must stay O(candidates) with small constants, so everything that
depends only on the nodes (allocatable, labels, names) is precomputed here, in the background,
whenever the set of nodes changes. A table is immutable once built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt

from ebbtide.api.resources import NodeFacts, NodeName
from ebbtide.scoring.name_hashes import NameHashes

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
_ArrayT = TypeVar("_ArrayT", bound=npt.NDArray[np.generic])


@dataclass(frozen=True, eq=False)
class LabelIndex:
    """Which rows carry each label: ``rows_by_value[key][value]`` and ``rows_with_key[key]``."""

    rows_by_value: Mapping[str, Mapping[str, IntArray]]
    rows_with_key: Mapping[str, IntArray]


@dataclass(frozen=True, eq=False)
class NodeTable:
    """Nodes in name order; row ``i`` of every column describes ``names[i]``."""

    names: tuple[NodeName, ...]
    index: Mapping[str, int]
    allocatable_cpu: FloatArray
    allocatable_memory: FloatArray
    schedulable: BoolArray
    labels: LabelIndex
    name_hashes: NameHashes

    @classmethod
    def build(cls, nodes: Iterable[NodeFacts]) -> NodeTable:
        """Build the table; a name seen twice keeps its last facts."""
        by_name = {node.name: node for node in nodes}
        ordered = [by_name[name] for name in sorted(by_name)]
        return cls(
            names=tuple(node.name for node in ordered),
            index={node.name: row for row, node in enumerate(ordered)},
            allocatable_cpu=frozen(
                np.array([node.allocatable.cpu_millis for node in ordered], dtype=np.float64)
            ),
            allocatable_memory=frozen(
                np.array([node.allocatable.memory_bytes for node in ordered], dtype=np.float64)
            ),
            schedulable=frozen(np.array([node.schedulable for node in ordered], dtype=np.bool_)),
            labels=_index_labels(ordered),
            name_hashes=NameHashes([node.name for node in ordered]),
        )

    def __len__(self) -> int:
        return len(self.names)

    def rows_of(self, names: Sequence[object]) -> tuple[IntArray, list[object]]:
        """Rows of the known names, in request order, and the names this table does not know.

        Items that are not strings are never known; the caller decides whether that is an error.
        Unhashable items raise ``TypeError``.
        """
        hashed = self.name_hashes.rows_of(names)
        if hashed is not None:  # the common case: every candidate is known
            return hashed, []
        index = cast(Mapping[object, int], self.index)
        rows = list(map(index.get, names))
        if None not in rows:  # a table whose names share a hash cannot use the index
            return np.fromiter(rows, dtype=np.intp, count=len(rows)), []
        known = [row for row in rows if row is not None]
        unknown = [name for name, row in zip(names, rows, strict=True) if row is None]
        return np.fromiter(known, dtype=np.intp, count=len(known)), unknown

    def row_or_missing(self, names: Sequence[str]) -> IntArray:
        """Row of each name, or -1 where the table does not know it."""
        get = self.index.get
        return np.fromiter((get(name, -1) for name in names), dtype=np.intp, count=len(names))


def _index_labels(nodes: Sequence[NodeFacts]) -> LabelIndex:
    by_value: dict[str, dict[str, list[int]]] = {}
    for row, node in enumerate(nodes):
        for key, value in node.labels.items():
            by_value.setdefault(key, {}).setdefault(value, []).append(row)
    rows_by_value = {
        key: {value: frozen(np.array(rows, dtype=np.intp)) for value, rows in values.items()}
        for key, values in by_value.items()
    }
    rows_with_key = {
        key: frozen(np.sort(np.concatenate(list(values.values())))) for key, values in rows_by_value.items()
    }
    return LabelIndex(rows_by_value=rows_by_value, rows_with_key=rows_with_key)


def gather(values: FloatArray, rows: IntArray, *, fill: float) -> FloatArray:
    """``values[rows]``, with ``fill`` where a row is -1 (a node outside the table)."""
    if not len(rows):
        return np.zeros(0, dtype=np.float64)
    if not len(values):
        return np.full(len(rows), fill, dtype=np.float64)
    if rows.min() >= 0:  # the usual case, names resolved against this table: one pass
        return values.take(rows)
    result: FloatArray = np.where(rows >= 0, values[np.maximum(rows, 0)], fill)
    return result


def frozen(array: _ArrayT) -> _ArrayT:
    """Mark an array read-only, so a published snapshot cannot be changed by accident."""
    array.flags.writeable = False
    return array
