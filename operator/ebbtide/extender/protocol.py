"""The wire format of k8s.io/kube-scheduler/extender/v1, read and written without copies.

The scheduler POSTs ``ExtenderArgs``: ``{"Pod": {...}, "Nodes": {"Items": [...]} | null,
"NodeNames": [...] | null}`` (PascalCase keys, Go's encoding of its structs). With
``nodeCacheCapable: true`` it fills ``NodeNames``, otherwise ``Nodes``. Filter answers an
``ExtenderFilterResult`` in the same mode; prioritize answers a bare ``HostPriorityList``
``[{"Host": "n1", "Score": 7}]``.

Bodies are read and written with orjson: every scheduling cycle waits for the answer, and the
request names every feasible node, so the standard library's decoder was a large part of a
request's time. orjson also bounds nesting (1024 levels), so a hostile body fails fast with a
message instead of exhausting the stack.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from ebbtide.errors import BadRequestError
from ebbtide.scoring.node_table import IntArray, NodeTable
from ebbtide.scoring.scorer import MAX_SCORE, ScoreArray


@dataclass(frozen=True, slots=True)
class ExtenderArgs:
    """A decoded request: exactly one of ``node_names`` and ``nodes`` is set.

    ``node_names`` items are not checked one by one (that would cost as much as the lookup they
    precede); callers treat a non-string item as an unknown node.
    """

    pod: Mapping[str, Any]
    node_names: list[Any] | None = None
    nodes: list[Mapping[str, Any]] | None = None


def decode_args(body: bytes) -> ExtenderArgs:
    """Decode and shape-check a request body.

    Keys are matched case-insensitively, as Go's JSON decoder in the scheduler does; the node
    list inside ``Nodes`` is a ``v1.NodeList``, so its items sit under ``items``.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:  # also invalid UTF-8 and nesting past 1024 levels
        raise BadRequestError(f"the body is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise BadRequestError("the body must be a JSON object (ExtenderArgs)")
    fields = _casefolded(document)
    pod = fields.get("pod")
    if pod is None:
        raise BadRequestError("Pod is missing")
    if not isinstance(pod, dict):
        raise BadRequestError("Pod must be an object")
    names = fields.get("nodenames")
    if names is not None:
        if not isinstance(names, list):
            raise BadRequestError("NodeNames must be a list of node names")
        return ExtenderArgs(pod=pod, node_names=names)
    node_list = fields.get("nodes")
    if node_list is None:
        raise BadRequestError("neither NodeNames nor Nodes is set")
    if not isinstance(node_list, dict):
        raise BadRequestError("Nodes must be a NodeList object")
    items = _casefolded(node_list).get("items") or []  # Go writes an empty list as null
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise BadRequestError("Nodes.items must be a list of node objects")
    return ExtenderArgs(pod=pod, nodes=items)


def encode_filter_names(*, passed: Sequence[str], failed: Mapping[str, str]) -> bytes:
    """An ``ExtenderFilterResult`` for names-only mode."""
    return _encode(
        {
            "Nodes": None,
            "NodeNames": list(passed),
            "FailedNodes": dict(failed),
            "FailedAndUnresolvableNodes": {},
            "Error": "",
        }
    )


def encode_filter_nodes(*, passed: Sequence[Mapping[str, Any]], failed: Mapping[str, str]) -> bytes:
    """An ``ExtenderFilterResult`` for full-node mode: the passing node objects, as received."""
    return _encode(
        {
            "Nodes": {"metadata": {}, "items": list(passed)},
            "NodeNames": None,
            "FailedNodes": dict(failed),
            "FailedAndUnresolvableNodes": {},
            "Error": "",
        }
    )


def encode_error(message: str) -> bytes:
    """The body of an error answer (the scheduler reads only the status; people read this)."""
    return _encode({"Error": message})


def encode_priorities(*, hosts: Sequence[str], scores: ScoreArray) -> bytes:
    """A ``HostPriorityList`` for arbitrary host names."""
    return _encode(
        [{"Host": host, "Score": score} for host, score in zip(hosts, scores.tolist(), strict=True)]
    )


# Entries are padded to a common width only while that adds at most this share to a body: a few
# node names far longer than the rest would otherwise make every answer several times longer.
MAX_PADDING = 0.25


class PriorityEncoder:
    """Writes ``HostPriorityList`` bodies for rows of one node table from precomputed entries.

    Entries ``{"Host":"<name>","Score":<s>}`` are built once per table for every score 0..10, so
    encoding a request is a gather instead of hundreds of JSON encodings. Where names are of
    similar length, every entry is written with a leading comma and padded with spaces (JSON
    whitespace) to one width, in one byte matrix: a body is then a single gather of rows from it.
    Gathering hundreds of string objects scattered in memory costs several times as much when the
    CPU's caches are cold, as they are on a busy node (420 entries: 32 against 63 µs).
    """

    def __init__(self, table: NodeTable) -> None:
        self.table = table
        hosts = [orjson.dumps(name) for name in table.names]
        # Row-major by score: the entry for (score, row) sits at score * len(table) + row.
        entries = [
            b',{"Host":' + host + b',"Score":%d}' % score for score in range(MAX_SCORE + 1) for host in hosts
        ]
        width = max(map(len, entries), default=0)
        self._padded: npt.NDArray[np.uint8] | None = None
        self._entries: npt.NDArray[np.object_] | None = None
        if width * len(entries) <= (1 + MAX_PADDING) * sum(map(len, entries)):
            padded = b"".join(entry.ljust(width) for entry in entries)
            self._padded = np.frombuffer(padded, dtype=np.uint8).reshape(len(entries), width)
        else:
            self._entries = np.empty(len(entries), dtype=object)
            self._entries[:] = entries

    def serves(self, table: NodeTable) -> bool:
        """Whether this encoder writes correct bodies for ``table``: entries depend only on the
        names in each row, which most node updates (labels, allocatable, cordons) leave alone."""
        return table is self.table or table.names == self.table.names

    def for_table(self, table: NodeTable) -> PriorityEncoder:
        """This encoder for ``table``, which it :meth:`serves`: the entries are shared, and later
        checks against ``table`` are an identity test instead of a comparison of every name."""
        encoder = copy.copy(self)
        encoder.table = table
        return encoder

    def encode(self, *, rows: IntArray, scores: ScoreArray) -> bytes:
        positions = scores * len(self.table) + rows
        if self._padded is not None:
            joined = self._padded.take(positions, axis=0).tobytes()
        else:
            assert self._entries is not None
            joined = b"".join(self._entries.take(positions).tolist())
        return b"[" + joined[1:] + b"]"  # the first entry's leading comma dropped


def _encode(document: object) -> bytes:
    return orjson.dumps(document)


def _casefolded(document: Mapping[str, Any]) -> dict[str, Any]:
    return {key.lower(): value for key, value in document.items()}
