"""The table of invalid objects, refused by the pydantic models with the expected messages.

The e2e test tests/e2e/test_crds.py sends the same objects to the real API server.
"""

import pytest
from tests.e2e.invalid_objects import CASES, InvalidCase, fair_queue, scaling_policy

from ebbtide.api import FairQueue, ScalingPolicy, TransitionError
from ebbtide.api.base import Resource

KINDS: dict[str, type[Resource]] = {"ScalingPolicy": ScalingPolicy, "FairQueue": FairQueue}


def test_the_table_covers_enough_ground() -> None:
    assert len(CASES) >= 25
    assert {case.kind for case in CASES} == set(KINDS)
    assert any(case.strict for case in CASES)
    assert any(case.old is not None for case in CASES)


def test_the_objects_the_cases_are_made_from_are_valid() -> None:
    # So each case's error comes from the one thing the case breaks.
    assert ScalingPolicy.parse_errors(scaling_policy()) == []
    assert FairQueue.parse_errors(fair_queue()) == []


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.kind}: {case.name}")
def test_models_refuse_the_invalid_object(case: InvalidCase) -> None:
    model = KINDS[case.kind]
    if case.old is None:
        errors = model.parse_errors(case.obj)
    else:
        old, new = model.model_validate(case.old), model.model_validate(case.obj)
        with pytest.raises(TransitionError) as raised:
            new.validate_update(old)
        errors = raised.value.messages
    prefix = f"{case.path}: " if case.path else ""
    assert any(line.startswith(prefix) and case.expected_python_message in line for line in errors), errors
