"""What the extender answers, independent of HTTP: filter and prioritize on decoded requests.

Per request the work is O(candidates) array operations on an immutable snapshot; nothing here
waits for the watchers or for Prometheus. Names-only requests (``nodeCacheCapable: true``) are
resolved against the node cache; full-node requests bring their own node objects, and the cache
still supplies what is requested on each node, the hash ring and the load figures.

Unknown names are left out of prioritize answers (the scheduler adds nothing for them) and fail
the filter with a reason. Until the cache has listed nodes and pods, both verbs answer 503
(:class:`NotReadyError`): with ``ignorable: true`` the scheduler then schedules without ebbtide
rather than on an empty view.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from ebbtide.api.resources import NodeName, Resources
from ebbtide.errors import BadRequestError, MalformedObjectError, NotReadyError
from ebbtide.extender.config import ScoringSettings
from ebbtide.extender.load_board import LoadBoard
from ebbtide.extender.protocol import (
    ExtenderArgs,
    PriorityEncoder,
    encode_filter_names,
    encode_filter_nodes,
    encode_priorities,
)
from ebbtide.extender.request_view import RequestView, RequestViews
from ebbtide.extender.telemetry import Telemetry
from ebbtide.scoring import reasons, scorer
from ebbtide.scoring.kube_objects import read_pod
from ebbtide.scoring.node_table import NodeTable, gather
from ebbtide.scoring.overload import overloaded
from ebbtide.scoring.profiles import ScoringProfile
from ebbtide.scoring.snapshot import ClusterSnapshot
from ebbtide.scoring.values import PodFacts

logger = logging.getLogger(__name__)

# Past this many equally top-scored nodes an assumed share is too thin to change any score.
MAX_ASSUMED_NODES = 16
# Unknown profile names are logged once each, up to this many (the annotation is user input).
_MAX_REMEMBERED_UNKNOWN_PROFILES = 256


class ClusterSource(Protocol):
    """The node cache as the service sees it (``ebbtide.kube.node_cache.NodeCache``)."""

    def snapshot(self) -> ClusterSnapshot: ...

    def assume(self, *, uid: str, nodes: Sequence[NodeName], requests: Resources) -> None: ...


class ExtenderService:
    """Answers filter and prioritize from the node cache, the load board and the current config."""

    def __init__(
        self,
        *,
        cluster: ClusterSource,
        loads: LoadBoard,
        settings: Callable[[], ScoringSettings],
        telemetry: Telemetry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._cluster = cluster
        self._loads = loads
        self._settings = settings
        self._telemetry = telemetry
        self._clock = clock
        self._encoder: PriorityEncoder | None = None
        self._views = RequestViews()
        self._unknown_profiles: set[str] = set()

    def prioritize(self, args: ExtenderArgs) -> bytes:
        """A ``HostPriorityList`` body: scores 0..10 for the candidates the extender knows."""
        snapshot, settings, pod = self._prepare(args)
        view = self._views.view(args, snapshot.table)
        candidates = self._candidates(snapshot, view, settings)
        profile = self._profile(pod, settings)
        scores = scorer.score(
            pod=pod,
            candidates=candidates,
            ring=snapshot.ring,
            profile=profile,
            load=settings.load,
        )
        if len(scores):
            top = np.flatnonzero(scores == scores.max())
            if len(top) <= MAX_ASSUMED_NODES:
                self._assume(pod, [view.names[position] for position in top.tolist()])
        if view.table is snapshot.table:
            return self._encoder_for(snapshot.table).encode(rows=view.rows, scores=scores)
        return encode_priorities(hosts=view.names, scores=scores)

    def filter(self, args: ExtenderArgs) -> bytes:
        """An ``ExtenderFilterResult`` body: overloaded and unknown nodes fail with a reason."""
        snapshot, settings, pod = self._prepare(args)
        view = self._views.view(args, snapshot.table)
        now = self._clock()
        utilisation = {
            resource: self._loads.columns(view.table).utilisation(
                resource, rows=view.rows, now=now, max_age=settings.max_load_age
            )
            for resource in settings.ceilings
        }
        failing = overloaded(utilisation=utilisation, ceilings=settings.ceilings)
        failed = {view.names[position]: reason for position, reason in failing.items()}
        failed.update((name, reasons.NODE_UNKNOWN) for name in view.unknown)
        self._count_filtered(overloaded_count=len(failing), unknown_count=len(view.unknown))
        passing = [i for i in range(len(view.names)) if i not in failing] if failing else None
        passing_count = len(view.names) if passing is None else len(passing)
        if passing_count == 1:  # the scheduler binds a lone survivor without prioritizing
            self._assume(pod, [view.names[0 if passing is None else passing[0]]])
        if args.nodes is not None:
            items = list(view.items) if passing is None else [view.items[i] for i in passing]
            return encode_filter_nodes(passed=items, failed=failed)
        names = list(view.names) if passing is None else [view.names[i] for i in passing]
        return encode_filter_names(passed=names, failed=failed)

    def warm(self) -> None:
        """Build what the next request would otherwise build for a new node table or report.

        Called in the background, so the first request after a node change does not pay for
        encoding entries and load columns (tens of milliseconds for thousands of nodes).
        """
        table = self._cluster.snapshot().table
        self._encoder_for(table)
        self._loads.columns(table)

    # -- steps ------------------------------------------------------------------------------

    def _prepare(self, args: ExtenderArgs) -> tuple[ClusterSnapshot, ScoringSettings, PodFacts]:
        snapshot = self._cluster.snapshot()
        if not snapshot.synced:
            raise NotReadyError("the ebbtide node cache has not synced with the cluster yet")
        try:
            pod = read_pod(args.pod)
        except MalformedObjectError as error:
            raise BadRequestError(str(error)) from error
        return snapshot, self._settings(), pod

    def _candidates(
        self, snapshot: ClusterSnapshot, view: RequestView, settings: ScoringSettings
    ) -> scorer.Candidates:
        return scorer.Candidates(
            table=view.table,
            rows=view.rows,
            requested_cpu=gather(snapshot.requested_cpu, view.cache_rows, fill=0.0),
            requested_memory=gather(snapshot.requested_memory, view.cache_rows, fill=0.0),
            cpu_utilisation=self._loads.columns(view.table).utilisation(
                "cpu", rows=view.rows, now=self._clock(), max_age=settings.max_load_age
            ),
            ring_ids=view.cache_rows,
        )

    def _profile(self, pod: PodFacts, settings: ScoringSettings) -> ScoringProfile:
        profile, known = settings.profiles.choose(pod.profile_name)
        if not known:
            self._telemetry.unknown_profiles.inc()
            name = pod.profile_name or ""
            if (
                name not in self._unknown_profiles
                and len(self._unknown_profiles) < _MAX_REMEMBERED_UNKNOWN_PROFILES
            ):
                self._unknown_profiles.add(name)
                logger.warning(
                    "pod %s/%s asks for unknown scoring profile %r; using %r",
                    pod.namespace,
                    pod.name,
                    name,
                    profile.name,
                )
        return profile

    def _assume(self, pod: PodFacts, nodes: Sequence[str]) -> None:
        if pod.uid and 0 < len(nodes) <= MAX_ASSUMED_NODES:
            self._cluster.assume(uid=pod.uid, nodes=[NodeName(node) for node in nodes], requests=pod.requests)
            self._telemetry.assumptions.inc()

    def _encoder_for(self, table: NodeTable) -> PriorityEncoder:
        encoder = self._encoder
        if encoder is not None and encoder.table is table:
            return encoder
        if encoder is not None and encoder.serves(table):
            encoder = encoder.for_table(table)  # the same names in the same rows: entries stay
        else:
            encoder = PriorityEncoder(table)
        self._encoder = encoder  # usually in warm(), ahead of the requests
        return encoder

    def _count_filtered(self, *, overloaded_count: int, unknown_count: int) -> None:
        if overloaded_count:
            self._telemetry.filtered_nodes.labels("overloaded").inc(overloaded_count)
        if unknown_count:
            self._telemetry.filtered_nodes.labels("unknown").inc(unknown_count)
