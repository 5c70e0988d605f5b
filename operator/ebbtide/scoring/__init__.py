"""Node scoring: pure decisions for the scheduler extender.

Priority factors (:mod:`~ebbtide.scoring.factors`, :mod:`~ebbtide.scoring.node_affinity`), each
0..1 per candidate node, are combined by a weight profile (:mod:`~ebbtide.scoring.profiles`) into
the extender's integer scores 0..10 (:mod:`~ebbtide.scoring.scorer`). The filter rule lives in
:mod:`~ebbtide.scoring.overload`, the affinity-key ring in :mod:`~ebbtide.sharding.ring` (shared
with the operator's replicas) and the cluster imbalance figure in
:mod:`~ebbtide.scoring.imbalance`. Nothing here performs I/O: callers pass plain values
(:mod:`~ebbtide.scoring.values`) and an immutable
:class:`~ebbtide.scoring.snapshot.ClusterSnapshot`.
"""
