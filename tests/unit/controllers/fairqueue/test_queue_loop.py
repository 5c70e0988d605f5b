"""The admission loop: cycles never overlap, a change gets a cycle, a failing cycle does not
stop the loop, and a cycle that asks for more gets it."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ebbtide.controllers.fairqueue.loop import AdmissionLoop

WAIT = 10.0  # generous upper bound for the loop's thread to react; never a measured duration


@dataclass
class Outcome:
    more: bool = False
    plan_seconds: float = 0.0


class Cycles:
    def __init__(self, script: list[Exception | Outcome] | None = None) -> None:
        self.script = list(script or [])
        self.running = 0
        self.max_running = 0
        self.calls = 0
        self.lock = threading.Lock()
        self.called = threading.Condition(self.lock)

    def __call__(self) -> Outcome:
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            step = self.script.pop(0) if self.script else Outcome()
            if isinstance(step, Exception):
                raise step
            return step
        finally:
            with self.lock:
                self.running -= 1
                self.calls += 1
                self.called.notify_all()

    def wait_for(self, calls: int) -> bool:
        with self.lock:
            return self.called.wait_for(lambda: self.calls >= calls, timeout=WAIT)


def test_cycles_never_overlap_however_often_the_loop_is_poked() -> None:
    cycles = Cycles()
    loop = AdmissionLoop(cycle=cycles, debounce=0, resync=3600)
    loop.start()
    try:
        pokers = [threading.Thread(target=lambda: [loop.poke() for _ in range(200)]) for _ in range(4)]
        for thread in pokers:
            thread.start()
        for thread in pokers:
            thread.join()
        loop.poke()
        assert cycles.wait_for(1)
    finally:
        loop.stop()
    assert cycles.max_running == 1


def test_a_failing_cycle_is_logged_and_the_next_one_runs() -> None:
    cycles = Cycles([RuntimeError("boom"), Outcome()])
    loop = AdmissionLoop(cycle=cycles, debounce=0, resync=3600, failure_delay=0)
    loop.start()
    try:
        loop.poke()
        assert cycles.wait_for(2)
    finally:
        loop.stop()
    assert loop.cycles >= 1
    assert loop.last_error is None


def test_a_cycle_that_asks_for_more_is_followed_by_another_without_a_poke() -> None:
    cycles = Cycles([Outcome(more=True), Outcome(more=True), Outcome()])
    loop = AdmissionLoop(cycle=cycles, debounce=0, resync=3600)
    loop.start()
    try:
        loop.poke()
        assert cycles.wait_for(3)
    finally:
        loop.stop()


def test_without_changes_the_resync_runs_cycles_anyway() -> None:
    cycles = Cycles()
    loop = AdmissionLoop(cycle=cycles, debounce=0, resync=0.01)
    loop.start()
    try:
        assert cycles.wait_for(2)
    finally:
        loop.stop()
