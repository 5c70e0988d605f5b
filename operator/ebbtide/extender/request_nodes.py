"""Node tables for full-node requests (``nodeCacheCapable: false``), memoised between requests.

Without a node cache the scheduler sends every candidate node object on every call. Reading them
is memoised by (name, resourceVersion), and the table built from them is reused while the
scheduler keeps sending the same node versions, which it does until a node changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ebbtide.api.resources import NodeFacts, read_node
from ebbtide.scoring.node_table import IntArray, NodeTable

_Key = tuple[object, object]


class RequestNodes:
    """Reads node objects from requests into a :class:`NodeTable`, reusing earlier work."""

    def __init__(self) -> None:
        self._facts: dict[_Key, NodeFacts] = {}
        self._last: tuple[tuple[_Key, ...], NodeTable, IntArray] | None = None

    def table_for(
        self, items: Sequence[Mapping[str, Any]]
    ) -> tuple[NodeTable, IntArray, Sequence[Mapping[str, Any]]]:
        """The table of the request's nodes, their rows in request order, and the objects.

        Raises ``MalformedObjectError`` for a node object without a readable name or allocatable.
        """
        keys = tuple(_key(item) for item in items)
        if self._last is not None and self._last[0] == keys:
            return self._last[1], self._last[2], items
        facts = [self._read(key, item) for key, item in zip(keys, items, strict=True)]
        table = NodeTable.build(facts)
        rows, _ = table.rows_of([node.name for node in facts])
        self._last = (keys, table, rows)
        # Forget old node versions once they clearly outnumber the live ones.
        if len(self._facts) > 4 * len(items) + 64:
            live = set(keys)
            self._facts = {key: node for key, node in self._facts.items() if key in live}
        return table, rows, items

    def _read(self, key: _Key, item: Mapping[str, Any]) -> NodeFacts:
        if key[1] is None:  # no resourceVersion: nothing safe to memoise on
            return read_node(item)
        facts = self._facts.get(key)
        if facts is None:
            facts = self._facts[key] = read_node(item)
        return facts


def _key(item: Mapping[str, Any]) -> _Key:
    metadata = item.get("metadata")
    if not isinstance(metadata, Mapping):
        return (None, None)
    name, version = metadata.get("name"), metadata.get("resourceVersion")
    if not isinstance(name, str) or not isinstance(version, str):
        return (name if isinstance(name, str) else None, None)
    return (name, version)
