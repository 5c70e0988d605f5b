"""This replica's membership in a group of operator replicas: its own Lease, and the others'.

Each replica holds a coordination.k8s.io/v1 Lease named after it and labelled with the group
(:data:`GROUP_LABEL`), renewed by a :class:`~ebbtide.kube.lease_election.LeaseElector` that
nobody else contends with (a restarted pod with the same name takes its Lease back at once). A
second thread lists the group's Leases every observe period and feeds a
:class:`~ebbtide.sharding.ownership.Shard`, which decides who owns what and when this replica may
act. Whenever the answer may have changed (members, own membership, settle period over, view
gone stale) the ``on_change`` callbacks run, on the listing thread: they must return quickly.

Stopping leaves first (nothing is acted on from then on), waits until a write that passed its
fence just before can have landed, and then releases the Lease, so that the others take over
at their next list instead of after the Lease expires.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Final

from kubernetes import client

from ebbtide.kube.lease_election import ElectionTiming, LeaseElector, Obj
from ebbtide.kube.leases import KubeLeases, default_identity, default_namespace
from ebbtide.sharding.membership import LeaseRecord
from ebbtide.sharding.ownership import DEFAULT_SHARD_TIMING, Shard, ShardTiming, Verdict

#: The label that puts a Lease in a group; its value names the group (e.g. ``scaling``).
GROUP_LABEL: Final = "ebbtide.io/member-of"

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,200}[a-z0-9])?$")
logger = logging.getLogger(__name__)


def member_lease_name(group: str, identity: str) -> str:
    """``ebbtide-<group>-<identity>`` when that is a valid object name (a pod name is), else the
    identity's hash in its place (``hostname_pid`` has an underscore)."""
    name = f"ebbtide-{group}-{identity}"
    if _DNS_SUBDOMAIN.match(name):
        return name
    return f"ebbtide-{group}-{hashlib.blake2b(identity.encode(), digest_size=8).hexdigest()}"


def lease_record(lease: Obj) -> LeaseRecord:
    """What the shard needs of a listed Lease."""
    metadata, spec = lease.get("metadata") or {}, lease.get("spec") or {}
    return LeaseRecord(
        name=str(metadata.get("name", "")),
        version=str(metadata.get("resourceVersion", "")),
        holder=str(spec.get("holderIdentity") or ""),
        duration=float(spec.get("leaseDurationSeconds") or DEFAULT_SHARD_TIMING.lease_duration),
    )


class ShardMembership:
    """Membership of this replica (``identity``, default :func:`default_identity`) in ``group``,
    with Leases in ``namespace`` (default :func:`default_namespace`)."""

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        group: str,
        identity: str | None = None,
        namespace: str | None = None,
        timing: ShardTiming = DEFAULT_SHARD_TIMING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.identity = identity or default_identity()
        self.namespace = namespace or default_namespace()
        self.group = group
        self.timing = timing
        election = ElectionTiming(
            lease_duration=timing.lease_duration,
            renew_deadline=timing.renew_deadline,
            retry_period=timing.retry_period,
        )
        self._leases = KubeLeases(api_client, timeout=election.request_timeout)
        self._clock = clock
        self.elector = LeaseElector(
            leases=self._leases,
            name=member_lease_name(group, self.identity),
            namespace=self.namespace,
            identity=self.identity,
            timing=election,
            on_started_leading=self._joined,
            on_stopped_leading=self._left,
            labels={GROUP_LABEL: group},
            clock=clock,
        )
        self.shard = Shard(
            identity=self.identity, timing=timing, clock=clock, is_member=lambda: self.elector.is_leader
        )
        self._listeners: list[Callable[[], None]] = []
        self._seen: object = None
        self._last_fenced = float("-inf")
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the listing thread) whenever ownership may have changed."""
        self._listeners.append(callback)

    def may_act(self, key: str) -> bool:
        """True if this replica may act on ``key`` now (:meth:`Shard.verdict` is OWNER)."""
        return self.shard.verdict(key) is Verdict.OWNER

    def fence(self, key: str) -> bool:
        """:meth:`may_act`, asked right before a write; a write that passes is waited for at
        :meth:`stop` (it may take up to ``write_budget``)."""
        allowed = self.may_act(key)
        if allowed:
            self._last_fenced = self._clock()
        return allowed

    def start(self) -> None:
        self.elector.start()
        self._thread = threading.Thread(
            target=self._observe, name=f"ebbtide-{self.group}-members", daemon=True
        )
        self._thread.start()

    def stop(self, *, timeout: float = 30.0) -> None:
        """Leave, let the last fenced write land, release the Lease. Idempotent."""
        self._stopping.set()
        self.shard.left()
        wait = self._last_fenced + self.timing.write_budget - self._clock()
        if wait > 0:
            time.sleep(wait)
        self.elector.stop(timeout=timeout)
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the listing thread -------------------------------------------------------------------

    def _observe(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            sent = self._clock()
            try:
                leases = self._leases.list(
                    namespace=self.namespace, label_selector=f"{GROUP_LABEL}={self.group}"
                )
            except Exception as error:
                failures += 1
                log = logger.warning if failures % 30 == 1 else logger.debug
                log("listing the %s members failed: %s", self.group, str(error) or repr(error))
            else:
                failures = 0
                self.shard.listed([lease_record(lease) for lease in leases], sent_at=sent)
            self._notify_if_changed()
            self._stopping.wait(self.timing.observe_period)

    def _notify_if_changed(self) -> None:
        # Any key's verdict depends only on these (and the ring over the members).
        probe = self.shard.verdict("")
        state = (self.shard.members(), Verdict.NOT_OWNER if probe is Verdict.OWNER else probe)
        if state == self._seen:
            return
        if state[0] != (self._seen[0] if isinstance(self._seen, tuple) else None):
            logger.info("%s members: %s", self.group, ", ".join(sorted(state[0])) or "none")
        self._seen = state
        for callback in self._listeners:
            callback()

    def _joined(self) -> None:
        self.shard.joined()
        logger.info(
            "%s joined the %s members; it acts after %gs", self.identity, self.group, self.timing.settle
        )

    def _left(self) -> None:
        self.shard.left()
        self._notify_if_changed()
