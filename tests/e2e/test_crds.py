"""The generated CRDs on the real API server: examples, docs, validation, defaults, status.

The invalid objects come from tests/e2e/invalid_objects.py, the same table the unit tests feed
to the pydantic models, so the server and the operator are shown to refuse the same objects.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import yaml
from kubernetes.client.exceptions import ApiException
from tests.e2e.invalid_objects import CASES, InvalidCase, fair_queue, scaling_policy
from tests.support.cluster import REPO, E2ECluster

from ebbtide.api import API_GROUP, API_VERSION, FairQueue, ScalingPolicy
from ebbtide.api.base import Resource

EXAMPLES = REPO / "examples"
KINDS: dict[str, type[Resource]] = {"ScalingPolicy": ScalingPolicy, "FairQueue": FairQueue}
T = TypeVar("T")


def _eventually(check: Callable[[], T | None], *, timeout: float = 60, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


class _Objects:
    """Create, read, replace and delete ebbtide objects of either kind; deletes what it made."""

    def __init__(self, cluster: E2ECluster, namespace: str) -> None:
        self.api = cluster.custom
        self.namespace = namespace
        self.created: list[tuple[str, str]] = []

    def _scope(self, kind: str) -> tuple[type[Resource], dict[str, str]]:
        resource = KINDS[kind]
        where = {"namespace": self.namespace} if resource.NAMESPACED else {}
        return resource, where

    def create(self, obj: dict[str, Any], **options: Any) -> dict[str, Any]:
        resource, where = self._scope(obj["kind"])
        call = (
            self.api.create_namespaced_custom_object
            if resource.NAMESPACED
            else self.api.create_cluster_custom_object
        )
        created: dict[str, Any] = call(
            group=API_GROUP, version=API_VERSION, plural=resource.PLURAL, body=obj, **where, **options
        )
        self.created.append((obj["kind"], created["metadata"]["name"]))
        return created

    def get(self, kind: str, name: str) -> dict[str, Any]:
        resource, where = self._scope(kind)
        call = (
            self.api.get_namespaced_custom_object
            if resource.NAMESPACED
            else self.api.get_cluster_custom_object
        )
        found: dict[str, Any] = call(
            group=API_GROUP, version=API_VERSION, plural=resource.PLURAL, name=name, **where
        )
        return found

    def replace(self, obj: dict[str, Any], *, status: bool = False) -> dict[str, Any]:
        resource, where = self._scope(obj["kind"])
        scope = "namespaced" if resource.NAMESPACED else "cluster"
        suffix = "_status" if status else ""
        call = getattr(self.api, f"replace_{scope}_custom_object{suffix}")
        replaced: dict[str, Any] = call(
            group=API_GROUP,
            version=API_VERSION,
            plural=resource.PLURAL,
            name=obj["metadata"]["name"],
            body=obj,
            **where,
        )
        return replaced

    def delete_all(self) -> None:
        for kind, name in reversed(self.created):
            resource, where = self._scope(kind)
            call = (
                self.api.delete_namespaced_custom_object
                if resource.NAMESPACED
                else self.api.delete_cluster_custom_object
            )
            try:
                call(group=API_GROUP, version=API_VERSION, plural=resource.PLURAL, name=name, **where)
            except ApiException as error:
                if error.status != 404:
                    raise


@pytest.fixture
def objects(cluster: E2ECluster, crds: list[str], namespace: str) -> Iterator[_Objects]:
    made = _Objects(cluster, namespace)
    yield made
    made.delete_all()


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _refusal(error: ApiException) -> str:
    """The API server's message of a refused request (the text kubectl prints)."""
    assert error.status is not None and 400 <= error.status < 500, error
    body = json.loads(error.body)
    return str(body.get("message", ""))


# --- the CRDs themselves -------------------------------------------------------------------------


def test_crds_register_short_names_and_the_ebbtide_category(cluster: E2ECluster, crds: list[str]) -> None:
    assert sorted(crds) == sorted(resource.crd_name() for resource in KINDS.values())
    listing = cluster.kubectl("api-resources", f"--api-group={API_GROUP}", "-o", "wide").stdout
    rows = {line.split()[0]: line.split() for line in listing.splitlines()[1:]}
    assert "sp" in rows["scalingpolicies"] and "true" in rows["scalingpolicies"]
    assert "fq" in rows["fairqueues"] and "false" in rows["fairqueues"]
    assert all("ebbtide" in row[-1] for row in rows.values()), listing


def test_kubectl_explain_shows_the_models_docs(cluster: E2ECluster, crds: list[str]) -> None:
    def explain(field: str) -> str | None:
        result = cluster.kubectl("explain", field, check=False)
        return result.stdout if result.returncode == 0 and "FIELDS:" in result.stdout else None

    prediction = _eventually(
        lambda: explain("scalingpolicy.spec.prediction"), what="the CRD's OpenAPI to be published"
    )
    for field in ("model", "horizon", "history", "seasonality"):
        assert f"  {field}\t" in prediction, field
    text = " ".join(prediction.split())
    assert "How load is forecast." in text
    assert "Set it to at least the pods' start-up time" in text
    assert "HoltWinters: exponential smoothing with trend and season" in text
    thresholds = _eventually(
        lambda: explain("scalingpolicy.spec.thresholds"), what="kubectl explain thresholds"
    )
    assert "utilisation = load / (replicas x targetPerReplica)" in " ".join(thresholds.split())
    capacity = _eventually(lambda: explain("fairqueue.spec.capacity"), what="explain capacity")
    assert "allocatable CPU and memory" in " ".join(capacity.split())


# --- examples ------------------------------------------------------------------------------------


def test_every_example_applies_cleanly(cluster: E2ECluster, objects: _Objects, namespace: str) -> None:
    # examples/ also holds configuration files of ebbtide's programs (the extender's), which are
    # not API objects: apply every manifest of the API's kinds and the workloads they scale.
    documents = [
        document
        for path in sorted(EXAMPLES.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document and document["kind"] in (*KINDS, "Deployment")
    ]
    assert {document["kind"] for document in documents} == {*KINDS, "Deployment"}
    queues = [d["metadata"]["name"] for d in documents if d["kind"] == "FairQueue"]
    objects.created.extend(("FairQueue", name) for name in queues)  # cluster-scoped: clean up

    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(documents))

    for document in documents:
        if document["kind"] not in KINDS:
            continue
        resource = KINDS[document["kind"]]
        stored = objects.get(document["kind"], document["metadata"]["name"])
        # The server's defaults and the models' defaults agree.
        assert resource.model_validate(stored).spec == resource.model_validate(document).spec

    policies = cluster.kubectl("get", "sp", "-n", namespace).stdout
    header = policies.splitlines()[0].split()
    assert header == [
        "NAME", "TARGET", "MIN", "MAX", "CURRENT", "DESIRED", "PREDICTED", "MODE", "READY", "AGE", "MESSAGE",
    ]  # fmt: skip
    assert policies.splitlines()[1].split()[:4] == ["web", "web", "2", "30"]
    queue_table = cluster.kubectl("get", "fq", *queues).stdout
    assert queue_table.splitlines()[0].split() == [
        "NAME", "WEIGHT", "ORDER", "PENDING", "ADMITTED", "SHARE", "PREEMPTED", "RECLAIMED", "READY", "AGE",
        "MESSAGE",
    ]  # fmt: skip
    everything = cluster.kubectl("get", "ebbtide", "-n", namespace, "-o", "name").stdout
    assert "scalingpolicy.ebbtide.io/web" in everything


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.kind}: {case.name}")
def test_api_server_refuses_the_invalid_object(objects: _Objects, case: InvalidCase) -> None:
    obj = copy.deepcopy(case.obj)
    if case.old is not None:
        name = _unique("transition")
        old = copy.deepcopy(case.old)
        old["metadata"]["name"] = obj["metadata"]["name"] = name
        status = old.pop("status", None)
        current = objects.create(old)
        if status is not None:
            current["status"] = status
            current = objects.replace(current, status=True)
            assert current["status"] == status
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        with pytest.raises(ApiException) as refused:
            objects.replace(obj)
    else:
        options = {"field_validation": "Strict"} if case.strict else {}
        with pytest.raises(ApiException) as refused:
            objects.create(obj, **options)
    message = _refusal(refused.value)
    assert case.server_message in message, message
    assert case.path in message, message


def test_a_malformed_duration_or_quantity_is_reported_once_at_its_field(objects: _Objects) -> None:
    # The cross-field rules that compare these values pass while a value does not parse: the
    # field's own format rule refuses it, without "type conversion error" lines beside it.
    policy = scaling_policy(
        spec__rateLimits={"scaleUp": {"maxPods": 2, "period": "abc"}},
        spec__prediction={"model": "Linear", "horizon": "xyz", "history": "1h"},
    )
    queue = fair_queue(
        spec__order="TimeSlice",
        spec__timeSlice="zz",
        spec__preemption={"minRuntime": "q"},
        spec__guaranteed={"cpu": "abc"},
        spec__limit={"cpu": "4"},
    )
    expected = {
        "ScalingPolicy": ["spec.prediction.horizon", "spec.rateLimits.scaleUp.period"],
        "FairQueue": ["spec.guaranteed.cpu", "spec.preemption.minRuntime", "spec.timeSlice"],
    }
    for obj in (policy, queue):
        with pytest.raises(ApiException) as refused:
            objects.create(obj)
        message = _refusal(refused.value)
        causes = json.loads(str(refused.value.body))["details"]["causes"]
        assert sorted(cause["field"] for cause in causes) == expected[obj["kind"]], message
        assert "conversion" not in message and "must match the regular expression" not in message


def test_unknown_fields_are_pruned_when_validation_is_not_strict(objects: _Objects) -> None:
    policy = scaling_policy(_unique("pruned"), spec__replicas=3, spec__metric__unit="rps")
    stored = objects.create(policy, field_validation="Ignore")
    assert "replicas" not in stored["spec"]
    assert "unit" not in stored["spec"]["metric"]
    assert ScalingPolicy.parse_errors(stored) == []


def test_server_defaults_are_the_models_defaults(objects: _Objects) -> None:
    minimal_policy = scaling_policy(_unique("defaults"))
    minimal_queue = {
        "apiVersion": FairQueue.group_version(),
        "kind": "FairQueue",
        "metadata": {"name": _unique("defaults")},
    }
    for minimal in (minimal_policy, minimal_queue):
        resource = KINDS[minimal["kind"]]
        stored = objects.create(minimal)
        model = resource.model_validate(stored)
        assert model.spec == resource.model_validate(minimal).spec
        # The operator's rendering of the object (canonical durations, ...) is accepted back.
        rewritten = model.to_dict() | {"metadata": stored["metadata"]}
        assert resource.model_validate(objects.replace(rewritten)).spec == model.spec


def test_a_nullable_default_can_be_switched_off(objects: _Objects) -> None:
    # A season left unset is found in the history; null says the same.
    policy = scaling_policy(
        _unique("noseason"),
        spec__prediction={"model": "Linear", "seasonality": None},
        spec__rateLimits={"scaleUp": {"maxPods": None}},
    )
    stored = objects.create(policy)
    assert stored["spec"]["prediction"].get("seasonality") is None
    assert stored["spec"]["rateLimits"]["scaleUp"]["maxPods"] is None
    parsed = ScalingPolicy.model_validate(stored).spec
    assert parsed.prediction.seasonality is None
    assert parsed.rate_limits.scale_up is not None
    assert parsed.rate_limits.scale_up.max_pods is None


def test_scale_ups_are_unpaced_unless_asked_and_an_empty_limit_is_the_hpas_pace(objects: _Objects) -> None:
    unpaced = objects.create(scaling_policy(_unique("unpaced")))
    assert "scaleUp" not in unpaced["spec"]["rateLimits"]
    paced = objects.create(scaling_policy(_unique("paced"), spec__rateLimits={"scaleUp": {}}))
    assert paced["spec"]["rateLimits"]["scaleUp"] == {"maxPods": 4, "maxPercent": 100, "period": "15s"}


def test_a_new_policy_weighs_overload_by_default_and_zero_sizes_by_the_quantile_alone(
    objects: _Objects,
) -> None:
    weighed = objects.create(scaling_policy(_unique("weighed")))
    assert weighed["spec"]["prediction"]["overloadWeight"] == 1.0
    assert weighed["spec"]["prediction"]["quantile"] == 0.95
    alone = objects.create(scaling_policy(_unique("quantile"), spec__prediction={"overloadWeight": 0}))
    assert ScalingPolicy.model_validate(alone).spec.prediction.overload_weight == 0


def test_a_server_side_apply_may_leave_the_season_to_be_found_with_null(objects: _Objects) -> None:
    # A server-side apply checks the applied object against the schema's types, so a null is
    # accepted only where the schema says the field is nullable.
    name = _unique("applied")
    policy = scaling_policy(name, spec__prediction={"model": "Auto", "seasonality": None})
    objects.api.patch_namespaced_custom_object(
        group=API_GROUP,
        version=API_VERSION,
        namespace=objects.namespace,
        plural=ScalingPolicy.PLURAL,
        name=name,
        body=policy,
        field_manager="e2e",
        _content_type="application/apply-patch+yaml",
    )
    objects.created.append(("ScalingPolicy", name))
    stored = objects.get("ScalingPolicy", name)
    assert stored["spec"]["prediction"].get("seasonality") is None
    assert ScalingPolicy.model_validate(stored).spec.prediction.seasonality is None


# --- status --------------------------------------------------------------------------------------


def test_status_is_written_only_through_the_status_subresource(objects: _Objects) -> None:
    policy = scaling_policy(_unique("status"))
    policy["status"] = {"currentReplicas": 7}
    created = objects.create(policy)
    assert "status" not in created, "status was written on create"

    created["status"] = {"currentReplicas": 7}
    replaced = objects.replace(created)
    assert "status" not in replaced, "status was written through the main resource"
    generation = replaced["metadata"]["generation"]

    status = {
        "observedGeneration": generation,
        "currentReplicas": 3,
        "desiredReplicas": 5,
        "load": 420.5,
        "predictedLoad": 480.0,
        "model": "HoltWinters",
        "lastScaleTime": "2026-01-01T12:00:00Z",
        "lastDecision": {
            "time": "2026-01-01T12:00:00Z",
            "replicas": 5,
            "reason": "ScaleUpPredicted",
            "message": "forecast 480 req/s in 3m",
        },
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Scaling",
                "message": "",
                "lastTransitionTime": "2026-01-01T12:00:00Z",
            }
        ],
    }
    replaced["status"] = status
    replaced["spec"]["maxReplicas"] = 99
    written = objects.replace(replaced, status=True)
    assert written["status"] == status
    assert written["spec"]["maxReplicas"] == 10, "spec was changed through the status subresource"
    assert written["metadata"]["generation"] == generation
    assert ScalingPolicy.model_validate(written).status.last_decision is not None

    written["status"]["currentReplicas"] = -1
    with pytest.raises(ApiException) as refused:
        objects.replace(written, status=True)
    assert "status.currentReplicas" in _refusal(refused.value)


def test_queue_status_quantities_are_validated(objects: _Objects) -> None:
    queue = objects.create(fair_queue(_unique("usage")))
    queue["status"] = {"pending": 2, "admitted": 1, "usage": {"cpu": "1500m", "memory": "2Gi"}}
    written = objects.replace(queue, status=True)
    usage = FairQueue.model_validate(written).status.usage
    assert usage is not None and usage.cpu is not None and usage.cpu.as_float() == 1.5
    written["status"]["usage"]["cpu"] = "lots"
    with pytest.raises(ApiException) as refused:
        objects.replace(written, status=True)
    assert "must be a non-negative quantity" in _refusal(refused.value)
