"""Tests that need Docker and a kind cluster: collected only with ``EBBTIDE_TEST_CLUSTER=kind``.

With the local backend they are left out at collection, not skipped (a skip fails a strict run):
the local cluster's KWOK nodes run no containers, so there is nothing for these tests to check.
They run on the same cluster as tests/e2e through its ``cluster`` fixture, imported here. pytest
keeps one instance per defining conftest, so a run of both folders enters ``provide_cluster`` twice:
the second finds the kind cluster and the processes on the host (Prometheus, KWOK) running and
reuses them, and both tear down at the end of the session.
"""

from __future__ import annotations

import os

from tests.e2e.conftest import cluster

__all__ = ["cluster"]

collect_ignore_glob = [] if os.environ.get("EBBTIDE_TEST_CLUSTER") == "kind" else ["test_*.py"]
