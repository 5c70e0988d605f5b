"""Preferred node affinity: every operator, matchFields, weights and normalisation."""

import numpy as np
import pytest
from scoring_builders import node, prefer

from ebbtide.scoring.affinity_terms import LabelRequirement, NameRequirement, Operator, PreferredTerm
from ebbtide.scoring.node_affinity import preference_scores, term_mask
from ebbtide.scoring.node_table import NodeTable

pytestmark = pytest.mark.unit

TABLE = NodeTable.build(
    [
        node("a", labels={"zone": "z1", "gen": "3", "gpu": "true"}),
        node("b", labels={"zone": "z2", "gen": "7"}),
        node("c", labels={"zone": "z3", "gen": "x"}),
        node("d", labels={}),
    ]
)


def matching(term: PreferredTerm) -> list[str]:
    return [TABLE.names[row] for row in np.flatnonzero(term_mask(term, TABLE)).tolist()]


@pytest.mark.parametrize(
    ("operator", "values", "expected"),
    [
        pytest.param(Operator.IN, ("z1", "z3"), ["a", "c"], id="In matches any listed value"),
        pytest.param(
            Operator.NOT_IN, ("z1",), ["b", "c", "d"], id="NotIn also matches nodes without the label"
        ),
        pytest.param(Operator.EXISTS, (), ["a", "b", "c"], id="Exists needs the label"),
        pytest.param(Operator.DOES_NOT_EXIST, (), ["d"], id="DoesNotExist needs its absence"),
    ],
)
def test_set_operators_follow_kubernetes(
    operator: Operator, values: tuple[str, ...], expected: list[str]
) -> None:
    assert matching(prefer(1, "zone", operator, *values)) == expected


@pytest.mark.parametrize(
    ("operator", "bound", "expected"),
    [
        pytest.param(Operator.GT, "3", ["b"], id="Gt compares as integers and skips non-integers"),
        pytest.param(Operator.LT, "7", ["a"], id="Lt compares as integers"),
        pytest.param(Operator.GT, "-1", ["a", "b"], id="negative bounds work"),
        pytest.param(Operator.LT, "100", ["a", "b"], id="a node without the label never matches"),
    ],
)
def test_numeric_operators_compare_integers(operator: Operator, bound: str, expected: list[str]) -> None:
    assert matching(prefer(1, "gen", operator, bound)) == expected


def test_match_fields_select_node_names() -> None:
    chosen = PreferredTerm(weight=1, fields=(NameRequirement(operator=Operator.IN, names=("b", "zz")),))
    avoided = PreferredTerm(weight=1, fields=(NameRequirement(operator=Operator.NOT_IN, names=("b",)),))
    assert matching(chosen) == ["b"]
    assert matching(avoided) == ["a", "c", "d"]


def test_requirements_of_a_term_are_anded() -> None:
    term = PreferredTerm(
        weight=1,
        labels=(
            LabelRequirement(key="zone", operator=Operator.IN, values=("z1", "z2")),
            LabelRequirement(key="gpu", operator=Operator.EXISTS),
        ),
        fields=(NameRequirement(operator=Operator.NOT_IN, names=("c",)),),
    )
    assert matching(term) == ["a"]


def test_an_empty_term_matches_nothing() -> None:
    assert matching(PreferredTerm(weight=10)) == []


def test_scores_sum_matched_weights_and_normalise_by_the_best_candidate() -> None:
    terms = [prefer(80, "zone", Operator.IN, "z1"), prefer(20, "gen", Operator.GT, "5")]
    rows, _ = TABLE.rows_of(["a", "b", "c", "d"])
    scores = preference_scores(terms=terms, table=TABLE, rows=rows)
    assert scores is not None
    assert scores.tolist() == pytest.approx([1.0, 0.25, 0.0, 0.0])


def test_normalisation_is_relative_to_the_candidates_only() -> None:
    terms = [prefer(80, "zone", Operator.IN, "z1"), prefer(20, "gen", Operator.GT, "5")]
    rows, _ = TABLE.rows_of(["b", "c"])
    scores = preference_scores(terms=terms, table=TABLE, rows=rows)
    assert scores is not None
    assert scores.tolist() == pytest.approx([1.0, 0.0])


def test_no_candidate_matching_scores_all_zero() -> None:
    rows, _ = TABLE.rows_of(["c", "d"])
    scores = preference_scores(terms=[prefer(5, "gpu", Operator.EXISTS)], table=TABLE, rows=rows)
    assert scores is not None
    assert scores.tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    "terms",
    [pytest.param([], id="no terms"), pytest.param([prefer(0, "zone", Operator.EXISTS)], id="only weight 0")],
)
def test_a_pod_without_weighted_preferences_gets_no_factor(terms: list[PreferredTerm]) -> None:
    rows, _ = TABLE.rows_of(["a", "b"])
    assert preference_scores(terms=terms, table=TABLE, rows=rows) is None
