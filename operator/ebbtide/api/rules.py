"""Validation rules defined once, enforced twice.

A :class:`Rule` holds a CEL expression, the message a user sees when it fails and a Python
predicate with the same meaning. The CRD generator copies the CEL expression and message into the
schema's ``x-kubernetes-validations`` (the API server evaluates it), and the models run the
predicate when they parse a dict (the operator evaluates it). Both sides therefore refuse the same
objects with the same message.

A rule is attached to the model whose schema node is ``self`` in the CEL expression (a
``RULES`` class variable on a :class:`~ebbtide.api.base.KubeModel`), or to a scalar type's
JSON schema (durations, quantities). A *transition* rule compares the object with its previous
version (``oldSelf``); the API server checks it on update only, and Python checks it in
:func:`validate_transition`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from ebbtide.errors import TransitionError

#: The pydantic error type of a failed rule (``ValidationError.errors()[i]["type"]``).
RULE_ERROR_TYPE = "ebbtide_rule"


@dataclass(frozen=True)
class Rule:
    """One cross-field or format rule, in CEL for the API server and in Python for the operator.

    ``check`` receives the model instance (or, for a scalar rule, the raw value) and returns True
    when the value is valid; a transition rule's ``check`` receives ``(new, old)``. ``field_path``
    is relative to the node the rule is attached to (``.minReplicas``) and makes both sides
    report the error at that field instead of at the object.
    """

    cel: str
    message: str
    check: Callable[..., bool]
    field_path: str | None = None
    transition: bool = False

    def to_validation(self) -> dict[str, Any]:
        """The ``x-kubernetes-validations`` entry for this rule."""
        entry: dict[str, Any] = {"rule": self.cel, "message": self.message}
        if self.field_path is not None:
            entry["fieldPath"] = self.field_path
        return entry

    def error(self) -> PydanticCustomError:
        """The pydantic error raised when the predicate fails."""
        return _rules_error([self])


def rules_json_schema_extra(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """``json_schema_extra`` hook of the API models: put the model's rules on its schema."""
    rules: tuple[Rule, ...] = getattr(model, "RULES", ())
    if rules:
        schema["x-kubernetes-validations"] = [rule.to_validation() for rule in rules]


def failed_rules(value: Any, rules: tuple[Rule, ...]) -> list[Rule]:
    """The non-transition rules of ``rules`` that ``value`` breaks, in declaration order."""
    return [rule for rule in rules if not rule.transition and not rule.check(value)]


def raise_for_rules(value: Any, rules: tuple[Rule, ...]) -> None:
    """Raise one pydantic error for all the rules ``value`` breaks, if it breaks any."""
    failed = failed_rules(value, rules)
    if failed:
        raise _rules_error(failed)


def _rules_error(failed: list[Rule]) -> PydanticCustomError:
    # The message joins the rules' messages; the context keeps each rule's field path and
    # message, so error_messages() can report every rule at its own field.
    return PydanticCustomError(
        RULE_ERROR_TYPE,
        "; ".join(rule.message for rule in failed),
        {"rules": [(rule.field_path or "", rule.message) for rule in failed]},
    )


def validate_transition(new: BaseModel, old: BaseModel) -> None:
    """Check the transition rules of ``new`` (and of every nested model) against ``old``.

    Mirrors the API server: a transition rule runs only where both the new and the old object
    have the node it is attached to. Raises :class:`TransitionError` listing every broken rule.
    """
    messages = [
        f"{path}{rule.field_path or ''}".lstrip(".") + f": {rule.message}"
        for path, new_node, old_node in _pairs(new, old, "")
        for rule in getattr(type(new_node), "RULES", ())
        if rule.transition and not rule.check(new_node, old_node)
    ]
    if messages:
        raise TransitionError(messages)


def _pairs(new: BaseModel, old: BaseModel, path: str) -> Iterator[tuple[str, BaseModel, BaseModel]]:
    yield path, new, old
    for name, info in type(new).model_fields.items():
        new_child, old_child = getattr(new, name), getattr(old, name, None)
        if isinstance(new_child, BaseModel) and isinstance(old_child, BaseModel):
            yield from _pairs(new_child, old_child, f"{path}.{info.alias or name}")


def error_messages(exc: ValidationError) -> list[str]:
    """Render a model's validation errors as ``path: message`` lines, like the API server does.

    The path uses the camelCase names of the manifest (``spec.metric.targetPerReplica``); a
    rule with a ``field_path`` reports at that field.
    """
    lines = []
    for error in exc.errors():
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
        # A rule error carries each broken rule's field path and message: one line per rule.
        for field_path, message in (error.get("ctx") or {}).get("rules") or [("", error["msg"])]:
            where = f"{path}{field_path}".lstrip(".")
            lines.append(f"{where}: {message}" if where else message)
    return lines
