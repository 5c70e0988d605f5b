"""What the demo saw at one look at the cluster: plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueueSample:
    """One FairQueue at one look: its status, and the demo's own count of the Jobs it admitted.

    ``pending``, ``running`` and ``share`` come from the queue's status (None until the operator
    has written it); ``admitted`` counts the demo's Jobs the queue has admitted so far, and
    ``cpu_seconds`` the CPU-seconds they have been given (requests x time since admission).
    """

    name: str
    weight: float
    pending: int | None
    running: int | None
    share: float | None
    admitted: int
    cpu_seconds: float


@dataclass(frozen=True)
class Sample:
    """One look at the cluster, ``elapsed`` seconds after the load pattern began.

    ``load`` is what the demo's exporter served then; ``predicted_load``, ``model``, ``reason``
    and ``message`` come from the ScalingPolicy's status (the forecast for now + horizon and
    the last decision); ``desired_replicas`` is the web Deployment's replica count and
    ``ready_replicas`` how many of its pods are available. None: not reported (yet).
    """

    elapsed: float
    load: float
    predicted_load: float | None
    desired_replicas: int | None
    ready_replicas: int | None
    model: str | None
    reason: str | None
    message: str | None
    queues: tuple[QueueSample, ...] = ()
