"""The base classes of ebbtide's API models.

:class:`KubeModel` fixes the conventions every model shares: snake_case attributes with
camelCase aliases (either name parses; dumps use the camelCase name), field descriptions from
attribute docstrings (they become the CRD's descriptions, which ``kubectl explain`` prints),
unknown fields refused, and the model's :class:`~ebbtide.api.rules.Rule` objects enforced.

:class:`Resource` is the root of a custom resource: ``apiVersion``, ``kind``, ``metadata``,
``spec`` and ``status``, with the CRD's naming (``API_GROUP``, ``API_VERSION``, ``KIND``,
``PLURAL`` ...) as class variables controllers can use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from ebbtide.api.rules import Rule, error_messages, raise_for_rules, rules_json_schema_extra
from ebbtide.api.rules import validate_transition as _validate_transition

API_GROUP = "ebbtide.io"
API_VERSION = "v1alpha1"
GROUP_VERSION = f"{API_GROUP}/{API_VERSION}"
#: The category of every ebbtide kind: ``kubectl get ebbtide`` lists them all.
CATEGORY = "ebbtide"


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; an unset optional field is left out."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
    )

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler) -> Any:
        # An optional field whose default is None is absent when None, not null: null would
        # clear the field in a merge patch. A None that replaces a real default (a nullable
        # field, e.g. prediction.seasonality) stays null, or the API server would default it.
        data = handler(self)
        if isinstance(data, dict):
            for name, field in type(self).model_fields.items():
                if field.default is None and getattr(self, name) is None:
                    data.pop(field.alias or name, None)
                    data.pop(name, None)
        return data

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready manifest form, with camelCase keys (what the API server stores)."""
        return self.model_dump(mode="json", by_alias=True)


class KubeModel(WireModel):
    """A part of a Kubernetes object: unknown fields refused, rules checked on parse."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=rules_json_schema_extra)

    #: Cross-field rules of this model, enforced here and in the CRD (``x-kubernetes-validations``).
    RULES: ClassVar[tuple[Rule, ...]] = ()

    @model_validator(mode="after")
    def _check_rules(self) -> Any:
        raise_for_rules(self, type(self).RULES)
        return self


class StatusModel(KubeModel):
    """A status part: written by the operator, so fields this version does not know (written by
    a newer one) are ignored, not refused."""

    model_config = ConfigDict(extra="ignore")


class ObjectMeta(WireModel):
    """The subset of ``metav1.ObjectMeta`` the operator reads; other fields are kept as they are."""

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    creation_timestamp: datetime | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class PrinterColumn(BaseModel):
    """One ``additionalPrinterColumns`` entry of a CRD (what ``kubectl get`` shows)."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: Literal["integer", "number", "string", "boolean", "date"]
    json_path: str
    description: str
    priority: int = 0

    def to_crd(self) -> dict[str, Any]:
        column: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
            "description": self.description,
        }
        if self.priority:
            column["priority"] = self.priority
        return column


class Resource(KubeModel):
    """The root of a custom resource. Subclasses set the class variables and ``spec``/``status``.

    ``metadata`` is the object's ``metav1.ObjectMeta``; ``status`` is written only through the
    status subresource. Root-level ``RULES`` may read ``self.metadata.name``, ``self.spec`` and
    ``self.status`` (and ``oldSelf`` for transition rules).
    """

    model_config = ConfigDict(extra="ignore")

    API_GROUP: ClassVar[str] = API_GROUP
    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str]
    PLURAL: ClassVar[str]
    SINGULAR: ClassVar[str]
    SHORT_NAMES: ClassVar[tuple[str, ...]]
    CATEGORIES: ClassVar[tuple[str, ...]] = (CATEGORY,)
    NAMESPACED: ClassVar[bool]
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = ()

    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    """Standard object metadata."""

    @classmethod
    def crd_name(cls) -> str:
        """The CustomResourceDefinition's name, ``<plural>.<group>``."""
        return f"{cls.PLURAL}.{cls.API_GROUP}"

    @classmethod
    def group_version(cls) -> str:
        return f"{cls.API_GROUP}/{cls.API_VERSION}"

    @classmethod
    def parse_errors(cls, obj: dict[str, Any]) -> list[str]:
        """Every reason the API server would refuse ``obj`` on create, as ``path: message``.

        An empty list means the object is valid. Equivalent to catching the ValidationError of
        ``model_validate`` and rendering it with :func:`~ebbtide.api.rules.error_messages`.
        """
        try:
            cls.model_validate(obj)
        except ValidationError as exc:
            return error_messages(exc)
        return []

    def validate_update(self, old: Resource) -> None:
        """Check the transition rules (e.g. immutable fields) of this object replacing ``old``.

        Raises :class:`~ebbtide.api.rules.TransitionError`, as the API server refuses the update.
        """
        _validate_transition(self, old)


__all__ = [
    "API_GROUP",
    "API_VERSION",
    "CATEGORY",
    "GROUP_VERSION",
    "KubeModel",
    "ObjectMeta",
    "PrinterColumn",
    "Resource",
    "StatusModel",
    "WireModel",
]
