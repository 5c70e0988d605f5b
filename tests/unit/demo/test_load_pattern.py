"""The demo's load pattern: quiet, ramp, plateau, fall, quiet, compressed into the duration."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebbtide.demo.pattern import LoadPattern


def test_phases_tile_the_duration_in_order() -> None:
    pattern = LoadPattern(duration=360)
    phases = pattern.phases()
    assert [p.name for p in phases] == ["quiet", "ramp", "plateau", "fall", "after"]
    assert phases[0].start == 0
    assert phases[-1].end == pytest.approx(360)
    for before, after in itertools.pairwise(phases):
        assert before.end == after.start


def test_load_is_quiet_then_ramps_to_the_peak_and_falls_back() -> None:
    pattern = LoadPattern(duration=360, base=60, peak=600)
    ramp, plateau, fall = pattern.phase("ramp"), pattern.phase("plateau"), pattern.phase("fall")
    assert pattern.value(0) == 60
    assert pattern.value(ramp.start) == 60
    assert pattern.value((ramp.start + ramp.end) / 2) == pytest.approx(330)
    assert pattern.value(plateau.start) == 600
    assert pattern.value(fall.start) == 600
    assert pattern.value(fall.end) == 60
    assert pattern.value(359) == 60


def test_before_the_start_and_after_the_end_the_load_is_quiet() -> None:
    pattern = LoadPattern(duration=120, base=10, peak=100)
    assert pattern.value(-5) == 10
    assert pattern.value(500) == 10


def test_a_shorter_run_shows_the_same_shape_faster() -> None:
    long, short = LoadPattern(duration=360), LoadPattern(duration=120)
    for share in (0.05, 0.2, 0.45, 0.52, 0.6, 0.9):
        assert short.value(share * 120) == pytest.approx(long.value(share * 360))


@given(st.floats(min_value=-100, max_value=1000, allow_nan=False))
def test_load_stays_between_base_and_peak(elapsed: float) -> None:
    pattern = LoadPattern(duration=360, base=60, peak=600)
    assert 60 <= pattern.value(elapsed) <= 600


def test_the_ramp_only_rises() -> None:
    pattern = LoadPattern(duration=360)
    ramp = pattern.phase("ramp")
    values = [pattern.value(ramp.start + i) for i in range(int(ramp.end - ramp.start))]
    assert values == sorted(values)


@pytest.mark.parametrize(("duration", "base", "peak"), [(0, 1, 2), (-1, 1, 2), (60, 5, 1), (60, -1, 2)])
def test_impossible_patterns_are_refused(duration: float, base: float, peak: float) -> None:
    with pytest.raises(ValueError):
        LoadPattern(duration=duration, base=base, peak=peak)


def test_an_unknown_phase_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        LoadPattern(duration=60).phase("lunch")
