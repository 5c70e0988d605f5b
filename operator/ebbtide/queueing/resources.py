"""Per-resource limits of a queue, and the resources fair sharing weighs.

Amounts themselves are :class:`ebbtide.api.resources.Resources` (millicores and bytes, never
negative; headroom that would be negative is clamped by :meth:`Resources.saturating_sub`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ebbtide.api.resources import ResourceName, Resources
from ebbtide.errors import InvalidSnapshotError


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
        amounts = Resources.from_quantities(cpu_cores=cpu_cores, memory_bytes=memory_bytes)
        return cls(
            cpu_millis=None if cpu_cores is None else amounts.cpu_millis,
            memory_bytes=None if memory_bytes is None else amounts.memory_bytes,
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
