"""Turn a pydantic model's JSON schema into a Kubernetes structural schema.

pydantic writes JSON Schema 2020-12; a CRD wants a *structural* OpenAPI v3.0 schema: every node
typed and self-contained, no ``$ref``/``$defs``, no ``anyOf``/``allOf`` except the
``x-kubernetes-int-or-string`` union, no ``additionalProperties: false``, ``nullable`` instead
of a ``null`` branch, boolean ``exclusiveMinimum``/``exclusiveMaximum``, and defaults in the wire
form of the field (``5m0s``, not ISO 8601). :func:`structural_schema` does that conversion, and
adds each model's :class:`~ebbtide.api.rules.Rule` objects as ``x-kubernetes-validations``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticSerializationError, SchemaSerializer, core_schema

# Keys a structural schema node may carry, in the order the CRD lists them.
_KEY_ORDER = (
    "description",
    "type",
    "format",
    "nullable",
    "enum",
    "default",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "maxProperties",
    "anyOf",
    "x-kubernetes-int-or-string",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-validations",
)
# JSON-schema keys that carry no meaning for the API server.
_DROPPED = frozenset({"title", "$defs", "$schema", "examples"})
_PARAGRAPH = re.compile(r"\n\s*\n")


class CrdJsonSchema(GenerateJsonSchema):
    """pydantic's JSON schema generator, with defaults written the way a manifest writes them.

    A default is encoded with the field's own serializer (a Duration default becomes ``5m0s``);
    a nested model built by a ``default_factory`` defaults to that model with all its defaults
    filled in (the API server checks a default against the CRD's rules as it is written, so
    ``{}`` would break rules on the nested defaults); other factories (empty lists and maps) add
    none.
    """

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = self.generate_inner(schema["schema"])
        if "default_factory" in schema:
            factory = schema["default_factory"]
            if isinstance(factory, type) and issubclass(factory, BaseModel):
                json_schema["default"] = factory().model_dump(mode="json", by_alias=True)
            return json_schema
        if "default" not in schema or schema["default"] is None:
            return json_schema
        try:
            encoded = SchemaSerializer(schema["schema"]).to_python(schema["default"], mode="json")
        except (PydanticSerializationError, TypeError, KeyError):
            return super().default_schema(schema)
        json_schema["default"] = encoded
        return json_schema


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of ``model``, ready for a CRD's ``openAPIV3Schema``."""
    raw = model.model_json_schema(by_alias=True, mode="validation", schema_generator=CrdJsonSchema)
    return _convert(raw, raw.get("$defs", {}))


def strip_defaults(node: dict[str, Any]) -> dict[str, Any]:
    """A copy of a schema node without any ``default`` (used for status: the operator writes it)."""
    out = {key: value for key, value in node.items() if key != "default"}
    if "properties" in out:
        out["properties"] = {name: strip_defaults(sub) for name, sub in out["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict):
            out[key] = strip_defaults(out[key])
    return out


def _convert(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    node = _resolve(node, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "properties":
            out[key] = {name: _convert(sub, defs) for name, sub in value.items()}
        elif key in ("items", "additionalProperties"):
            if isinstance(value, bool):
                continue  # structural objects are closed: pydantic's open/closed flag has no place
            out[key] = _convert(value, defs)
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            # JSON Schema 2020-12 gives the bound; OpenAPI v3.0 flags the inclusive bound.
            out[key.replace("exclusiveM", "m")] = value
            out[key] = True
        elif key == "const":
            out["enum"] = [value]
        elif key == "description":
            out[key] = _prose(value)
        else:
            out[key] = value
    default = out.get("default")
    if "description" in out and isinstance(default, str | int | float) and default != "":
        # kubectl explain shows descriptions, not defaults: say it in words as well.
        out["description"] += f" Defaults to {_scalar_text(default)}."
    unknown = set(out) - set(_KEY_ORDER)
    if unknown:
        raise ValueError(f"schema keys not supported in a CRD: {sorted(unknown)} in {node}")
    return {key: out[key] for key in _KEY_ORDER if key in out}


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Inline ``$ref``/``allOf`` and fold an ``anyOf`` with a ``null`` branch into ``nullable``.

    The referring node's own keys win over the referenced model's, except that a field's
    description and its model's docstring are both kept, the field's first.
    """
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        merged = {**target, **siblings}
        if "description" in target and "description" in siblings:
            merged["description"] = f"{siblings['description']}\n\n{target['description']}"
        return _resolve(merged, defs)
    if "allOf" in node:
        (only,) = node["allOf"]
        siblings = {key: value for key, value in node.items() if key != "allOf"}
        return _resolve({**only, **siblings}, defs)
    if "anyOf" in node and not node.get("x-kubernetes-int-or-string"):
        branches = [branch for branch in node["anyOf"] if branch != {"type": "null"}]
        if len(branches) != 1:
            raise ValueError(f"a CRD schema cannot express this union: {node['anyOf']}")
        nullable = len(branches) < len(node["anyOf"])
        siblings = {key: value for key, value in node.items() if key != "anyOf"}
        merged = _resolve({**_resolve(branches[0], defs), **siblings}, defs)
        # An optional field that defaults to null is simply absent; only a field that may be
        # set to null *instead of* a real default needs to be nullable.
        if nullable and merged.get("default") is not None:
            merged["nullable"] = True
        if "default" in merged and merged["default"] is None:
            del merged["default"]
        return merged
    return node


def _scalar_text(value: str | float) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return str(value).lower() if isinstance(value, bool) else str(value)


def _prose(text: str) -> str:
    """Docstring text as prose: lines of a paragraph joined, paragraphs kept apart."""
    paragraphs = (" ".join(part.split()) for part in _PARAGRAPH.split(text.strip()))
    return "\n\n".join(paragraphs)
