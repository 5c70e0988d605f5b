"""``metav1.LabelSelector`` as a model, with the matching semantics of Kubernetes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ebbtide.api.base import KubeModel
from ebbtide.api.rules import Rule

MAX_EXPRESSIONS = 32
MAX_VALUES = 64
MAX_LABELS = 64

SelectorOperator = Literal["In", "NotIn", "Exists", "DoesNotExist"]


def _values_fit_operator(requirement: LabelSelectorRequirement) -> bool:
    if requirement.operator in ("In", "NotIn"):
        return len(requirement.values) > 0
    return len(requirement.values) == 0


class LabelSelectorRequirement(KubeModel):
    """A selector requirement: a label key, an operator and the values the operator uses."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel=(
                "self.operator in ['In', 'NotIn'] "
                "? (has(self.values) && size(self.values) > 0) "
                ": (!has(self.values) || size(self.values) == 0)"
            ),
            message=(
                "values must be non-empty when operator is In or NotIn, "
                "and empty when operator is Exists or DoesNotExist"
            ),
            check=_values_fit_operator,
            field_path=".values",
        ),
    )

    key: str = Field(min_length=1, max_length=317)
    """The label key that the selector applies to."""
    operator: SelectorOperator
    """How the key relates to the values: In, NotIn, Exists or DoesNotExist."""
    values: list[Annotated[str, Field(max_length=63)]] = Field(default_factory=list, max_length=MAX_VALUES)
    """Label values: non-empty for In and NotIn, empty for Exists and DoesNotExist."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a set of labels satisfies this requirement."""
        present = self.key in labels
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        inside = present and labels[self.key] in self.values
        return inside if self.operator == "In" else not inside


class LabelSelector(KubeModel):
    """A label query over a set of resources, as ``metav1.LabelSelector``.

    matchLabels and matchExpressions are ANDed. An empty selector matches every object.
    """

    match_labels: dict[str, Annotated[str, Field(max_length=63)]] = Field(
        default_factory=dict, max_length=MAX_LABELS
    )
    """Labels an object must carry with exactly these values."""
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, max_length=MAX_EXPRESSIONS
    )
    """Requirements an object's labels must all satisfy."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a set of labels satisfies the selector (every label and every expression)."""
        return all(labels.get(key) == value for key, value in self.match_labels.items()) and all(
            requirement.matches(labels) for requirement in self.match_expressions
        )
