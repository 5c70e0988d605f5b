"""Pods and Jobs as the fair queues see them: plain records read from API objects.

A record is built once per watch event, so a cycle never re-reads raw objects. Its
:class:`WorkloadState` is decided from the object alone, which is what lets the controller
rebuild its view after a restart:

* ``PENDING``: a pod carrying the ``ebbtide.io/fair-queue`` gate, or a suspended Job. Being
  gated or suspended wins over an admission annotation (a Job suspended again after admission
  waits again).
* ``ADMITTED``: not gated/suspended and annotated ``ebbtide.io/admitted-at``; holds its queue's
  capacity until it finishes.
* ``FINISHED``: a pod in phase Succeeded/Failed, a Job with a true Complete or Failed condition,
  or a still-pending workload being deleted. Holds nothing.
* ``UNMANAGED``: labelled but neither gated nor admitted (created while no webhook ran). It
  runs outside the queues and is counted as such.

Reading never fails: whatever a user put into an object, one that cannot be read becomes a
record with ``unreadable`` set, no requests, and the state its gate or suspension gives it, so it
waits with its reason (never admitted) and every other object is read as usual.

Pods whose controlling owner is a Job are never workloads of their own: the Job is. The webhook
does not gate them, and here they carry no queue (:attr:`PodRecord.job_uid` links them to it).

A pod asks for :func:`ebbtide.api.resources.pod_requests` of its spec, a Job for its pod
template's times the pods it runs at once (:func:`job_requests`). A resource nobody requests
counts as zero: a queue charges only what a workload declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from ebbtide.api.duration import parse_duration
from ebbtide.api.fairqueue_vocabulary import (
    ADMITTED_AT,
    EXPECTED_DURATION_ANNOTATION,
    PREEMPTED_AT,
    PREEMPTION,
    QUEUE_LABEL,
    QUEUE_POSITION,
    REQUEUED_AT,
    SCHEDULING_GATE,
    WAITING_REASON,
)
from ebbtide.api.resources import TERMINAL_PHASES, Resources, pod_requests
from ebbtide.errors import InvalidDurationError, MalformedObjectError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: How much of a user's value a message quotes.
_SHOWN = 300


class WorkloadState(StrEnum):
    PENDING = "Pending"
    ADMITTED = "Admitted"
    FINISHED = "Finished"
    UNMANAGED = "Unmanaged"


@dataclass(frozen=True, slots=True)
class WorkloadRecord:
    """A labelled pod or Job (``queue`` is None for a pod that is not a workload of its own).

    ``waiting_reason`` and ``queue_position`` are the annotations as last observed;
    ``problem`` says what could not be read (an invalid expected duration is ignored, and the
    waiting message mentions it); ``unreadable`` says why the object could not be read at all
    (then ``requests`` are zero and the workload is never admitted). ``other_gates`` are a pod's
    scheduling gates other than ebbtide's, in order: an admission keeps them. ``preempted_at``,
    ``preemption`` and ``requeued_at`` are the preemption annotations
    (:mod:`ebbtide.api.preemption_marks`); ``owner`` is a pod's controlling owner (apiVersion,
    kind, name, uid), if any.
    """

    kind: str
    uid: str
    namespace: str
    name: str
    resource_version: str
    queue: str | None
    state: WorkloadState
    requests: Resources
    created_at: datetime
    priority: int = 0
    expected_duration: timedelta | None = None
    admitted_at: str | None = None
    waiting_reason: str | None = None
    queue_position: str | None = None
    problem: str | None = None
    other_gates: tuple[str, ...] = ()
    unreadable: str | None = None
    preempted_at: str | None = None
    preemption: str | None = None
    requeued_at: str | None = None
    owner: tuple[str, str, str, str] | None = None


@dataclass(frozen=True, slots=True)
class PodRecord:
    """Any pod: a workload record when it is one, and what it holds on a node.

    ``active`` is true for a pod bound to a node and not terminal: it holds ``requests`` there.
    ``job_uid`` is the UID of its controlling Job, if any.
    """

    workload: WorkloadRecord
    active: bool
    job_uid: str | None


def parse_timestamp(text: str | None) -> datetime:
    """An RFC 3339 timestamp from the API (``2024-05-01T12:00:00Z``); the epoch when absent."""
    if not text:
        return _EPOCH
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def controlling_job_uid(metadata: Mapping[str, Any]) -> str | None:
    """The UID of the batch/v1 Job that controls the object, if one does."""
    for owner in metadata.get("ownerReferences") or ():
        if owner.get("controller") and owner.get("kind") == "Job" and owner.get("apiVersion") == "batch/v1":
            return str(owner.get("uid"))
    return None


def controlling_owner(metadata: Mapping[str, Any]) -> tuple[str, str, str, str] | None:
    """(apiVersion, kind, name, uid) of the object's controlling owner, if it has one."""
    for owner in metadata.get("ownerReferences") or ():
        if owner.get("controller"):
            return (
                str(owner.get("apiVersion", "")),
                str(owner.get("kind", "")),
                str(owner.get("name", "")),
                str(owner.get("uid", "")),
            )
    return None


def expected_duration_from_annotations(annotations: Mapping[str, str]) -> timedelta | None:
    """The expected duration a workload declares, or ``None`` when it declares none.

    Raises :class:`~ebbtide.errors.InvalidDurationError` when the annotation is present but
    malformed, so the caller can tell the user instead of silently sorting the workload last.
    """
    text = annotations.get(EXPECTED_DURATION_ANNOTATION)
    return None if text is None else parse_duration(text)


def job_pod_count(spec: Mapping[str, Any]) -> int:
    """How many pods a Job ``spec`` runs at once: ``parallelism`` (default 1), but never more
    than ``completions`` when that is set, because the Job controller never runs more pods than
    completions remain."""
    parallelism = spec.get("parallelism")
    count = 1 if parallelism is None else int(parallelism)
    completions = spec.get("completions")
    if completions is not None:
        count = min(count, int(completions))
    return max(0, count)


def job_requests(spec: Mapping[str, Any]) -> Resources:
    """The requests of a Job ``spec``: its pod template's
    (:func:`~ebbtide.api.resources.pod_requests`) times :func:`job_pod_count`."""
    template_spec = (spec.get("template") or {}).get("spec") or {}
    per_pod = pod_requests(template_spec, path="spec.template.spec")
    count = job_pod_count(spec)
    return Resources(per_pod.cpu_millis * count, per_pod.memory_bytes * count)


def _common(kind: str, obj: Mapping[str, Any], *, queue: str | None) -> dict[str, Any]:
    metadata = obj.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    problem = None
    try:
        duration = expected_duration_from_annotations(annotations)
    except InvalidDurationError as error:
        duration, problem = None, f"ignoring its expected duration: {shortened(str(error))}"
    return {
        "kind": kind,
        "uid": str(metadata.get("uid", "")),
        "namespace": str(metadata.get("namespace", "")),
        "name": str(metadata.get("name", "")),
        "resource_version": str(metadata.get("resourceVersion", "")),
        "queue": queue,
        "created_at": parse_timestamp(metadata.get("creationTimestamp")),
        "expected_duration": duration,
        "admitted_at": annotations.get(ADMITTED_AT),
        "waiting_reason": annotations.get(WAITING_REASON),
        "queue_position": annotations.get(QUEUE_POSITION),
        "problem": problem,
        "preempted_at": annotations.get(PREEMPTED_AT),
        "preemption": annotations.get(PREEMPTION),
        "requeued_at": annotations.get(REQUEUED_AT),
    }


def shortened(text: str) -> str:
    """``text``, cut to a length a message or an annotation can carry."""
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


def read_pod(obj: Mapping[str, Any]) -> PodRecord:
    """A pod's record. Requests are read only where they matter (workloads and bound pods).
    Never raises: see :func:`_unreadable`."""
    try:
        return _read_pod(obj)
    except Exception as error:  # anything a user put there: it must not stop reading the others
        workload = _unreadable("Pod", obj, error)
        return PodRecord(workload=workload, active=False, job_uid=None)


def read_job(obj: Mapping[str, Any]) -> WorkloadRecord:
    """A labelled Job's record. Never raises: see :func:`_unreadable`."""
    try:
        return _read_job(obj)
    except Exception as error:  # anything a user put there: it must not stop reading the others
        return _unreadable("Job", obj, error)


def _read_pod(obj: Mapping[str, Any]) -> PodRecord:
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    phase = (obj.get("status") or {}).get("phase", "")
    job_uid = controlling_job_uid(metadata)
    label = _queue_label(metadata)
    queue = None if job_uid is not None else label
    gates = [str(gate.get("name")) for gate in spec.get("schedulingGates") or ()]
    gated = SCHEDULING_GATE in gates
    deleting = metadata.get("deletionTimestamp") is not None
    active = bool(spec.get("nodeName")) and phase not in TERMINAL_PHASES
    if phase in TERMINAL_PHASES or (gated and deleting):
        state = WorkloadState.FINISHED
    elif gated:
        state = WorkloadState.PENDING
    elif (metadata.get("annotations") or {}).get(ADMITTED_AT):
        state = WorkloadState.ADMITTED
    else:
        state = WorkloadState.UNMANAGED
    relevant = active or (queue is not None and state is not WorkloadState.FINISHED)
    workload = WorkloadRecord(
        **_common("Pod", obj, queue=queue),
        state=state,
        requests=pod_requests(spec) if relevant else Resources.ZERO,
        priority=int(spec.get("priority") or 0),
        other_gates=tuple(gate for gate in gates if gate != SCHEDULING_GATE),
        owner=controlling_owner(metadata),
    )
    return PodRecord(workload=workload, active=active, job_uid=job_uid)


def job_finished(obj: Mapping[str, Any]) -> bool:
    """True when the Job has a true Complete or Failed condition."""
    return any(
        condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True"
        for condition in (obj.get("status") or {}).get("conditions") or ()
    )


def _read_job(obj: Mapping[str, Any]) -> WorkloadRecord:
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    suspended = bool(spec.get("suspend"))
    if job_finished(obj) or (suspended and metadata.get("deletionTimestamp") is not None):
        state = WorkloadState.FINISHED
    elif suspended:
        state = WorkloadState.PENDING
    elif (metadata.get("annotations") or {}).get(ADMITTED_AT):
        state = WorkloadState.ADMITTED
    else:
        state = WorkloadState.UNMANAGED
    template_spec = (spec.get("template") or {}).get("spec") or {}
    return WorkloadRecord(
        **_common("Job", obj, queue=_queue_label(metadata)),
        state=state,
        requests=job_requests(spec) if state is not WorkloadState.FINISHED else Resources.ZERO,
        priority=int(template_spec.get("priority") or 0),
    )


def _queue_label(metadata: Mapping[str, Any]) -> str | None:
    """The ``ebbtide.io/queue`` label, or None without one; raises :class:`MalformedObjectError`
    for a value that is not a string (the API server never stores one; a hostile or broken client
    object may carry it)."""
    value = (metadata.get("labels") or {}).get(QUEUE_LABEL)
    if value is not None and not isinstance(value, str):
        raise MalformedObjectError(f"metadata.labels[{QUEUE_LABEL}] is not a string: {value!r:.60}")
    return value


def _unreadable(kind: str, obj: object, error: Exception) -> WorkloadRecord:
    """The record of an object the readers could not read: identity and queue where they are
    plain strings, PENDING while ebbtide's gate or a suspension holds it (so it is never admitted
    and waits with :attr:`~ebbtide.api.fairqueue_vocabulary.WaitReason.INVALID_WORKLOAD`),
    otherwise FINISHED: it holds nothing the queues could count."""
    raw = obj if isinstance(obj, Mapping) else {}
    metadata = _mapping(raw.get("metadata"))
    spec = _mapping(raw.get("spec"))
    labels = _mapping(metadata.get("labels"))
    notes = _mapping(metadata.get("annotations"))
    queue = labels.get(QUEUE_LABEL)
    gates = spec.get("schedulingGates")
    if kind == "Pod":
        held = isinstance(gates, list) and any(_mapping(g).get("name") == SCHEDULING_GATE for g in gates)
    else:
        held = spec.get("suspend") is True
    return WorkloadRecord(
        kind=kind,
        uid=_text(metadata.get("uid")),
        namespace=_text(metadata.get("namespace")),
        name=_text(metadata.get("name")),
        resource_version=_text(metadata.get("resourceVersion")),
        queue=queue if isinstance(queue, str) else None,
        state=WorkloadState.PENDING if held else WorkloadState.FINISHED,
        requests=Resources.ZERO,
        created_at=_EPOCH,
        admitted_at=_text(notes.get(ADMITTED_AT)) or None,
        waiting_reason=_text(notes.get(WAITING_REASON)) or None,
        queue_position=_text(notes.get(QUEUE_POSITION)) or None,
        unreadable=shortened(f"{kind.lower()} cannot be read: {error}"),
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
