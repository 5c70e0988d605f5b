"""List and watch one kind of object in a background thread, handing over plain dicts.

The official client is synchronous, so each watch has its own thread. Objects stay the JSON the
API server sent (``deserialize=False``): building the client's model classes for every event of
10,000 pods would cost more than everything else the controller does with them. The JSON is
decoded with orjson, a few times faster than the standard library on the API server's objects;
a watch thread holds the interpreter lock while it decodes, so this also shortens the time the
process' other threads (an extender's requests) wait for it.

The loop: list page by page and hand the whole list over (:attr:`Informer.on_list` replaces
what the consumer knew), then watch from the list's resourceVersion, handing over each event
(:attr:`Informer.on_event`) until the server ends the watch, and watch again from the last
version seen. A 410 Gone (history compacted) lists again; any other failure (the CRD not
installed yet, a dropped connection) backs off and retries, so the thread never dies.

Batched reading (``batch_interval``): a thread that blocks for every event of a steady stream pays
a wake-up per event, which on a busy node costs several times the event's own handling. With a
batch interval, the watch thread that had to wait for an event handles it and then sleeps that
long before reading on, so the events that arrived meanwhile are read from the socket's buffer in
one go: one wake-up per batch. Events are seen up to that much later; nothing is lost or
reordered. For consumers that tolerate the delay (the extender's cache, whose assumptions stand in
for bindings not seen yet).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import orjson
from kubernetes.watch.watch import iter_resp_lines

from ebbtide.kube.errors import ApiError, GoneError, status_error, translated

logger = logging.getLogger(__name__)

Obj = Mapping[str, Any]

# A read that took longer than this waited for the network rather than reading a buffer.
WAITED_SECONDS = 0.001


class Informer:
    """One list+watch loop; :meth:`start` runs it in a daemon thread until :meth:`stop`."""

    def __init__(
        self,
        *,
        kind: str,
        list_func: Callable[..., Any],
        on_list: Callable[[list[Obj]], None],
        on_event: Callable[[str, Obj], None],
        list_kwargs: Mapping[str, Any] | None = None,
        page_size: int = 500,
        watch_timeout: int = 300,
        max_backoff: float = 10.0,
        batch_interval: float = 0.0,
    ) -> None:
        self.kind = kind
        self.on_list = on_list
        self.on_event = on_event
        self.synced = threading.Event()
        self._list_func = list_func
        self._list_kwargs = dict(list_kwargs or {})
        self._page_size = page_size
        self._watch_timeout = watch_timeout
        self._max_backoff = max_backoff
        self._batch_interval = batch_interval
        self._stopping = threading.Event()
        self._response: Any = None  # the open watch response, to shut from stop()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"ebbtide-informer-{self.kind}", daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop the loop; the watch's socket is shut so the thread does not wait for an event."""
        self._stopping.set()
        response = self._response
        if response is not None:
            try:
                response.shutdown()  # unblocks the thread's read at once
            except Exception:  # already closed: nothing to unblock
                logger.debug("watch response already closed", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        version: str | None = None
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                with translated():
                    if version is None:
                        version = self._list()
                        self.synced.set()
                    version = self._watch_from(version)
                backoff = 0.2
                continue
            except GoneError:
                logger.info("%s watch expired (410 Gone): listing again", self.kind)
                version = None
                continue
            except ApiError as error:
                logger.warning("listing/watching %s failed: %s", self.kind, error)
            except Exception as error:  # a dropped connection, a bad answer: retry, never die
                if self._stopping.is_set():
                    return
                logger.warning("listing/watching %s failed: %r", self.kind, error)
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    def _list(self) -> str:
        items: list[Obj] = []
        token: str | None = None
        while True:
            response = self._list_func(
                **self._list_kwargs,
                limit=self._page_size,
                _continue=token,
                _preload_content=False,
                _request_timeout=(10, 120),
            )
            page = orjson.loads(response.data)
            items.extend(page.get("items") or [])
            metadata = page.get("metadata") or {}
            token = metadata.get("continue")
            if not token:
                break
        self.on_list(items)
        return str(metadata.get("resourceVersion", ""))

    def _watch_from(self, version: str) -> str:
        # The watch is read line by line here rather than through kubernetes.watch.Watch, which
        # with deserialize=False fails on the ERROR event that reports a 410 Gone.
        response = self._list_func(
            **self._list_kwargs,
            watch=True,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=self._watch_timeout,
            _preload_content=False,
            # A connection that died silently must not hang the watch: bookmarks and the
            # server-side timeout guarantee traffic well within this read timeout.
            _request_timeout=(10, self._watch_timeout + 60),
        )
        self._response = response
        lines = iter_resp_lines(response)
        if self._batch_interval > 0:
            lines = read_in_batches(lines, pause=self._batch_interval, sleep=self._stopping.wait)
        try:
            for line in lines:
                if self._stopping.is_set():
                    break
                if not line:
                    continue
                event = orjson.loads(line)
                event_type, obj = event.get("type"), event.get("object")
                if not isinstance(obj, Mapping):
                    continue
                if event_type == "ERROR":
                    raise status_error(obj)
                seen = (obj.get("metadata") or {}).get("resourceVersion")
                if event_type != "BOOKMARK":
                    try:
                        self.on_event(str(event_type), obj)
                    except Exception:  # one unreadable object must not stop the watch
                        logger.exception("ignoring an unreadable %s %s event", self.kind, event_type)
                if seen:
                    version = str(seen)
        finally:
            self._response = None
            response.close()  # a half-read stream must not go back to the pool as reusable
            response.release_conn()
        return version


def read_in_batches(
    lines: Iterator[str],
    *,
    pause: float,
    sleep: Callable[[float], bool],
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[str]:
    """``lines`` unchanged, but after a line the reader had to wait for, ``sleep(pause)`` before
    reading on (once the consumer has handled it), so that what arrives meanwhile is read at once.

    ``sleep`` returns True to stop early (a stopping informer's event wait).
    """
    while True:
        asked = clock()
        line = next(lines, None)
        if line is None:
            return
        waited = clock() - asked > WAITED_SECONDS
        yield line
        if waited and sleep(pause):
            return
