"""Load figures: reading Prometheus answers, staleness, and the background refresh."""

import asyncio
import math
from typing import Any

import numpy as np
import pytest
from requests import ConnectionError as RequestsConnectionError

from ebbtide.api.resources import NodeFacts, NodeName, Resources
from ebbtide.errors import NodeLoadError
from ebbtide.extender.load_board import LoadBoard, refresh_forever
from ebbtide.metrics.node_load import (
    LoadSample,
    NodeLoadReport,
    PrometheusNodeLoad,
    PrometheusSettings,
    samples_by_node,
)
from ebbtide.scoring.node_table import NodeTable
from ebbtide.scoring.values import Utilisation

pytestmark = pytest.mark.unit


def series(node: str | None, value: str, at: float = 1000.0) -> dict[str, Any]:
    metric = {} if node is None else {"node": node}
    return {"metric": metric, "value": [at, value]}


def test_an_instant_vector_is_read_per_node() -> None:
    samples = samples_by_node(
        [
            series("n1", "0.25"),
            series("n2", "0.5"),
            series("n2", "0.75"),  # two series for one node: the higher wins
            series(None, "0.9"),  # no node label
            series("n3", "NaN"),
            series("n4", "+Inf"),
            {"metric": {"node": "n5"}},  # no value
        ],
        node_label="node",
    )
    assert samples == {
        "n1": LoadSample(utilisation=Utilisation(0.25), sampled_at=1000.0),
        "n2": LoadSample(utilisation=Utilisation(0.75), sampled_at=1000.0),
    }


def test_an_answer_that_is_not_a_vector_is_an_error() -> None:
    with pytest.raises(NodeLoadError):
        samples_by_node({"resultType": "matrix"}, node_label="node")


class FakePrometheus:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.queries: list[str] = []

    def custom_query(self, query: str, timeout: int | None = None) -> Any:
        self.queries.append(query)
        answer = self.answers[query]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self) -> None:
        pass


def source(answers: dict[str, Any]) -> tuple[PrometheusNodeLoad, FakePrometheus]:
    fake = FakePrometheus(answers)
    settings = PrometheusSettings(url="http://prometheus", queries={"cpu": "cpu_q", "memory": "mem_q"})
    return PrometheusNodeLoad(settings, connect=lambda _: fake, clock=lambda: 2000.0), fake  # type: ignore[arg-type,return-value]


def test_every_configured_query_runs_and_is_labelled_by_resource() -> None:
    load, fake = source({"cpu_q": [series("n1", "0.5")], "mem_q": [series("n1", "0.25")]})
    report = load.fetch()
    assert fake.queries == ["cpu_q", "mem_q"]
    assert report.fetched_at == 2000.0
    assert report.samples["cpu"]["n1"].utilisation == 0.5
    assert report.samples["memory"]["n1"].utilisation == 0.25


def test_an_unreachable_prometheus_is_a_load_error() -> None:
    load, _ = source({"cpu_q": RequestsConnectionError("refused"), "mem_q": []})
    with pytest.raises(NodeLoadError, match="cpu utilisation query failed"):
        load.fetch()


TABLE = NodeTable.build(
    [
        NodeFacts(name=NodeName(name), allocatable=Resources(cpu_millis=1000, memory_bytes=1))
        for name in ("n1", "n2", "n3")
    ]
)


def report(values: dict[str, tuple[float, float]], fetched_at: float = 1000.0) -> NodeLoadReport:
    return NodeLoadReport(
        samples={
            "cpu": {
                node: LoadSample(utilisation=Utilisation(level), sampled_at=at)
                for node, (level, at) in values.items()
            }
        },
        fetched_at=fetched_at,
    )


def test_columns_follow_the_table_and_stale_or_missing_figures_are_unknown() -> None:
    board = LoadBoard(clock=lambda: 1100.0)
    board.publish(report({"n1": (0.5, 1000.0), "n2": (0.7, 900.0), "elsewhere": (0.9, 1000.0)}))
    columns = board.columns(TABLE)
    values = columns.utilisation("cpu", rows=np.array([0, 1, 2, -1]), now=1100.0, max_age=150.0)
    assert values[0] == 0.5
    assert all(math.isnan(value) for value in values[1:].tolist())  # stale, missing, outside the table
    assert board.columns(TABLE) is columns  # memoised per table and report
    assert board.age_seconds() == 100.0
    assert board.known_nodes() == 3


def test_no_figures_at_all_read_as_unknown() -> None:
    board = LoadBoard()
    values = board.columns(TABLE).utilisation("cpu", rows=np.array([0, 1]), now=0.0, max_age=10.0)
    assert np.isnan(values).all()
    assert board.age_seconds() == -1.0


class FlakySource:
    def __init__(self) -> None:
        self.calls = 0

    def fetch(self) -> NodeLoadReport:
        self.calls += 1
        if self.calls == 2:
            raise NodeLoadError("prometheus is down")
        return report({"n1": (0.8, 1000.0), "n2": (0.2, 1000.0)}, fetched_at=float(self.calls))


def test_the_background_refresh_publishes_and_keeps_old_figures_on_failure() -> None:
    board = LoadBoard()
    flaky = FlakySource()
    imbalances: list[float] = []
    failures: list[bool] = []

    async def three_rounds() -> None:
        task = asyncio.create_task(
            refresh_forever(
                board=board,
                source=lambda: flaky,
                interval=lambda: 0.001,
                table=lambda: TABLE,
                on_refresh=imbalances.append,
                on_failure=lambda: failures.append(True),
            )
        )
        while len(imbalances) < 2:  # the first and the third fetch succeed
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(three_rounds())
    assert failures == [True]
    assert imbalances[:2] == [pytest.approx(0.75), pytest.approx(0.75)]
    assert board.report is not None and board.report.fetched_at >= 3.0
