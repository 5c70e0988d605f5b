"""``prom://<query>?start=..&end=..`` names a Prometheus range query as a trace."""

from __future__ import annotations

import pytest

from ebbtide.scaling.load_source import RangeQuery, parse_prom_uri

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        pytest.param(
            'prom://sum(rate(http_requests_total{service="web"}[1m]))'
            "?start=2024-01-01T00:00:00Z&end=2024-01-02T00:00:00Z",
            RangeQuery('sum(rate(http_requests_total{service="web"}[1m]))', 1704067200.0, 1704153600.0),
            id="ISO times",
        ),
        pytest.param(
            "prom://up?start=1700000000&end=1700003600&step=30",
            RangeQuery("up", 1700000000.0, 1700003600.0, 30.0),
            id="Unix times and a step",
        ),
        pytest.param(
            "prom://sum(rate(x%3Fy[5m]))?start=0&end=60",
            RangeQuery("sum(rate(x?y[5m]))", 0.0, 60.0),
            id="percent-encoded query",
        ),
    ],
)
def test_parses(uri: str, expected: RangeQuery) -> None:
    assert parse_prom_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        pytest.param("prom://up", "expected prom://<query>?start=<time>&end=<time>", id="no range"),
        pytest.param("prom://up?start=0", "missing end", id="no end"),
        pytest.param("prom://up?end=0", "missing start", id="no start"),
        pytest.param("prom://up?start=60&end=0", "end must be after start", id="backwards"),
        pytest.param("prom://up?start=0&end=60&step=0", "step must be positive", id="zero step"),
        pytest.param("prom://up?start=soon&end=60", "neither ISO 8601", id="bad time"),
    ],
)
def test_refuses(uri: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_prom_uri(uri)
    assert message in str(raised.value)
