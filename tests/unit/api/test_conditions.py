from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from ebbtide.api import (
    Condition,
    ScalingPolicyStatus,
    find_condition,
    is_condition_true,
    remove_condition,
    set_condition,
)

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_a_new_condition_is_appended_with_the_transition_time_to_the_second() -> None:
    conditions: list[Condition] = []
    changed = set_condition(
        conditions,
        type_="Ready",
        status="True",
        reason="Scaling",
        message="reading load",
        observed_generation=3,
        now=T0 + timedelta(microseconds=700),
    )
    assert changed
    assert conditions == [
        Condition(
            type="Ready",
            status="True",
            reason="Scaling",
            message="reading load",
            observed_generation=3,
            last_transition_time=T0,
        )
    ]


def test_the_transition_time_stays_while_the_status_does_not_change() -> None:
    conditions: list[Condition] = []
    set_condition(conditions, type_="Ready", status="False", reason="NoData", now=T0)
    changed = set_condition(
        conditions,
        type_="Ready",
        status="False",
        reason="QueryFailed",
        message="503",
        now=T0 + timedelta(minutes=5),
    )
    assert changed
    (condition,) = conditions
    assert condition.reason == "QueryFailed"
    assert condition.last_transition_time == T0


def test_the_transition_time_moves_when_the_status_changes() -> None:
    conditions: list[Condition] = []
    set_condition(conditions, type_="Ready", status="False", reason="NoData", now=T0)
    set_condition(conditions, type_="Ready", status="True", reason="Scaling", now=T0 + timedelta(minutes=5))
    assert conditions[0].last_transition_time == T0 + timedelta(minutes=5)
    assert is_condition_true(conditions, "Ready")


def test_setting_the_same_condition_again_changes_nothing() -> None:
    conditions: list[Condition] = []
    set_condition(conditions, type_="Ready", status="True", reason="Scaling", now=T0)
    assert not set_condition(
        conditions, type_="Ready", status="True", reason="Scaling", now=T0 + timedelta(hours=1)
    )


def test_conditions_are_kept_one_per_type() -> None:
    conditions: list[Condition] = []
    set_condition(conditions, type_="Ready", status="True", reason="Scaling", now=T0)
    set_condition(conditions, type_="Degraded", status="False", reason="Healthy", now=T0)
    set_condition(conditions, type_="Ready", status="False", reason="NoData", now=T0)
    assert [c.type for c in conditions] == ["Ready", "Degraded"]
    assert find_condition(conditions, "Degraded") is conditions[1]
    assert find_condition(conditions, "Missing") is None
    assert not is_condition_true(conditions, "Ready")
    assert not is_condition_true(conditions, "Missing")
    assert remove_condition(conditions, "Ready")
    assert not remove_condition(conditions, "Ready")
    assert [c.type for c in conditions] == ["Degraded"]


def test_conditions_round_trip_in_metav1_condition_shape() -> None:
    wire = {
        "type": "Ready",
        "status": "True",
        "observedGeneration": 2,
        "lastTransitionTime": "2026-01-01T12:00:00Z",
        "reason": "Scaling",
        "message": "",
    }
    condition = Condition.model_validate(wire)
    assert condition.last_transition_time == T0
    assert condition.model_dump(mode="json") == wire


def test_a_status_refuses_two_conditions_of_one_type() -> None:
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "A",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(ValidationError, match="duplicate condition type"):
        ScalingPolicyStatus.model_validate({"conditions": [ready, ready]})


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "Yes"), ("reason", "not camel case"), ("reason", ""), ("type", "has space")],
)
def test_a_condition_refuses_what_metav1_condition_refuses(field: str, value: str) -> None:
    wire = {
        "type": "Ready",
        "status": "True",
        "reason": "A",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(ValidationError):
        Condition.model_validate({**wire, field: value})
