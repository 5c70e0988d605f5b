"""Type-checked access to JSON-shaped Kubernetes objects.

Each function returns the value when it has the expected JSON type and raises
:class:`MalformedObjectError`, naming the field's path, when it does not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ebbtide.errors import InvalidQuantityError, MalformedObjectError


def mapping(value: object, path: str) -> Mapping[str, Any]:
    """A JSON object."""
    if not isinstance(value, Mapping):
        raise MalformedObjectError(f"{path} must be an object")
    return value


def optional_mapping(value: object, path: str) -> Mapping[str, Any]:
    """A JSON object; an absent (null) one reads as empty."""
    return {} if value is None else mapping(value, path)


def items(value: object, path: str) -> list[Any]:
    """A JSON array; an absent (null) one reads as empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedObjectError(f"{path} must be a list")
    return value


def text(value: object, path: str) -> str:
    """A JSON string."""
    if not isinstance(value, str):
        raise MalformedObjectError(f"{path} must be a string")
    return value


def string_map(value: object, path: str) -> dict[str, str]:
    """A JSON object of strings (labels, annotations); an absent one reads as empty."""
    result = dict(optional_mapping(value, path))
    if not all(isinstance(item, str) for item in result.values()):
        raise MalformedObjectError(f"{path} values must be strings")
    return result


def quantity(value: object, path: str, *, convert: Callable[[str], int]) -> int:
    """A resource quantity string converted to an integer amount."""
    try:
        return convert(text(value, path))
    except InvalidQuantityError as error:
        raise MalformedObjectError(f"{path}: {error}") from error
