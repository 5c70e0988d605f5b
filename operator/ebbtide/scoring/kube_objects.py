"""Read Kubernetes objects, as plain JSON-shaped dicts, into scoring values.

Objects arrive from two places: the scheduler's requests and the node cache's watch. Both are
untrusted in shape, so every field read here is type-checked and a malformed object raises
:class:`~ebbtide.errors.MalformedObjectError` naming the offending field; absent optional
fields get their Kubernetes defaults. Affinity requirements the API server would reject (``Gt``
with two values, ``In`` with none) are malformed too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ebbtide.api import shapes
from ebbtide.api.resources import SCHEDULER_NON_ZERO, TERMINAL_PHASES, NodeName, pod_requests
from ebbtide.errors import MalformedObjectError
from ebbtide.scoring.affinity_terms import (
    INTEGER,
    NODE_NAME_FIELD,
    LabelRequirement,
    NameRequirement,
    Operator,
    PreferredTerm,
)
from ebbtide.scoring.values import AFFINITY_KEY, SCORING_PROFILE_ANNOTATION, BoundPod, PodFacts

_VALUELESS = frozenset({Operator.EXISTS, Operator.DOES_NOT_EXIST})
_NUMERIC = frozenset({Operator.GT, Operator.LT})
_PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"


def read_pod(pod: object) -> PodFacts:
    """The facts scoring needs about the pod being scheduled."""
    pod = shapes.mapping(pod, "Pod")
    metadata = shapes.optional_mapping(pod.get("metadata"), "Pod.metadata")
    labels = shapes.string_map(metadata.get("labels"), "Pod.metadata.labels")
    annotations = shapes.string_map(metadata.get("annotations"), "Pod.metadata.annotations")
    spec = shapes.optional_mapping(pod.get("spec"), "Pod.spec")
    return PodFacts(
        uid=shapes.text(metadata.get("uid", ""), "Pod.metadata.uid"),
        namespace=shapes.text(metadata.get("namespace", ""), "Pod.metadata.namespace"),
        name=shapes.text(metadata.get("name", ""), "Pod.metadata.name"),
        requests=pod_requests(spec, path="Pod.spec", unrequested=SCHEDULER_NON_ZERO),
        preferred_terms=_preferred_terms(spec),
        affinity_key=labels.get(AFFINITY_KEY, annotations.get(AFFINITY_KEY)),
        profile_name=annotations.get(SCORING_PROFILE_ANNOTATION),
    )


def read_bound_pod(pod: object) -> BoundPod | None:
    """The node a pod occupies and its requests; ``None`` while unbound or once finished."""
    pod = shapes.mapping(pod, "pod")
    spec = shapes.optional_mapping(pod.get("spec"), "pod.spec")
    status = shapes.optional_mapping(pod.get("status"), "pod.status")
    node = spec.get("nodeName")
    if not node or status.get("phase") in TERMINAL_PHASES:
        return None
    metadata = shapes.optional_mapping(pod.get("metadata"), "pod.metadata")
    return BoundPod(
        uid=shapes.text(metadata.get("uid"), "pod.metadata.uid"),
        node=NodeName(shapes.text(node, "pod.spec.nodeName")),
        requests=pod_requests(spec, path="pod.spec", unrequested=SCHEDULER_NON_ZERO),
    )


def pod_uid(pod: object) -> str:
    """The UID of any pod object."""
    metadata = shapes.mapping(shapes.mapping(pod, "pod").get("metadata"), "pod.metadata")
    return shapes.text(metadata.get("uid"), "pod.metadata.uid")


def _preferred_terms(spec: Mapping[str, Any]) -> tuple[PreferredTerm, ...]:
    affinity = shapes.optional_mapping(spec.get("affinity"), "Pod.spec.affinity")
    path = "Pod.spec.affinity.nodeAffinity"
    node_affinity = shapes.optional_mapping(affinity.get("nodeAffinity"), path)
    path = f"{path}.{_PREFERRED}"
    terms = []
    for position, item in enumerate(shapes.items(node_affinity.get(_PREFERRED), path)):
        where = f"{path}[{position}]"
        entry = shapes.mapping(item, where)
        weight = entry.get("weight")
        if not isinstance(weight, int) or isinstance(weight, bool):
            raise MalformedObjectError(f"{where}.weight must be an integer")
        where = f"{where}.preference"
        preference = shapes.optional_mapping(entry.get("preference"), where)
        expressions = shapes.items(preference.get("matchExpressions"), f"{where}.matchExpressions")
        fields = shapes.items(preference.get("matchFields"), f"{where}.matchFields")
        terms.append(
            PreferredTerm(
                weight=weight,
                labels=tuple(
                    _label_requirement(item, f"{where}.matchExpressions[{index}]")
                    for index, item in enumerate(expressions)
                ),
                fields=tuple(
                    _name_requirement(item, f"{where}.matchFields[{index}]")
                    for index, item in enumerate(fields)
                ),
            )
        )
    return tuple(terms)


def _label_requirement(item: object, path: str) -> LabelRequirement:
    item = shapes.mapping(item, path)
    operator = _operator(item.get("operator"), f"{path}.operator")
    values = _values(item, path)
    if operator in _VALUELESS and values:
        raise MalformedObjectError(f"{path}: {operator} takes no values")
    if operator in _NUMERIC and (len(values) != 1 or INTEGER.fullmatch(values[0]) is None):
        raise MalformedObjectError(f"{path}: {operator} takes exactly one integer value")
    if operator not in _VALUELESS and not values:
        raise MalformedObjectError(f"{path}: {operator} needs at least one value")
    key = shapes.text(item.get("key"), f"{path}.key")
    return LabelRequirement(key=key, operator=operator, values=values)


def _name_requirement(item: object, path: str) -> NameRequirement:
    item = shapes.mapping(item, path)
    if item.get("key") != NODE_NAME_FIELD:
        raise MalformedObjectError(f"{path}.key: only {NODE_NAME_FIELD} can be matched")
    operator = _operator(item.get("operator"), f"{path}.operator")
    if operator not in (Operator.IN, Operator.NOT_IN):
        raise MalformedObjectError(f"{path}.operator: {NODE_NAME_FIELD} supports only In and NotIn")
    return NameRequirement(operator=operator, names=_values(item, path))


def _values(item: Mapping[str, Any], path: str) -> tuple[str, ...]:
    return tuple(
        shapes.text(value, f"{path}.values[{index}]")
        for index, value in enumerate(shapes.items(item.get("values"), f"{path}.values"))
    )


def _operator(value: object, path: str) -> Operator:
    try:
        return Operator(shapes.text(value, path))
    except ValueError as error:
        raise MalformedObjectError(f"{path}: unknown operator {value!r}") from error
