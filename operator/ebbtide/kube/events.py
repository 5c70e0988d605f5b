"""Posting Kubernetes Events (core/v1), so ``kubectl describe`` and ``kubectl get events`` show
what the operator did and why.

Events are best effort: one that cannot be posted is logged and dropped, never retried for long
and never allowed to fail the work it reports on.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from kubernetes import client

from ebbtide.kube.answers import discard
from ebbtide.kube.call_budget import CALL_ATTEMPTS, CALL_TIMEOUT
from ebbtide.kube.retrying import with_retries

EventType = Literal["Normal", "Warning"]

#: ``source.component`` / ``reportingComponent`` of ebbtide's events.
COMPONENT = "ebbtide-operator"
#: The API server refuses longer messages.
MAX_MESSAGE = 1024

logger = logging.getLogger(__name__)
_INSTANCE = socket.gethostname()


@dataclass(frozen=True)
class ObjectRef:
    """The object an event is about (its ``involvedObject``); ``uid`` may be "" when unknown."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str = ""


def post_event(
    api_client: client.ApiClient,
    *,
    regarding: ObjectRef,
    type_: EventType,
    reason: str,
    message: str,
    now: datetime | None = None,
) -> bool:
    """Create one event about ``regarding`` (blocking); False (and a log line) if that failed."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    involved = {
        "apiVersion": regarding.api_version,
        "kind": regarding.kind,
        "namespace": regarding.namespace,
        "name": regarding.name,
    }
    if regarding.uid:
        involved["uid"] = regarding.uid
    body = {
        "metadata": {"generateName": f"{regarding.name}.", "namespace": regarding.namespace},
        "involvedObject": involved,
        "type": type_,
        "reason": reason,
        "message": message[:MAX_MESSAGE],
        "count": 1,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": _INSTANCE,
    }
    api = client.CoreV1Api(api_client)
    try:
        answer = with_retries(
            lambda: api.create_namespaced_event(
                regarding.namespace, body, _preload_content=False, _request_timeout=CALL_TIMEOUT
            ),
            attempts=CALL_ATTEMPTS,
        )
        discard(answer)
    except Exception as error:  # an event is never worth failing the round it reports on
        logger.warning("could not post event %s on %s/%s: %s", reason, regarding.kind, regarding.name, error)
        return False
    return True
