"""Which member of a group owns a key: pure logic, no I/O.

The consistent-hash ring (:mod:`~ebbtide.sharding.ring`) serves the extender (pods that share an
affinity key go to one node) and the operator's replicas (each ScalingPolicy has one owning
replica). Who is a live member, and when a replica may act on a key it owns, is decided in
:mod:`~ebbtide.sharding.membership` and :mod:`~ebbtide.sharding.ownership` from values the
callers observed; the Leases themselves are read and written in :mod:`ebbtide.kube`.
"""
