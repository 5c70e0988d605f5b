"""Which nodes a request asks about, located in the tables the answer is computed from.

Names-only requests (``nodeCacheCapable: true``) are resolved against the node cache's table;
names it does not know are set aside. Full-node requests bring their own node objects, read into a
table of their own, and are also located in the cache's table, which still knows what is requested
on each node and where each node sits on the affinity-key ring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ebbtide.errors import BadRequestError, MalformedObjectError
from ebbtide.extender.name_rows import NameRows
from ebbtide.extender.protocol import ExtenderArgs
from ebbtide.extender.request_nodes import RequestNodes
from ebbtide.scoring.node_table import IntArray, NodeTable


@dataclass(frozen=True, eq=False, slots=True)
class RequestView:
    """The request's candidates: rows of ``table`` and their names, in request order.

    ``cache_rows`` locate the same nodes in the cache's table (-1 where absent); ``unknown`` are
    requested names the cache does not know (names-only mode); ``items`` are the node objects as
    received (full-node mode).
    """

    table: NodeTable
    rows: IntArray
    names: Sequence[str]
    cache_rows: IntArray
    unknown: Sequence[str] = ()
    items: Sequence[Mapping[str, Any]] = ()


class RequestViews:
    """Builds :class:`RequestView` objects, memoising lookups between consecutive requests."""

    def __init__(self) -> None:
        self._name_rows = NameRows()
        self._request_nodes = RequestNodes()

    def view(self, args: ExtenderArgs, cache_table: NodeTable) -> RequestView:
        """The view of a request; raises :class:`BadRequestError` for unusable node lists."""
        if args.node_names is not None:
            return self._names_view(args.node_names, cache_table)
        try:
            table, rows, items = self._request_nodes.table_for(args.nodes or [])
        except MalformedObjectError as error:
            raise BadRequestError(str(error)) from error
        names = [table.names[row] for row in rows.tolist()]
        return RequestView(
            table=table,
            rows=rows,
            names=names,
            cache_rows=cache_table.row_or_missing(names),
            items=items,
        )

    def _names_view(self, node_names: list[Any], table: NodeTable) -> RequestView:
        try:
            rows, unknown = self._name_rows.resolve(table, node_names)
        except TypeError as error:  # an unhashable item, such as a list
            raise BadRequestError("NodeNames must be a list of strings") from error
        if not all(isinstance(name, str) for name in unknown):
            raise BadRequestError("NodeNames must be a list of strings")
        names = node_names if not unknown else [table.names[row] for row in rows.tolist()]
        return RequestView(
            table=table, rows=rows, names=names, cache_rows=rows, unknown=[str(n) for n in unknown]
        )
