"""What a policy is compared with in a backtest, replayed under the same conditions.

* :func:`stock_hpa`: the Kubernetes HorizontalPodAutoscaler (autoscaling/v2) with its default
  behaviour, as its documentation describes it
  (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/): the ratio of
  the load per *ready* replica to the target, no change within a 10 % tolerance, scale-down to
  the highest recommendation of the last 300 s, scale-up by at most ``max(100 %, 4 pods)`` per
  15 s. It sees the load as late as the policy does.
* :func:`oracle`: perfect foresight. It asks at every step for what the load needs over the
  next start-up delay (what it asks for now is ready then; a scale-down is immediate): the
  physical limit of any autoscaler under these conditions.

Both return the replicas asked for and the replicas ready per step, on the backtest's grid.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ebbtide.scaling.series import FloatArray
from ebbtide.scaling.simulated_replicas import SimulatedReplicas

IntArray = np.ndarray[tuple[int], np.dtype[np.int64]]

HPA_TOLERANCE = 0.1
HPA_STABILISATION = 300.0
HPA_UP_PERCENT = 100
HPA_UP_PODS = 4


def stock_hpa(
    load: FloatArray,
    *,
    step: float,
    target_per_replica: float,
    initial: int,
    min_replicas: int,
    max_replicas: int,
    metrics_lag: float,
    startup_delay: float,
) -> tuple[IntArray, IntArray]:
    """The HPA's replicas (asked for, ready) per step of ``load``."""
    count = load.size
    lag = round(metrics_lag / step)
    window = max(1, round(HPA_STABILISATION / step))
    replicas = SimulatedReplicas(ready=initial, startup_delay=startup_delay)
    recent: list[int] = []
    desired = np.empty(count, dtype=np.int64)
    ready = np.empty(count, dtype=np.int64)
    for index in range(count):
        now = index * step
        spec = replicas.count
        seen = float(load[index - lag]) if index >= lag else math.nan
        if math.isfinite(seen):
            base = max(replicas.ready(now), 1)
            ratio = seen / base / target_per_replica
            wanted = spec if abs(ratio - 1.0) <= HPA_TOLERANCE else math.ceil(ratio * base)
            wanted = min(max(wanted, min_replicas), max_replicas)
            recent = [*recent[-(window - 1) :], wanted] if window > 1 else [wanted]
            if wanted < spec:
                wanted = min(spec, max(recent))
            if wanted > spec:
                wanted = min(wanted, max(spec * (100 + HPA_UP_PERCENT) // 100, spec + HPA_UP_PODS))
            replicas.scale_to(wanted, now=now)
        desired[index] = replicas.count
        ready[index] = replicas.ready(now)
    return desired, ready


def oracle(
    load: FloatArray,
    *,
    step: float,
    target_per_replica: float,
    initial: int,
    min_replicas: int,
    max_replicas: int,
    startup_delay: float,
) -> tuple[IntArray, IntArray]:
    """Perfect foresight's replicas (asked for, ready) per step of ``load``."""
    ahead = round(startup_delay / step)
    known = np.where(np.isfinite(load), load, 0.0)
    need = np.clip(np.ceil(known / target_per_replica - 1e-9), min_replicas, max_replicas).astype(np.int64)
    padded = np.concatenate((need, np.full(ahead, need[-1], dtype=np.int64)))
    wanted = sliding_window_view(padded, ahead + 1).max(axis=1)[: load.size]
    replicas = SimulatedReplicas(ready=initial, startup_delay=startup_delay)
    desired = np.empty(load.size, dtype=np.int64)
    ready = np.empty(load.size, dtype=np.int64)
    for index, count in enumerate(wanted.tolist()):
        now = index * step
        replicas.scale_to(int(count), now=now)
        desired[index] = replicas.count
        ready[index] = replicas.ready(now)
    return desired, ready
