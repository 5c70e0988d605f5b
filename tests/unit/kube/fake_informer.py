"""An informer that does nothing by itself: the test plays its list and its events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class FakeInformer:
    """Records how it was made; the test plays the list and the events."""

    def __init__(
        self, *, on_list: Callable[[list[Any]], None], on_event: Callable[[str, Any], None], **kw: Any
    ):
        self.on_list, self.on_event, self.kwargs = on_list, on_event, kw
        self.synced = threading.Event()
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def lists(self, *objects: dict[str, Any]) -> None:
        self.on_list(list(objects))
        self.synced.set()
