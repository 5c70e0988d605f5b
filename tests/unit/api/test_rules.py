import pytest
from pydantic import ValidationError
from tests.e2e.invalid_objects import scaling_policy

from ebbtide.api import ScalingPolicy, ScalingPolicySpec, error_messages
from ebbtide.api.rules import RULE_ERROR_TYPE, Rule


def test_a_rule_becomes_one_x_kubernetes_validations_entry() -> None:
    rule = Rule(cel="self.a <= self.b", message="a must not exceed b", check=bool, field_path=".a")
    assert rule.to_validation() == {
        "rule": "self.a <= self.b",
        "message": "a must not exceed b",
        "fieldPath": ".a",
    }
    assert "fieldPath" not in Rule(cel="true", message="m", check=bool).to_validation()


def test_a_broken_rule_is_a_pydantic_error_with_the_cel_message() -> None:
    with pytest.raises(ValidationError) as raised:
        ScalingPolicySpec.model_validate(scaling_policy(spec__minReplicas=4, spec__maxReplicas=2)["spec"])
    (error,) = raised.value.errors()
    assert error["type"] == RULE_ERROR_TYPE
    assert error["msg"] == "minReplicas must be less than or equal to maxReplicas"
    assert error_messages(raised.value) == [
        "minReplicas: minReplicas must be less than or equal to maxReplicas"
    ]


def test_every_broken_rule_of_an_object_is_reported_at_its_own_field() -> None:
    broken = scaling_policy(
        spec__minReplicas=5,
        spec__maxReplicas=3,
        spec__fallback={"action": "Replicas", "replicas": 9},
    )
    assert ScalingPolicy.parse_errors(broken) == [
        "spec.minReplicas: minReplicas must be less than or equal to maxReplicas",
        "spec.fallback.replicas: fallback.replicas must be between minReplicas and maxReplicas",
    ]


def test_schema_errors_are_reported_at_their_camel_case_path() -> None:
    broken = scaling_policy(spec__metric__targetPerReplica=-1, spec__mode="Fast")
    errors = ScalingPolicy.parse_errors(broken)
    assert "spec.metric.targetPerReplica: Input should be greater than 0" in errors
    assert any(line.startswith("spec.mode: ") for line in errors)
    assert ScalingPolicy.parse_errors(scaling_policy()) == []
