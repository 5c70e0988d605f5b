"""The manifests the demo applies are valid objects and fit what the demo expects of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ebbtide.api import FairQueue, ScalingPolicy
from ebbtide.api.fairqueue_vocabulary import QUEUE_LABEL
from ebbtide.demo.exporter import LOAD_METRIC

DEMO = Path(__file__).resolve().parents[3] / "examples" / "demo"


def documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEMO / name).read_text()) if d]


def test_the_policy_is_valid_and_reads_the_demo_load() -> None:
    (document,) = documents("scalingpolicy-web.yaml")
    policy = ScalingPolicy.model_validate(document)
    assert LOAD_METRIC in policy.spec.metric.query
    assert policy.spec.target_ref.name == "web"
    # The forecast must reach past the pods' start-up time (minReadySeconds in the demo).
    (startup,) = documents("web-startup-time.yaml")
    assert policy.spec.prediction.horizon.total_seconds() >= startup["spec"]["minReadySeconds"]


def test_the_queues_share_one_cohort_with_unequal_weights() -> None:
    queues = [FairQueue.model_validate(d) for d in documents("fairqueues.yaml")]
    assert len({q.spec.cohort for q in queues}) == 1
    assert sorted(q.spec.weight for q in queues) == [1, 3]
    assert all(q.spec.capacity is not None for q in queues)


def test_the_batch_job_is_queued_and_simulated() -> None:
    (job,) = documents("batch-job.yaml")
    assert QUEUE_LABEL in job["metadata"]["labels"]
    template = job["spec"]["template"]
    assert "ebbtide.io/simulated-duration" in template["metadata"]["annotations"]
    assert template["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "1"


def test_the_cache_deployments_go_to_the_extender_with_one_key_each() -> None:
    keys = []
    for deployment in documents("affinity-deployments.yaml"):
        template = deployment["spec"]["template"]
        assert template["spec"]["schedulerName"] == "ebbtide-scheduler"
        keys.append(template["metadata"]["labels"]["ebbtide.io/affinity-key"])
    assert len(keys) == len(set(keys)) == 2
