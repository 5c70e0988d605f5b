"""``kubectl get sp`` and ``kubectl get fq`` show whether each object is ready and, when it is
not, why; ``kubectl explain`` names only decision reasons the planner emits."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ebbtide.api import FairQueue, ScalingPolicy
from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.api.crd import crd

pytestmark = pytest.mark.unit


def columns(resource: type[Any]) -> dict[str, dict[str, Any]]:
    [version] = crd(resource)["spec"]["versions"]
    return {column["name"]: column for column in version["additionalPrinterColumns"]}


@pytest.mark.parametrize(
    ("resource", "condition"), [(ScalingPolicy, "Ready"), (FairQueue, "Active")], ids=["sp", "fq"]
)
def test_ready_and_its_message_are_default_columns(resource: type[Any], condition: str) -> None:
    shown = columns(resource)
    assert shown["Ready"]["jsonPath"] == f'.status.conditions[?(@.type=="{condition}")].status'
    assert shown["Message"]["jsonPath"] == f'.status.conditions[?(@.type=="{condition}")].message'
    assert "priority" not in shown["Ready"] and "priority" not in shown["Message"]


def test_the_decision_reason_docs_name_reasons_the_planner_emits() -> None:
    [version] = crd(ScalingPolicy)["spec"]["versions"]
    decision = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["lastDecision"]
    description = decision["properties"]["reason"]["description"]
    named = re.findall(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)+\b", description.split("e.g.", 1)[1])
    emitted = {value for name, value in vars(reasons).items() if name.isupper() and isinstance(value, str)}
    assert named
    assert set(named) <= emitted, set(named) - emitted
