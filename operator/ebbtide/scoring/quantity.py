"""Resource quantities ("100m", "1.5Gi", "2e3") as the integer amounts scoring adds up.

Parsing is :class:`ebbtide.api.quantity.Quantity`'s (the grammar of Kubernetes'
``resource.ParseQuantity``); this module rounds up as Kubernetes does and memoises, because the
same few quantity strings recur across thousands of pods and nodes.
"""

from __future__ import annotations

import math
from decimal import Decimal
from functools import lru_cache

from ebbtide.api.quantity import Quantity

# Kubernetes keeps quantities in an int64; anything larger is not a real request or capacity.
_LIMIT = Decimal(2**63)


class InvalidQuantityError(ValueError):
    """The text is not a Kubernetes quantity, or its amount is out of range."""


@lru_cache(maxsize=4096)
def millicores(text: str) -> int:
    """CPU quantity in millicores, rounded up as Kubernetes' ``MilliValue`` does."""
    return _ceil(_parse(text) * 1000, text)


@lru_cache(maxsize=4096)
def whole_units(text: str) -> int:
    """Quantity in whole units (bytes for memory), rounded up as Kubernetes' ``Value`` does."""
    return _ceil(_parse(text), text)


def _parse(text: str) -> Decimal:
    try:
        return Quantity(text).value
    # A huge exponent overflows the decimal context (an ArithmeticError, not a ValueError).
    except (ValueError, ArithmeticError) as error:
        raise InvalidQuantityError(f"{text!r} is not a Kubernetes quantity") from error


def _ceil(value: Decimal, text: str) -> int:
    if not value.is_finite() or abs(value) >= _LIMIT:
        raise InvalidQuantityError(f"{text!r} is out of range")
    return math.ceil(value)
