"""Membership Leases: each replica's Lease is named after it (a valid object name whatever the
identity), and a listed Lease reads as the record the shard decides on."""

from __future__ import annotations

import pytest

from ebbtide.kube.membership import lease_record, member_lease_name
from ebbtide.sharding.membership import LeaseRecord

pytestmark = pytest.mark.unit


def test_a_pods_lease_is_named_after_the_pod() -> None:
    assert member_lease_name("scaling", "rel-ebbtide-operator-6c8d9f7b5-q2w4z") == (
        "ebbtide-scaling-rel-ebbtide-operator-6c8d9f7b5-q2w4z"
    )


def test_an_identity_that_is_no_object_name_is_hashed_stably() -> None:
    name = member_lease_name("scaling", "laptop_4242")
    assert name == member_lease_name("scaling", "laptop_4242")
    assert name != member_lease_name("scaling", "laptop_4243")
    assert name.startswith("ebbtide-scaling-") and "_" not in name


def test_a_listed_lease_reads_as_its_holder_version_and_duration() -> None:
    lease = {
        "metadata": {"name": "ebbtide-scaling-a", "resourceVersion": "812"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15},
    }
    assert lease_record(lease) == LeaseRecord("ebbtide-scaling-a", "812", "a", 15.0)
    released = {"metadata": {"name": "ebbtide-scaling-b", "resourceVersion": "9"}, "spec": {}}
    assert lease_record(released).holder == ""
