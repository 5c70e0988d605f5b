"""Every ScalingPolicy and FairQueue in examples/ is valid (the e2e test applies them too)."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from ebbtide.api import FairQueue, ScalingPolicy
from ebbtide.api.base import Resource

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
KINDS: dict[str, type[Resource]] = {"ScalingPolicy": ScalingPolicy, "FairQueue": FairQueue}


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, document)
        for path in sorted(EXAMPLES.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def test_examples_hold_each_kind_and_the_workload_they_scale() -> None:
    documents = [document for _, document in _documents()]
    kinds = [document["kind"] for document in documents]
    assert kinds.count("ScalingPolicy") >= 1
    assert kinds.count("FairQueue") >= 2
    queues = [d for d in documents if d["kind"] == "FairQueue"]
    assert len({q["spec"]["cohort"] for q in queues}) < len(queues), "no two queues share a cohort"
    workloads = {(d["kind"], d.get("metadata", {}).get("name")) for d in documents}
    for policy in (d for d in documents if d["kind"] == "ScalingPolicy"):
        target = policy["spec"]["targetRef"]
        assert (target["kind"], target["name"]) in workloads


@pytest.mark.parametrize(
    ("file", "document"),
    [item for item in _documents() if item[1]["kind"] in KINDS],
    ids=lambda value: value if isinstance(value, str) else value["metadata"]["name"],
)
def test_example_is_valid(file: str, document: dict[str, Any]) -> None:
    assert KINDS[document["kind"]].parse_errors(document) == [], file
