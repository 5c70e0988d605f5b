from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from ebbtide.api.duration import FORMAT_RULE, Duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("15s", timedelta(seconds=15)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h0m0s", timedelta(hours=1)),
        ("1.5h", timedelta(minutes=90)),
        (".5s", timedelta(milliseconds=500)),
        ("2.s", timedelta(seconds=2)),
        ("250ms", timedelta(milliseconds=250)),
        ("7us", timedelta(microseconds=7)),
        ("7µs", timedelta(microseconds=7)),
        ("7μs", timedelta(microseconds=7)),
        ("1500ns", timedelta(microseconds=2)),
        ("1m30.5s", timedelta(seconds=90.5)),
        ("168h", timedelta(days=7)),
    ],
)
def test_go_duration_syntax_parses_to_timedelta(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "15", "5 m", "-5m", "+5m", "1d", "m", "1.2.3s", "5M", "1h 30m", "PT5M", "s5"]
)
def test_text_that_is_not_a_non_negative_go_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=FORMAT_RULE.message):
        parse_duration(text)


def test_durations_beyond_go_int64_nanoseconds_are_refused() -> None:
    with pytest.raises(ValueError, match="longest duration"):
        parse_duration("3000000h")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(0), "0s"),
        (timedelta(microseconds=5), "5µs"),
        (timedelta(microseconds=1500), "1.5ms"),
        (timedelta(milliseconds=250), "250ms"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(seconds=15), "15s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(minutes=5), "5m0s"),
        (timedelta(hours=1), "1h0m0s"),
        (timedelta(hours=26, seconds=1, microseconds=500_000), "26h0m1.5s"),
    ],
)
def test_format_is_gos_time_duration_string(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected


def test_negative_durations_cannot_be_formatted() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(seconds=-1))


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=100_000)))
def test_format_then_parse_gives_the_same_duration(value: timedelta) -> None:
    text = format_duration(value)
    assert FORMAT_RULE.check(text)
    assert parse_duration(text) == value


class _WithDuration(BaseModel):
    interval: Duration = timedelta(seconds=15)


def test_duration_field_parses_strings_and_dumps_the_canonical_form() -> None:
    model = _WithDuration.model_validate({"interval": "90s"})
    assert model.interval == timedelta(seconds=90)
    assert model.model_dump() == {"interval": "1m30s"}
    assert model.model_dump(mode="json") == {"interval": "1m30s"}
    assert _WithDuration().model_dump() == {"interval": "15s"}


def test_duration_field_takes_a_timedelta_from_python_code() -> None:
    assert _WithDuration(interval=timedelta(minutes=2)).interval == timedelta(minutes=2)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", FORMAT_RULE.message),
        (15, "must be a duration string such as 15s or 5m"),
        (timedelta(seconds=-1), FORMAT_RULE.message),
    ],
)
def test_duration_field_refuses_other_values(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _WithDuration.model_validate({"interval": value})


def test_duration_json_schema_carries_the_cel_format_rule() -> None:
    schema = _WithDuration.model_json_schema()["properties"]["interval"]
    assert schema["type"] == "string"
    assert schema["maxLength"] == 64
    assert schema["x-kubernetes-validations"] == [FORMAT_RULE.to_validation()]
