"""Leader election on a coordination.k8s.io/v1 Lease: work that must run in one replica at a time.

The rules are client-go's (k8s.io/client-go/tools/leaderelection), which kube-scheduler and
kube-controller-manager use:

* A candidate takes the Lease when nobody holds it (no ``holderIdentity``), when it holds it
  already, or when the Lease has not changed (same resourceVersion) for its
  ``leaseDurationSeconds`` as measured on the candidate's own monotonic clock since it first saw
  that version. ``renewTime`` is never compared
  with the local clock: it was written by another machine's.
* Every write is a replace that carries the resourceVersion just read: when two candidates race,
  the API server takes one write and answers 409 Conflict to the other.
* The leader renews every ``retry_period`` (from the start of one attempt to the start of the
  next, so slow requests do not space the renewals out). It counts itself leader only until ``renew_deadline``
  after the *start* of its last successful renewal (:attr:`LeaseElector.is_leader` reads the
  clock, so this holds even while a request hangs). A standby cannot take over before
  ``lease_duration`` after it saw that renewal, which came later; with
  ``renew_deadline < lease_duration`` the old leader has stopped before anyone else may start.
  (As in client-go, this assumes the machines' clocks run at about the same rate, not that they
  agree.)
* A leader that sees another holder, or a Lease that is gone, stops at once.
* A renewal that succeeds only after the renew deadline (the request hung) gives no leadership:
  the leader stops, and the next attempt starts a new leadership (``on_stopped_leading``, then
  ``on_started_leading``), so that whatever it guards starts afresh, as after any other gap.
* :meth:`LeaseElector.stop` releases a held Lease (clears ``holderIdentity``), so a standby takes
  over at its next attempt instead of after ``lease_duration``. The caller stops the guarded work
  first: release means "nothing runs here any more".

Why not ``kubernetes.leaderelection`` from the official client: its loops sleep with
``time.sleep`` and never return while following, so it cannot be stopped at shutdown and never
releases the Lease; its requests have no timeout, so a hung renewal can outlast the lease while
the leader still believes it leads; it measures time with the wall clock; and its ``LeaseLock``
talks through the client's global default configuration rather than a given ``ApiClient``.

Callbacks run on the elector's thread and must return quickly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Protocol

logger = logging.getLogger(__name__)

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class ElectionTiming:
    """Seconds: how long a Lease lasts unrenewed, how long a leader keeps trying to renew before
    it stops leading, and how often candidates try (client-go's and kube-scheduler's defaults)."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError(
                "leader election needs 0 < retry_period < renew_deadline < lease_duration, got "
                f"{self.retry_period}, {self.renew_deadline}, {self.lease_duration}"
            )

    @property
    def request_timeout(self) -> float:
        """The timeout of each Lease request: a few per renewal fit in the renew deadline."""
        return self.renew_deadline / 3


DEFAULT_TIMING = ElectionTiming()


class Leases(Protocol):
    """The Lease API as the elector uses it (:class:`ebbtide.kube.leases.KubeLeases` in production)."""

    def read(self, *, namespace: str, name: str) -> Obj | None:
        """The Lease, or None if there is none (404)."""

    def create(self, *, namespace: str, body: Obj) -> Obj | None:
        """The created Lease, or None if one exists already (409)."""

    def replace(self, *, namespace: str, name: str, body: Obj) -> Obj | None:
        """The replaced Lease, or None if it changed since ``body``'s resourceVersion (409) or is gone."""


class Attempt(Enum):
    HELD = "held"
    """This candidate holds the Lease now."""
    TAKEN = "taken"
    """Another candidate holds a live Lease."""
    FAILED = "failed"
    """Unknown: a write lost a race or a request failed; try again."""


def pause_before_next_attempt(
    *, retry_period: float, attempt_started: float, now: float, valid_until: float | None
) -> float:
    """Seconds to wait before the next attempt: ``retry_period`` after the last attempt started,
    never past a leader's ``valid_until`` (None for a candidate that does not lead), never < 0."""
    pause = retry_period - (now - attempt_started)
    if valid_until is not None:
        pause = min(pause, valid_until - now)
    return max(0.0, pause)


def micro_time(moment: datetime) -> str:
    """A Lease's MicroTime: RFC 3339 with microseconds, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseElector:
    """Campaigns for Lease ``namespace/name`` as ``identity`` on a thread of its own.

    ``on_started_leading`` runs when this candidate becomes leader, ``on_stopped_leading`` when it
    stops (lost, expired, or stopped); each leadership gets exactly one of each. ``labels`` are
    set on the Lease when this candidate creates it (a group of Leases can then be listed).
    """

    def __init__(
        self,
        *,
        leases: Leases,
        name: str,
        namespace: str,
        identity: str,
        timing: ElectionTiming = DEFAULT_TIMING,
        on_started_leading: Callable[[], None] = lambda: None,
        on_stopped_leading: Callable[[], None] = lambda: None,
        labels: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not identity:
            raise ValueError("a leader election identity must not be empty")
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.timing = timing
        self._leases = leases
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._labels = dict(labels or {})
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        self._leading = False
        self._valid_until = 0.0
        self._observed: tuple[str, Obj] | None = None  # the Lease's resourceVersion and spec as last seen
        self._observed_at = 0.0
        self._failures = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        """True while this candidate leads and its last renewal is within the renew deadline."""
        with self._lock:
            return self._leading and self._clock() < self._valid_until

    @property
    def holder(self) -> str | None:
        """The holder of the Lease as last seen (None: nobody, or not seen yet)."""
        return None if self._observed is None else self._observed[1].get("holderIdentity") or None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ebbtide-lease-election", daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 30.0) -> None:
        """Stop campaigning; stop leading and release the Lease if held. Idempotent."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the election thread ------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            started = self._clock()
            self.step()
            self._stopping.wait(self._pause(attempt_started=started))
        if self._leading:
            self._stop_leading("stopping")
        if self.holder == self.identity:
            self._release()

    def step(self) -> Attempt:
        """One attempt to acquire or renew, and what follows from it (the thread's loop body)."""
        started = self._clock()
        try:
            attempt = self._try_acquire_or_renew()
        except Exception as error:
            attempt = Attempt.FAILED
            self._failures += 1
            # Say it at once, then about once a minute while it lasts.
            log = logger.warning if self._failures % 30 == 1 else logger.debug
            log("lease %s/%s: %s", self.namespace, self.name, str(error) or repr(error))
        else:
            if attempt is not Attempt.FAILED:
                self._failures = 0
        if attempt is Attempt.HELD and self._clock() >= started + self.timing.renew_deadline:
            # Held, but too late to lead on: it lasted past the renew deadline. The next attempt
            # starts a leadership afresh.
            if self._leading:
                self._stop_leading(f"not renewed within {self.timing.renew_deadline:g}s")
        elif attempt is Attempt.HELD:
            with self._lock:
                became = not self._leading
                self._leading = True
                self._valid_until = started + self.timing.renew_deadline
            if became:
                logger.info("lease %s/%s acquired by %s: leading", self.namespace, self.name, self.identity)
                self._on_started()
        elif self._leading and attempt is Attempt.TAKEN:
            self._stop_leading(f"the lease is held by {self.holder!r}")
        elif self._leading and self._clock() >= self._valid_until:
            self._stop_leading(f"not renewed within {self.timing.renew_deadline:g}s")
        return attempt

    def _pause(self, *, attempt_started: float) -> float:
        """Until the next attempt: the retry period counted from the start of the last one, or
        less when a failing leader's deadline comes first (so that it stops leading, and says
        so, on time). Counted from the start, not the end: when the API server is slow (a large
        backlog's admission writes keep it busy) a renewal that takes 5 s would otherwise start
        the next one 7 s after its own start, and the leader's 10 s of validity would lapse
        before that one landed, halting admission although the Lease was never lost."""
        with self._lock:
            valid_until = self._valid_until if self._leading else None
        return pause_before_next_attempt(
            retry_period=self.timing.retry_period,
            attempt_started=attempt_started,
            now=self._clock(),
            valid_until=valid_until,
        )

    def _stop_leading(self, why: str) -> None:
        with self._lock:
            self._leading = False
            self._valid_until = 0.0
        logger.warning("lease %s/%s: %s stops leading: %s", self.namespace, self.name, self.identity, why)
        self._on_stopped()

    def _try_acquire_or_renew(self) -> Attempt:
        lease = self._leases.read(namespace=self.namespace, name=self.name)
        if lease is None:
            self._observe(None)
            if self._leading:
                # Deleted under us: another candidate may be creating it right now.
                self._stop_leading("the lease is gone")
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace, "labels": self._labels},
                "spec": self._spec(previous={}),
            }
            created = self._leases.create(namespace=self.namespace, body=body)
            if created is None:
                return Attempt.FAILED
            self._observe(created)
            return Attempt.HELD
        self._observe(lease)
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        if holder and holder != self.identity:
            duration = spec.get("leaseDurationSeconds") or self.timing.lease_duration
            if self._clock() < self._observed_at + float(duration):
                return Attempt.TAKEN
        body = {**lease, "metadata": _metadata_for_update(lease), "spec": self._spec(previous=spec)}
        replaced = self._leases.replace(namespace=self.namespace, name=self.name, body=body)
        if replaced is None:
            return Attempt.FAILED
        self._observe(replaced)
        return Attempt.HELD

    def _spec(self, *, previous: Obj) -> dict[str, Any]:
        now = micro_time(self._now())
        ours = previous.get("holderIdentity") == self.identity
        transitions = int(previous.get("leaseTransitions") or 0)
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self.timing.lease_duration)),
            "acquireTime": previous.get("acquireTime", now) if ours else now,
            "renewTime": now,
            "leaseTransitions": transitions if ours or not previous else transitions + 1,
        }

    def _observe(self, lease: Obj | None) -> None:
        """Note the Lease as read or written; any change restarts the wait for it to expire."""
        observed = None
        if lease is not None:
            version = str((lease.get("metadata") or {}).get("resourceVersion", ""))
            observed = (version, lease.get("spec") or {})
        if observed != self._observed:
            before = self.holder
            self._observed = observed
            self._observed_at = self._clock()
            if self.holder != before and self.holder not in (None, self.identity):
                logger.info("lease %s/%s is held by %s", self.namespace, self.name, self.holder)

    def _release(self) -> None:
        """Clear ``holderIdentity`` if the Lease is still ours (best effort: on failure it expires)."""
        try:
            lease = self._leases.read(namespace=self.namespace, name=self.name)
            spec = (lease or {}).get("spec") or {}
            if lease is None or spec.get("holderIdentity") != self.identity:
                return
            now = micro_time(self._now())
            released = {
                "leaseDurationSeconds": 1,
                "leaseTransitions": int(spec.get("leaseTransitions") or 0),
                "acquireTime": now,
                "renewTime": now,
            }
            body = {**lease, "metadata": _metadata_for_update(lease), "spec": released}
            if self._leases.replace(namespace=self.namespace, name=self.name, body=body) is not None:
                logger.info("lease %s/%s released by %s", self.namespace, self.name, self.identity)
        except Exception as error:
            logger.warning(
                "lease %s/%s: release failed, it expires instead: %r", self.namespace, self.name, error
            )


def _metadata_for_update(lease: Obj) -> dict[str, Any]:
    # resourceVersion stays: it makes the replace conditional. managedFields are the server's.
    metadata = lease.get("metadata") or {}
    return {key: value for key, value in metadata.items() if key != "managedFields"}
