"""Kubernetes resource quantities (``500m``, ``2``, ``32Gi``, ``1.5e3``) with exact values.

A :class:`Quantity` keeps the string it was written as (what it serializes back to) and its exact
:class:`~decimal.Decimal` value (what it compares and computes with). The grammar is
``resource.ParseQuantity``'s: an optionally signed decimal number followed by a binary suffix
(``Ki`` ... ``Ei``, powers of 1024), a decimal suffix (``n u m k M G T P E``) or a decimal
exponent (``e3``, ``E-2``). The API server's CEL ``quantity()`` library parses the same strings,
so CRD rules and Python compare quantities alike.

As a pydantic field, a quantity must not be negative: every quantity in ebbtide's API is an
amount of a resource. Like Kubernetes' own ``int-or-string`` quantities, a manifest may write a
plain integer (``cpu: 8``).
"""

from __future__ import annotations

import decimal
import functools
import re
from decimal import Decimal
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from ebbtide.api.rules import Rule

#: Longest quantity string the CRD accepts (bounds CEL's cost estimate).
MAX_LENGTH = 64

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_GRAMMAR = re.compile(
    r"(?P<sign>[+-]?)(?P<number>[0-9]+(?:[.][0-9]*)?|[.][0-9]+)"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|[eE](?P<exponent>[+-]?[0-9]+)|(?P<decimal>[numkMGTPE]?))"
)
# Enough digits for any value a manifest can write exactly (Ei times a 64-character mantissa).
_CONTEXT = decimal.Context(prec=200, rounding=decimal.ROUND_HALF_EVEN)


@functools.total_ordering
class Quantity:
    """An exact Kubernetes quantity that remembers how it was written.

    ``Quantity("1Gi") == Quantity("1073741824")`` (equality and ordering are by value), while
    ``str()`` returns the original text. Raises ValueError for a string that is not a quantity.
    """

    __slots__ = ("_text", "_value")

    def __init__(self, text: str) -> None:
        self._text = text
        self._value = _parse(text)

    @classmethod
    def from_number(cls, value: Decimal | int | str, *, binary: bool = False) -> Quantity:
        """The quantity of ``value`` in a canonical form: ``500m``, ``2``, ``1500M``, or ``32Gi``.

        With ``binary``, a whole number of Ki is written with the largest exact binary suffix
        (memory); otherwise the largest exact decimal suffix is used (CPU), rounding a value finer
        than a nano-unit up to the next ``n``, as Kubernetes does.
        """
        amount = Decimal(value)
        if amount < 0:
            return cls(f"-{cls.from_number(-amount, binary=binary)}")
        if amount == 0:
            return cls("0")
        if binary and amount == amount.to_integral_value():
            for suffix, power in sorted(_BINARY.items(), key=lambda item: -item[1]):
                units, remainder = divmod(int(amount), 1024**power)
                if remainder == 0 and units > 0:
                    return cls(f"{units}{suffix}")
        for suffix, exponent in sorted(_DECIMAL.items(), key=lambda item: -item[1]):
            scaled = amount.scaleb(-exponent, _CONTEXT)
            if scaled == scaled.to_integral_value() and scaled >= 1:
                return cls(f"{int(scaled)}{suffix}")
        nanos = amount.scaleb(9, _CONTEXT).to_integral_value(rounding=decimal.ROUND_CEILING)
        return cls(f"{int(nanos)}n")

    @property
    def value(self) -> Decimal:
        """The exact value (``Quantity("500m").value == Decimal("0.5")``)."""
        return self._value

    def as_float(self) -> float:
        """The value as a float, for arithmetic where exactness does not matter."""
        return float(self._value)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Quantity({self._text!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self._value == other._value
        return NotImplemented

    def __lt__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self._value < other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate_field,
            serialization=core_schema.plain_serializer_function_ser_schema(
                str, return_schema=core_schema.str_schema()
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            "maxLength": MAX_LENGTH,
            "x-kubernetes-validations": [FORMAT_RULE.to_validation()],
        }


def _parse(text: str) -> Decimal:
    match = _GRAMMAR.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a quantity such as 500m, 2 or 32Gi")
    number = Decimal(match["number"])
    if match["binary"]:
        number = _CONTEXT.multiply(number, Decimal(1024) ** _BINARY[match["binary"]])
    elif match["exponent"] is not None:
        number = number.scaleb(int(match["exponent"]), _CONTEXT)
    else:
        number = number.scaleb(_DECIMAL[match["decimal"]], _CONTEXT)
    return -number if match["sign"] == "-" else number


def _is_non_negative(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    if not isinstance(value, str) or len(value) > MAX_LENGTH:
        return False
    try:
        return not value.startswith("-") and _parse(value) >= 0
    except ValueError:
        return False


FORMAT_RULE = Rule(
    cel="isQuantity(string(self)) && !string(self).startsWith('-')",
    message="must be a non-negative quantity such as 500m, 2 or 32Gi",
    check=_is_non_negative,
)


def _validate_field(value: Any) -> Quantity:
    if isinstance(value, Quantity):
        if value.value < 0:
            raise FORMAT_RULE.error()
        return value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"must be a quantity string or an integer, not {type(value).__name__}")
    if not FORMAT_RULE.check(value):
        raise FORMAT_RULE.error()
    return Quantity(str(value))
