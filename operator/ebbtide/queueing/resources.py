"""Exact amounts of cpu and memory, and per-resource limits.

Amounts are integers in the units Kubernetes itself counts in: millicores for cpu and bytes for
memory, so sums and comparisons never drift the way floats do. A :class:`Resources` is never
negative; headroom that would be negative (a cohort whose usage exceeds a shrunken capacity)
is clamped to zero by :meth:`Resources.saturating_sub`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Final, Literal

from ebbtide.queueing.errors import InvalidSnapshotError

ResourceName = Literal["cpu", "memory"]
RESOURCE_NAMES: Final[tuple[ResourceName, ...]] = ("cpu", "memory")


def _round_up(value: float) -> int:
    # Decimal(repr(...)) keeps the decimal the user wrote (0.1 stays 0.1, not
    # 0.1000000000000000055), so rounding up, as Kubernetes' MilliValue does, adds no spurious unit.
    if not math.isfinite(value) or value < 0:
        raise InvalidSnapshotError(f"resource amounts must be finite and >= 0, got {value!r}")
    return math.ceil(Decimal(repr(value)))


@dataclass(frozen=True, slots=True)
class Resources:
    """A non-negative amount of cpu (millicores) and memory (bytes)."""

    cpu_millis: int = 0
    memory_bytes: int = 0

    ZERO: ClassVar[Resources]

    def __post_init__(self) -> None:
        if self.cpu_millis < 0 or self.memory_bytes < 0:
            raise InvalidSnapshotError(f"resource amounts must be >= 0, got {self}")

    @classmethod
    def from_quantities(cls, *, cpu_cores: float | None, memory_bytes: float | None) -> Resources:
        """Build from the float values of Kubernetes quantities (``Quantity.as_float()``).

        ``None`` means the resource was not given and counts as zero. Fractions of a millicore
        or of a byte round up.
        """
        return cls(
            cpu_millis=0 if cpu_cores is None else _round_up(cpu_cores * 1000),
            memory_bytes=0 if memory_bytes is None else _round_up(memory_bytes),
        )

    def get(self, name: ResourceName) -> int:
        return self.cpu_millis if name == "cpu" else self.memory_bytes

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu_millis + other.cpu_millis, self.memory_bytes + other.memory_bytes)

    def saturating_sub(self, other: Resources) -> Resources:
        """``self - other`` per resource, clamped at zero."""
        return Resources(
            max(0, self.cpu_millis - other.cpu_millis),
            max(0, self.memory_bytes - other.memory_bytes),
        )

    def fits_within(self, bound: Resources) -> bool:
        """True when every resource of ``self`` is at most the same resource of ``bound``."""
        return self.cpu_millis <= bound.cpu_millis and self.memory_bytes <= bound.memory_bytes

    def is_zero(self) -> bool:
        return self.cpu_millis == 0 and self.memory_bytes == 0


Resources.ZERO = Resources()


@dataclass(frozen=True, slots=True)
class ResourceLimit:
    """An upper bound per resource; ``None`` leaves that resource unbounded."""

    cpu_millis: int | None = None
    memory_bytes: int | None = None

    UNLIMITED: ClassVar[ResourceLimit]

    def __post_init__(self) -> None:
        if (self.cpu_millis is not None and self.cpu_millis < 0) or (
            self.memory_bytes is not None and self.memory_bytes < 0
        ):
            raise InvalidSnapshotError(f"limits must be >= 0, got {self}")

    @classmethod
    def from_quantities(cls, *, cpu_cores: float | None, memory_bytes: float | None) -> ResourceLimit:
        """Build from ``Quantity.as_float()`` values; ``None`` leaves the resource unbounded."""
        return cls(
            cpu_millis=None if cpu_cores is None else _round_up(cpu_cores * 1000),
            memory_bytes=None if memory_bytes is None else _round_up(memory_bytes),
        )

    def get(self, name: ResourceName) -> int | None:
        return self.cpu_millis if name == "cpu" else self.memory_bytes

    def admits(self, amount: Resources) -> bool:
        """True when ``amount`` stays within the limit on every bounded resource."""
        return (self.cpu_millis is None or amount.cpu_millis <= self.cpu_millis) and (
            self.memory_bytes is None or amount.memory_bytes <= self.memory_bytes
        )

    def clamp(self, amount: Resources) -> Resources:
        """``amount`` lowered to the limit on every bounded resource."""
        return Resources(
            amount.cpu_millis if self.cpu_millis is None else min(amount.cpu_millis, self.cpu_millis),
            amount.memory_bytes if self.memory_bytes is None else min(amount.memory_bytes, self.memory_bytes),
        )


ResourceLimit.UNLIMITED = ResourceLimit()
