"""Preferred node affinity as a 0..1 factor.

Each node earns the weights of the preferred terms it matches (the rule of the scheduler's
NodeAffinity score); the sums are then normalised by the best candidate, as the scheduler's default
score normalisation does, so the most preferred candidate gets 1 and a candidate matching nothing
gets 0. Terms are evaluated once over the whole table with the label index (cost grows with the
number of distinct label values involved, not with label lookups per node) and then gathered for
the candidates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ebbtide.scoring.affinity_terms import (
    INTEGER,
    LabelRequirement,
    NameRequirement,
    Operator,
    PreferredTerm,
)
from ebbtide.scoring.node_table import BoolArray, FloatArray, IntArray, NodeTable


def preference_scores(
    *, terms: Sequence[PreferredTerm], table: NodeTable, rows: IntArray
) -> FloatArray | None:
    """Normalised preference of each candidate row; ``None`` when the pod states no preference.

    All zeros when no candidate matches any term.
    """
    weighted = [term for term in terms if term.weight > 0]
    if not weighted:
        return None
    totals = np.zeros(len(table), dtype=np.float64)
    for term in weighted:
        totals += term.weight * term_mask(term, table)
    scores = totals[rows]
    best = float(scores.max()) if len(scores) else 0.0
    return scores / best if best > 0 else np.zeros(len(rows), dtype=np.float64)


def term_mask(term: PreferredTerm, table: NodeTable) -> BoolArray:
    """Rows that satisfy every requirement of the term; no row for an empty term."""
    if not term.labels and not term.fields:
        return np.zeros(len(table), dtype=np.bool_)
    mask = np.ones(len(table), dtype=np.bool_)
    for label in term.labels:
        mask &= label_mask(label, table)
    for field in term.fields:
        mask &= name_mask(field, table)
    return mask


def label_mask(requirement: LabelRequirement, table: NodeTable) -> BoolArray:
    """Rows whose labels satisfy one ``matchExpressions`` requirement."""
    by_value = table.labels.rows_by_value.get(requirement.key, {})
    mask = np.zeros(len(table), dtype=np.bool_)
    operator = requirement.operator
    if operator in (Operator.IN, Operator.NOT_IN):
        for value in requirement.values:
            rows = by_value.get(value)
            if rows is not None:
                mask[rows] = True
        return ~mask if operator is Operator.NOT_IN else mask
    if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
        present = table.labels.rows_with_key.get(requirement.key)
        if present is not None:
            mask[present] = True
        return ~mask if operator is Operator.DOES_NOT_EXIST else mask
    bound = int(requirement.values[0])
    for value, rows in by_value.items():
        if INTEGER.fullmatch(value) is None:
            continue
        number = int(value)
        if (number > bound) if operator is Operator.GT else (number < bound):
            mask[rows] = True
    return mask


def name_mask(requirement: NameRequirement, table: NodeTable) -> BoolArray:
    """Rows whose node name satisfies one ``matchFields`` requirement on ``metadata.name``."""
    mask = np.zeros(len(table), dtype=np.bool_)
    for name in requirement.names:
        row = table.index.get(name)
        if row is not None:
            mask[row] = True
    return ~mask if requirement.operator is Operator.NOT_IN else mask
