"""A pod's preferred node-affinity terms, as plain values.

These mirror ``preferredDuringSchedulingIgnoredDuringExecution`` of the Kubernetes ``NodeAffinity``:
a term carries a weight and a node selector term whose requirements are ANDed. How the terms are
matched against nodes lives in :mod:`ebbtide.scoring.node_affinity`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Operator(StrEnum):
    """Node selector operators, spelled as in the Kubernetes API."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"
    GT = "Gt"
    LT = "Lt"


# Values compared by Gt/Lt must be base-10 integers, as the API server's ParseInt demands.
INTEGER = re.compile(r"[+-]?[0-9]+")

# The only field a node selector may match on (``matchFields``).
NODE_NAME_FIELD = "metadata.name"


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    """One ``matchExpressions`` entry: a label key, an operator and its values.

    For ``Gt``/``Lt`` the single value is an integer and a node matches when its label parses as an
    integer greater (less) than it; a node without the label, or with a non-integer value, does not
    match. ``NotIn`` and ``DoesNotExist`` match nodes that lack the label.
    """

    key: str
    operator: Operator
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NameRequirement:
    """One ``matchFields`` entry on ``metadata.name``: ``In`` or ``NotIn`` a set of node names."""

    operator: Operator
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PreferredTerm:
    """A weighted preference; a node matches when every requirement holds.

    A term without requirements matches no node, as in Kubernetes.
    """

    weight: int
    labels: tuple[LabelRequirement, ...] = ()
    fields: tuple[NameRequirement, ...] = ()
