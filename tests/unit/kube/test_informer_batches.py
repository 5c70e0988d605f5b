"""Batched watch reading: after a line the reader waited for, the informer pauses before reading
on; lines already buffered follow without a pause; a stopping informer ends the stream."""

from collections.abc import Iterator

import pytest

from ebbtide.kube.informer import read_in_batches

pytestmark = pytest.mark.unit


class Stream:
    """Lines that take the given time to arrive, on a clock the test controls."""

    def __init__(self, arrivals: list[float]) -> None:
        self.now = 0.0
        self.arrivals = arrivals
        self.log: list[str] = []

    def clock(self) -> float:
        return self.now

    def lines(self) -> Iterator[str]:
        for number, wait in enumerate(self.arrivals):
            self.now += wait
            yield f"event-{number}"

    def sleep(self, seconds: float) -> bool:
        self.log.append(f"pause {seconds}")
        self.now += seconds
        return False


def test_a_line_waited_for_is_handled_then_followed_by_a_pause_and_buffered_lines_by_none() -> None:
    stream = Stream([0.5, 0.0, 0.0, 0.2, 0.0])
    for line in read_in_batches(stream.lines(), pause=0.1, sleep=stream.sleep, clock=stream.clock):
        stream.log.append(line)
    assert stream.log == [
        "event-0",
        "pause 0.1",
        "event-1",
        "event-2",
        "event-3",
        "pause 0.1",
        "event-4",
    ]


def test_a_stop_during_the_pause_ends_the_stream() -> None:
    stream = Stream([0.5, 0.0])
    lines = read_in_batches(stream.lines(), pause=0.1, sleep=lambda seconds: True, clock=stream.clock)
    assert list(lines) == ["event-0"]
