"""Events about queued workloads wait while admissions are written, then go out, in order of
recording, at the rate limit."""

from __future__ import annotations

import threading

from kubernetes import client

from ebbtide.kube.events import ObjectRef
from ebbtide.kube.queue_events import EventRecorder, QueueEvent

POD = ObjectRef(api_version="v1", kind="Pod", namespace="ns", name="p", uid="u")


class Posts:
    """What the recorder posted; ``arrived`` is set at the ``expected``-th post."""

    def __init__(self, expected: int) -> None:
        self.reasons: list[str] = []
        self.expected = expected
        self.arrived = threading.Event()

    def __call__(self, event: QueueEvent) -> None:
        self.reasons.append(event.reason)
        if len(self.reasons) == self.expected:
            self.arrived.set()


def test_events_wait_while_admissions_are_written_then_all_go_out() -> None:
    admitting = threading.Event()
    admitting.set()
    posts = Posts(expected=3)
    recorder = EventRecorder(client.ApiClient(), hold=admitting.is_set, post=posts, poll=0.01, workers=1)
    recorder.start()
    try:
        for reason in ("first", "second", "third"):
            recorder.record_about(POD, type_="Normal", reason=reason, message="m")
        # Nothing may go out while held; a short grace proves only that nothing went out early.
        assert not posts.arrived.wait(0.2)
        assert posts.reasons == []
        admitting.clear()
        assert posts.arrived.wait(10)
    finally:
        recorder.stop()
    assert posts.reasons == ["first", "second", "third"]


def test_without_a_token_an_event_waits_in_the_queue_instead_of_being_lost() -> None:
    dropped: list[None] = []
    posts = Posts(expected=2)
    # A burst of one, then one token every 50 ms: the second Event waits for its token.
    recorder = EventRecorder(
        client.ApiClient(),
        rate=20.0,
        burst=1,
        post=posts,
        poll=0.01,
        workers=1,
        on_drop=lambda: dropped.append(None),
    )
    recorder.start()
    try:
        recorder.record_about(POD, type_="Normal", reason="first", message="m")
        recorder.record_about(POD, type_="Normal", reason="second", message="m")
        assert posts.arrived.wait(10)
    finally:
        recorder.stop()
    assert (posts.reasons, dropped) == (["first", "second"], [])
