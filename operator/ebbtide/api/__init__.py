"""ebbtide's public API: the ScalingPolicy and FairQueue custom resources as pydantic models.

The models are the single definition of every field: the CRDs in ``crds/`` are generated from
them (``ebbtide crds``), and the operator parses objects with them, refusing what the API server
would refuse with the same messages (see :mod:`ebbtide.api.rules`).

Attributes are snake_case; manifests use the camelCase aliases, and either parses::

    policy = ScalingPolicy.model_validate(obj)        # raises pydantic.ValidationError
    policy.spec.prediction.horizon                    # datetime.timedelta
    queue.spec.guaranteed.cpu.value                   # decimal.Decimal
    policy.to_dict()                                  # camelCase, durations as "5m0s"
"""

from ebbtide.api.base import API_GROUP, API_VERSION, GROUP_VERSION, ObjectMeta, Resource
from ebbtide.api.conditions import (
    Condition,
    ConditionStatus,
    find_condition,
    is_condition_true,
    remove_condition,
    set_condition,
)
from ebbtide.api.duration import Duration, format_duration, parse_duration
from ebbtide.api.fairqueue import FairQueue, FairQueueSpec, FairQueueStatus, ResourceAmounts
from ebbtide.api.quantity import Quantity
from ebbtide.api.rules import Rule, error_messages, validate_transition
from ebbtide.api.scalingpolicy import (
    ScalingDecision,
    ScalingPolicy,
    ScalingPolicySpec,
    ScalingPolicyStatus,
)
from ebbtide.api.selectors import LabelSelector, LabelSelectorRequirement
from ebbtide.errors import TransitionError

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "GROUP_VERSION",
    "Condition",
    "ConditionStatus",
    "Duration",
    "FairQueue",
    "FairQueueSpec",
    "FairQueueStatus",
    "LabelSelector",
    "LabelSelectorRequirement",
    "ObjectMeta",
    "Quantity",
    "Resource",
    "ResourceAmounts",
    "Rule",
    "ScalingDecision",
    "ScalingPolicy",
    "ScalingPolicySpec",
    "ScalingPolicyStatus",
    "TransitionError",
    "error_messages",
    "find_condition",
    "format_duration",
    "is_condition_true",
    "parse_duration",
    "remove_condition",
    "set_condition",
    "validate_transition",
]
