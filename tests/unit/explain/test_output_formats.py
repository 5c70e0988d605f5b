"""``-o table|json|yaml``: the same rows, for people and for scripts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from ebbtide.explain.output import age, render_explanation, render_rows

pytestmark = pytest.mark.unit

ROWS = [
    {"name": "a", "share": 0.123456, "pending": None},
    {"name": "longer-name", "share": 2.0, "pending": 4},
]
COLUMNS = {"NAME": "name", "SHARE": "share", "PENDING": "pending"}


def test_a_table_aligns_columns_under_upper_case_headers() -> None:
    assert render_rows(ROWS, columns=COLUMNS, output="table").splitlines() == [
        "NAME          SHARE   PENDING",
        "a             0.123   -",
        "longer-name   2       4",
    ]


def test_json_and_yaml_carry_every_field_unrounded() -> None:
    assert json.loads(render_rows(ROWS, columns=COLUMNS, output="json")) == ROWS
    assert yaml.safe_load(render_rows(ROWS, columns=COLUMNS, output="yaml")) == ROWS


def test_an_explanation_is_its_text_in_a_table_and_a_document_otherwise() -> None:
    explanation = {"name": "p", "text": "Pod ns/p waits."}
    assert render_explanation(explanation, output="table") == "Pod ns/p waits."
    assert json.loads(render_explanation(explanation, output="json")) == explanation


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(5, "5s"), (59, "59s"), (60, "1m"), (150, "2m"), (7199, "119m"), (7200, "2h"), (3 * 86400, "3d")],
)
def test_ages_read_as_kubectl_prints_them(seconds: int, expected: str) -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert age(now - timedelta(seconds=seconds), now=now) == expected
