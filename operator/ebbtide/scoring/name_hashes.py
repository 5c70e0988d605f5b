"""Node names to table rows through their hashes: the request path's name lookup.

A request names hundreds or thousands of nodes, each a string freshly decoded from JSON. A dict
lookup per name reads a hash-table slot, an entry, the stored key and the row object: four places
in memory that, on a node busy with other work, are rarely still in the CPU's caches (420 fresh
names: 18 µs with warm caches, 132-139 µs with cold ones). Here each name's hash, computed from the
new string (which is in cache), is found by binary search in one sorted array of the table's name
hashes, 8 bytes per node (420 fresh names: 83-85 µs with cold caches).

A hash match is taken as a name match. A str hash is a 64-bit SipHash value salted per process, so
a name outside the table passes for one inside with a probability of about (table size) / 2^64;
the salt being secret, no request can arrange it. A table in which two names share a hash is not
indexed (:attr:`NameHashes.usable`), and any miss sends the caller to the exact lookup.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

_Rows = npt.NDArray[np.intp]
_HashArray = npt.NDArray[np.int64]
# The str type's own hash: it raises TypeError for any other item (an int, a list, None), so a
# name that is not a string is never matched to a node.
_str_hash = str.__hash__


class NameHashes:
    """The sorted hashes of a table's names and the row of each; immutable once built."""

    def __init__(self, names: Sequence[str]) -> None:
        hashes = _hashes(names)
        order = np.argsort(hashes, kind="stable")
        self._sorted: _HashArray = hashes[order]
        self._rows: _Rows = order.astype(np.intp)
        #: False when two names share a hash (the index could not tell them apart) or when empty.
        self.usable = bool(len(hashes)) and bool(np.all(self._sorted[1:] != self._sorted[:-1]))

    def rows_of(self, names: Sequence[object]) -> _Rows | None:
        """The row of every name in order, or None unless every item is a string in the table."""
        if not self.usable or not names:
            return None
        try:
            hashes = _hashes(names)  # type: ignore[arg-type]  # non-strings raise TypeError
        except TypeError:
            return None
        positions = np.searchsorted(self._sorted, hashes)
        np.minimum(positions, len(self._sorted) - 1, out=positions)
        if not np.array_equal(self._sorted.take(positions), hashes):
            return None
        return self._rows.take(positions)


def _hashes(names: Sequence[str]) -> _HashArray:
    return np.fromiter(map(_str_hash, names), dtype=np.int64, count=len(names))
