"""Human-readable renderings of amounts and shares for wait messages and status.

Amounts use Kubernetes quantity notation (``500m``, ``2``, ``1536Mi``) so a message can be
compared with the manifests a user wrote.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from ebbtide.api.resources import Resources

_BINARY_SUFFIXES: Final = (("Ti", 1024**4), ("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024))


def format_cpu(millis: int | Fraction) -> str:
    """``2000`` -> ``"2"``, ``1500`` -> ``"1500m"``; fractional millicores show two decimals."""
    if isinstance(millis, Fraction) and millis.denominator != 1:
        return f"{float(millis):.2f}m"
    whole = int(millis)
    return str(whole // 1000) if whole % 1000 == 0 else f"{whole}m"


def format_memory(num_bytes: int | Fraction) -> str:
    """The largest binary suffix that divides the amount exactly, else plain bytes."""
    if isinstance(num_bytes, Fraction) and num_bytes.denominator != 1:
        return f"{float(num_bytes):.0f}"
    whole = int(num_bytes)
    for suffix, size in _BINARY_SUFFIXES:
        if whole and whole % size == 0:
            return f"{whole // size}{suffix}"
    return str(whole)


def format_resources(amount: Resources) -> str:
    return f"cpu {format_cpu(amount.cpu_millis)}, memory {format_memory(amount.memory_bytes)}"


def format_cohort(name: str) -> str:
    # The default cohort has the empty name; say what it is rather than print ''.
    return f"cohort {name!r}" if name else "the cluster-wide cohort"
