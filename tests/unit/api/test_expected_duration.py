from datetime import timedelta

import pytest

from ebbtide.api.duration import parse_duration
from ebbtide.api.fairqueue_vocabulary import EXPECTED_DURATION_ANNOTATION
from ebbtide.api.workloads import expected_duration_from_annotations
from ebbtide.errors import InvalidDurationError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("250ms", timedelta(milliseconds=250)),
        ("2m30s", timedelta(seconds=150)),
        ("0", timedelta(0)),
        ("1500us", timedelta(microseconds=1500)),
        ("2µs", timedelta(microseconds=2)),
        ("1ns", timedelta(0)),
    ],
)
def test_go_style_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "10", "-5m", "5 m", " 10s", "1d", "abc", "m5", "1h-30m", "00"])
def test_malformed_durations_are_rejected(text: str) -> None:
    with pytest.raises(InvalidDurationError):
        parse_duration(text)


def test_absent_annotation_means_no_expected_duration() -> None:
    assert expected_duration_from_annotations({"other": "5m"}) is None


def test_present_annotation_is_parsed() -> None:
    annotations = {EXPECTED_DURATION_ANNOTATION: "2m"}
    assert expected_duration_from_annotations(annotations) == timedelta(minutes=2)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\u0665s", id="an Arabic-Indic five"),
        pytest.param("1\uff10m", id="a fullwidth zero"),
        pytest.param("\u00b2s", id="a superscript two"),
    ],
)
def test_digits_other_than_ascii_are_rejected(text: str) -> None:
    with pytest.raises(InvalidDurationError):
        expected_duration_from_annotations({EXPECTED_DURATION_ANNOTATION: text})


@pytest.mark.parametrize("text", ["9" * 60 + "h", "1" * 10_000 + "s", "99999999999999999999h"])
def test_huge_durations_are_a_clear_error_not_an_overflow(text: str) -> None:
    with pytest.raises(InvalidDurationError, match="duration"):
        expected_duration_from_annotations({EXPECTED_DURATION_ANNOTATION: text})
