"""Following a namespace's objects from a test thread, through API server and etcd outages.

A watch that breaks resumes from the last resourceVersion seen; when the API server no longer
has it (410 Gone, e.g. after a restart empties its watch cache), the objects are listed afresh
first, so every object's latest state is seen even if an intermediate one was missed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import watch

Obj = dict[str, Any]


class FollowedObjects:
    """Calls ``seen(obj)`` for every object listed and every object a watch event carries."""

    def __init__(self, list_func: Callable[..., Any], namespace: str, seen: Callable[[Obj], None]) -> None:
        self._list = list_func
        self._namespace = namespace
        self._seen = seen
        self._watch = watch.Watch()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._watch.stop()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        version: str | None = None
        while not self._stopping.is_set():
            try:
                if version is None:
                    version = self._list_all()
                for event in self._watch.stream(
                    self._list,
                    self._namespace,
                    resource_version=version,
                    timeout_seconds=600,
                    deserialize=False,
                ):
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        version = None  # 410 Gone: list again
                        break
                    version = obj.get("metadata", {}).get("resourceVersion", version)
                    self._seen(obj)
            except Exception:
                if self._stopping.is_set():
                    return
                version = None  # the API server is down or forgot the version: list again
                self._stopping.wait(0.5)

    def _list_all(self) -> str:
        answer = self._list(self._namespace, _preload_content=False, _request_timeout=10)
        listed = json.loads(answer.data)
        for obj in listed.get("items") or []:
            self._seen(obj)
        return str(listed["metadata"]["resourceVersion"])
