"""The membership gauges follow this replica's Lease and the members it lists."""

from __future__ import annotations

from kubernetes import client
from prometheus_client import REGISTRY

from ebbtide.controllers.scaling.ownership import ShardedOwnership
from ebbtide.kube.membership import ShardMembership
from ebbtide.sharding.membership import LeaseRecord


def gauges() -> tuple[float | None, float | None]:
    """(member, members) as the operator's /metrics shows them."""
    return (
        REGISTRY.get_sample_value("ebbtide_scaling_member"),
        REGISTRY.get_sample_value("ebbtide_scaling_members"),
    )


def test_a_replica_that_loses_its_lease_reports_it_is_no_member() -> None:
    now = [100.0]
    membership = ShardMembership(
        client.ApiClient(), group="scaling", identity="a", namespace="ns", clock=lambda: now[0]
    )
    ownership = ShardedOwnership(membership)
    records = [
        LeaseRecord(name="ebbtide-scaling-a", version="1", holder="a", duration=15),
        LeaseRecord(name="ebbtide-scaling-b", version="7", holder="b", duration=15),
    ]

    membership.shard.joined()
    membership.shard.listed(records, sent_at=now[0])
    ownership.report_membership()
    assert gauges() == (1, 2)

    membership.shard.left()
    now[0] += 20  # both Leases expired as last listed
    ownership.report_membership()
    assert gauges() == (0, 0)
