"""Node names to table rows, reusing the previous answer when the candidates repeat.

Looking up thousands of freshly decoded names costs more than all the scoring arithmetic (each
lookup hashes a new string). Consecutive scheduling cycles usually name the same feasible nodes,
but rotated: the scheduler starts each cycle's filtering at a different node. So the previous
request's names and rows are kept, and a request that is a rotation of them is answered by
comparing the lists (a memory comparison per name) and rotating the rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ebbtide.scoring.node_table import IntArray, NodeTable


class NameRows:
    """Resolves names against a table like :meth:`NodeTable.rows_of`, memoising the last list."""

    def __init__(self) -> None:
        self._table: NodeTable | None = None
        self._names: Sequence[object] = ()
        self._rows: IntArray = np.zeros(0, dtype=np.intp)

    def resolve(self, table: NodeTable, names: Sequence[object]) -> tuple[IntArray, list[object]]:
        """Rows of the known names in request order, and the unknown names.

        Raises ``TypeError`` for an unhashable name, as :meth:`NodeTable.rows_of` does.
        """
        if table is self._table and names and len(names) == len(self._names):
            rows = self._rotation_of_last(table, names)
            if rows is not None:
                self._names, self._rows = names, rows
                return rows, []
        rows, unknown = table.rows_of(names)
        if not unknown:
            self._table, self._names, self._rows = table, names, rows
        return rows, unknown

    def _rotation_of_last(self, table: NodeTable, names: Sequence[object]) -> IntArray | None:
        first = table.index.get(names[0])  # type: ignore[call-overload]
        if first is None:
            return None
        hits = np.flatnonzero(self._rows == first)
        if len(hits) != 1:
            return None
        shift = int(hits[0])
        last = self._names
        tail = len(names) - shift
        if names[:tail] != last[shift:] or names[tail:] != last[:shift]:
            return None
        return np.concatenate((self._rows[shift:], self._rows[:shift]))
