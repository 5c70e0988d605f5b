"""One round of a policy, wired to fakes of its I/O: what it writes, scales and announces."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from tests.unit.controllers.scaling.scaling_builders import T0, spec_dict

from ebbtide.api import scalingpolicy_vocabulary as why
from ebbtide.controllers.scaling.finalizer import RETRY_SECONDS
from ebbtide.controllers.scaling.loop import run_policy_loop
from ebbtide.controllers.scaling.memory import PolicyMemory
from ebbtide.controllers.scaling.round import run_round
from ebbtide.controllers.scaling.services import ScalingServices
from ebbtide.controllers.scaling.supervisor import StopFlag
from ebbtide.errors import TargetKindError
from ebbtide.kube.discovery import ScalableResource
from ebbtide.kube.finalizers import KOPF_FINALIZER
from ebbtide.kube.hpa import TargetKey
from ebbtide.kube.scale import ScaleReading
from ebbtide.scaling.series import LoadSeries, ReadFailure

pytestmark = pytest.mark.unit

NOW = T0.timestamp()
DEPLOYMENTS = ScalableResource(group="apps", version="v1", plural="deployments", kind="Deployment")


@dataclass
class FakeSource:
    reading: LoadSeries | ReadFailure = field(default_factory=lambda: LoadSeries.from_pairs([(NOW, 45.0)]))
    reads: int = 0

    async def read(self, **_: Any) -> LoadSeries | ReadFailure:
        self.reads += 1
        return self.reading

    def forget(self, key: object) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class FakeResolver:
    problem: Exception | None = None

    def known(self, *, api_version: str, kind: str) -> ScalableResource | None:
        return None

    def resolve(self, *, api_version: str, kind: str) -> ScalableResource:
        if self.problem is not None:
            raise self.problem
        return DEPLOYMENTS


@dataclass
class World:
    """The fakes' shared state: the target's replicas, and what the round wrote and posted."""

    replicas: int | None = 1
    scale_error: Exception | None = None
    status_error: Exception | None = None
    #: False once the policy is gone: its status writes answer 404.
    policy_exists: bool = True
    writes: list[int] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    #: The finalizers taken off the policy (which an earlier version's replica puts back).
    unfinalized: list[str] = field(default_factory=list)
    source: FakeSource = field(default_factory=FakeSource)
    resolver: FakeResolver = field(default_factory=FakeResolver)
    hpas: dict[TargetKey, list[str]] = field(default_factory=dict)


@dataclass
class FakeCluster:
    """The round's port to Kubernetes, answering from and recording into the world."""

    world: World

    def cached_scale(self, resource: ScalableResource, *, namespace: str, name: str) -> Any:
        return None

    def close(self) -> None:
        pass

    def read_scale(self, resource: ScalableResource, *, namespace: str, name: str) -> Any:
        if self.world.replicas is None:
            return None
        replicas = self.world.replicas
        return ScaleReading(replicas=replicas, observed=replicas, selector="app=web", uid="u-1")

    def write_replicas(
        self, resource: Any, *, namespace: str, name: str, replicas: int, fence: Callable[[], bool]
    ) -> Any:
        assert fence()
        if self.world.scale_error is not None:
            raise self.world.scale_error
        self.world.writes.append(replicas)
        self.world.replicas = replicas
        return ScaleReading(replicas=replicas, observed=replicas, selector="app=web", uid="u-1")

    def patch_status(self, *, status: dict[str, Any], **_: Any) -> bool:
        if self.world.status_error is not None:
            raise self.world.status_error
        if not self.world.policy_exists:
            return False
        self.world.statuses.append(status)
        return True

    def post_event(self, *, regarding: Any, type_: str, reason: str, message: str) -> bool:
        self.world.events.append((regarding.kind, reason, message))
        return True

    def remove_finalizer(self, *, metadata: Mapping[str, Any], finalizer: str) -> bool:
        self.world.unfinalized.append(finalizer)
        return True


@pytest.fixture
def world() -> World:
    return World()


def body(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "ns", "uid": "p-1", "generation": 4},
        "spec": spec_dict(**spec),
        "status": status or {},
    }


def services_of(world: World) -> ScalingServices:
    return ScalingServices(
        api_client=None,  # type: ignore[arg-type]
        source=world.source,  # type: ignore[arg-type]
        resolver=world.resolver,  # type: ignore[arg-type]
        cluster=FakeCluster(world),
    )


def run(
    world: World, policy: dict[str, Any], memory: PolicyMemory | None = None, *, now: float = NOW
) -> PolicyMemory:
    memory = memory or PolicyMemory(namespace="ns", name="web", uid="p-1")
    services = services_of(world)
    try:
        asyncio.run(
            run_round(
                services=services, memory=memory, body=policy, hpa_targets=world.hpas, clock=lambda: now
            )
        )
    finally:
        services.kube_pool.shutdown()
    return memory


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in status["conditions"] if c["type"] == type_), {})


def test_an_active_policy_scales_to_the_absolute_count_and_announces_it(world: World) -> None:
    run(world, body())
    assert world.writes == [5]
    status = world.statuses[-1]
    assert (status["currentReplicas"], status["desiredReplicas"], status["observedGeneration"]) == (5, 5, 4)
    assert status["lastScaleTime"] == "2026-01-01T12:00:00Z"
    assert status["lastDecision"]["reason"] == "ScaleUpOnLoad"
    assert condition(status, why.READY)["status"] == "True"
    assert [(kind, reason) for kind, reason, _ in world.events] == [
        ("ScalingPolicy", "ScaleUpOnLoad"),
        ("Deployment", "ScaleUpOnLoad"),
    ]


def test_dry_run_never_writes_the_target(world: World) -> None:
    memory = run(world, body(mode="DryRun"))
    run(world, body(mode="DryRun"), memory, now=NOW + 2)
    assert world.writes == []
    status = world.statuses[-1]
    assert (status["currentReplicas"], status["desiredReplicas"]) == (1, 5)
    assert condition(status, why.SCALING_ACTIVE)["reason"] == why.DRY_RUN
    assert [reason for _, reason, _ in world.events] == ["DryRunScaleUpOnLoad"]


def test_an_unreadable_load_holds_and_warns_once(world: World) -> None:
    world.source.reading = ReadFailure("cannot reach Prometheus at http://p:9090: connection refused")
    memory = run(world, body())
    run(world, body(), memory, now=NOW + 2)
    assert world.writes == []
    status = world.statuses[-1]
    assert status["desiredReplicas"] == 1
    assert condition(status, why.METRICS_AVAILABLE)["status"] == "False"
    assert "connection refused" in condition(status, why.METRICS_AVAILABLE)["message"]
    assert [reason for _, reason, _ in world.events] == [why.EVENT_METRICS_UNAVAILABLE]


def test_a_spec_the_models_refuse_is_reported_with_the_rule_message(world: World) -> None:
    memory = run(world, body(minReplicas=5, maxReplicas=2))
    assert memory.planner_state is None
    status = world.statuses[-1]
    ready = condition(status, why.READY)
    assert (ready["status"], ready["reason"]) == ("False", why.INVALID_SPEC)
    assert "minReplicas must be less than or equal to maxReplicas" in ready["message"]
    assert [reason for _, reason, _ in world.events] == [why.INVALID_SPEC]


def test_a_missing_target_is_reported_and_retried(world: World) -> None:
    world.replicas = None
    memory = run(world, body())
    missing = world.statuses[-1]
    assert condition(missing, why.READY)["reason"] == why.TARGET_NOT_FOUND
    run(world, body(), memory, now=NOW + 2)
    assert len(world.statuses) == 1  # nothing changed, nothing written
    world.replicas = 1
    run(world, body(), memory, now=NOW + 4)
    assert world.writes == [5]
    assert condition(world.statuses[-1], why.READY)["status"] == "True"
    assert world.events[0][1] == why.TARGET_NOT_FOUND


def test_a_status_write_that_fails_is_sent_again_though_nothing_changed(world: World) -> None:
    world.status_error = ApiException(status=500, reason="Internal Server Error")
    policy = body(minReplicas=5, maxReplicas=2)  # InvalidSpec: a status that never changes
    memory = run(world, policy)
    assert (world.statuses, world.events) == ([], [])
    assert memory.status is None
    world.status_error = None
    run(world, policy, memory, now=NOW + 2)
    assert condition(world.statuses[-1], why.READY)["reason"] == why.INVALID_SPEC
    assert [reason for _, reason, _ in world.events] == [why.INVALID_SPEC]
    run(world, policy, memory, now=NOW + 4)
    assert len(world.statuses) == 1  # written once it landed, and not again


def test_a_kind_without_scale_is_not_scalable(world: World) -> None:
    world.resolver.problem = TargetKindError("ConfigMap has no /scale subresource")
    run(world, body())
    ready = condition(world.statuses[-1], why.READY)
    assert (ready["reason"], ready["status"]) == (why.TARGET_NOT_SCALABLE, "False")
    assert "no /scale" in ready["message"]


def test_a_refused_scale_leaves_the_planner_memory_as_it_was(world: World) -> None:
    world.scale_error = ApiException(status=403, reason="Forbidden")
    memory = run(world, body())
    assert world.writes == []
    ready = condition(world.statuses[-1], why.READY)
    assert (ready["reason"], ready["status"]) == (why.SCALE_FAILED, "False")
    assert "HTTP 403" in ready["message"]
    assert memory.planner_state is not None
    assert memory.planner_state.events == ()


def test_a_restart_does_not_scale_down_at_once(world: World) -> None:
    world.replicas = 6
    world.source.reading = LoadSeries.from_pairs([(NOW, 5.0)])
    before = {"lastScaleTime": "2026-01-01T11:59:00Z", "desiredReplicas": 6}
    run(world, body(status=before))
    assert world.writes == []
    assert world.statuses[-1]["lastDecision"]["reason"] == "ScaleDownStabilising"
    assert world.statuses[-1]["lastScaleTime"] == "2026-01-01T11:59:00Z"


def test_a_horizontal_pod_autoscaler_on_the_target_is_a_conflict(world: World) -> None:
    world.hpas = {
        ("ns", "apps", "Deployment", "web"): ["HorizontalPodAutoscaler/web-hpa", "ScalingPolicy/web"]
    }
    run(world, body())
    conflict = condition(world.statuses[-1], why.AUTOSCALER_CONFLICT)
    assert (conflict["status"], conflict["reason"]) == ("True", why.HPA_FOUND)
    assert conflict["message"].startswith("HorizontalPodAutoscaler web-hpa also scales Deployment web")
    assert why.EVENT_AUTOSCALER_CONFLICT in [reason for _, reason, _ in world.events]


def test_another_policy_on_the_target_is_a_conflict_the_policy_itself_is_not(world: World) -> None:
    world.hpas = {("ns", "apps", "Deployment", "web"): ["ScalingPolicy/web"]}
    memory = run(world, body())
    assert not condition(world.statuses[-1], why.AUTOSCALER_CONFLICT)
    world.hpas = {("ns", "apps", "Deployment", "web"): ["ScalingPolicy/web", "ScalingPolicy/web-2"]}
    run(world, body(), memory)
    conflict = condition(world.statuses[-1], why.AUTOSCALER_CONFLICT)
    assert (conflict["status"], conflict["reason"]) == ("True", why.SCALING_POLICY_FOUND)
    assert conflict["message"].startswith("ScalingPolicy web-2 also scales Deployment web")


def test_a_status_whose_only_change_is_the_load_is_refreshed_once_a_minute(world: World) -> None:
    memory = run(world, body())  # scales to 5
    world.source.reading = LoadSeries.from_pairs([(NOW + 2, 46.0)])
    run(world, body(), memory, now=NOW + 2)
    world.source.reading = LoadSeries.from_pairs([(NOW + 4, 47.0)])
    run(world, body(), memory, now=NOW + 4)
    assert len(world.statuses) == 2  # the scale-up, then the first WithinTolerance
    world.source.reading = LoadSeries.from_pairs([(NOW + 70, 48.0)])
    run(world, body(), memory, now=NOW + 70)
    assert len(world.statuses) == 3
    assert world.statuses[-1]["load"] == 48.0
    world.source.reading = LoadSeries.from_pairs([(NOW + 72, 95.0)])
    run(world, body(), memory, now=NOW + 72)
    assert world.statuses[-1]["desiredReplicas"] == 10  # a new decision is written at once


def test_a_status_write_that_finds_the_policy_gone_marks_it_gone(world: World) -> None:
    memory = run(world, body())
    assert not memory.gone
    world.policy_exists = False
    run(world, body(), memory, now=NOW + 2)
    assert memory.gone


def test_a_loop_ends_by_itself_once_a_round_finds_its_policy_gone(world: World) -> None:
    # No DELETED event may ever come (the watch listed again meanwhile): the loop must end anyway.
    world.policy_exists = False
    services = services_of(world)

    async def no_sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    async def scenario() -> None:
        loop = run_policy_loop(
            services=services, body=body(), stopped=StopFlag(), hpa_targets=world.hpas, sleep=no_sleep
        )
        await asyncio.wait_for(loop, timeout=60)

    try:
        asyncio.run(scenario())
    finally:
        services.kube_pool.shutdown()
    assert world.writes == [5]  # the round ran, then the loop ended


@dataclass
class RoundsDone:
    """A loop's stop flag that is set once the world has seen ``rounds`` rounds."""

    world: World
    rounds: int

    def __bool__(self) -> bool:
        return self.world.source.reads >= self.rounds


def run_loop(world: World, policy: dict[str, Any], *, rounds: int, seconds_per_sleep: float) -> None:
    """Run the policy's loop for ``rounds`` rounds, each sleep instant but ``seconds_per_sleep``
    on the loop's clock."""
    services = services_of(world)
    now = [NOW]

    async def sleep(seconds: float) -> None:
        now[0] += seconds_per_sleep
        await asyncio.sleep(0)

    async def scenario() -> None:
        loop = run_policy_loop(
            services=services,
            body=policy,
            stopped=RoundsDone(world, rounds),
            hpa_targets=world.hpas,
            sleep=sleep,
            clock=lambda: now[0],
        )
        await asyncio.wait_for(loop, timeout=60)

    try:
        asyncio.run(scenario())
    finally:
        services.kube_pool.shutdown()


def earlier_versions_policy() -> dict[str, Any]:
    policy = body()
    policy["metadata"]["finalizers"] = ["example.com/other", KOPF_FINALIZER]
    return policy


def test_the_owner_takes_an_earlier_versions_finalizer_off_after_a_round(world: World) -> None:
    run_loop(world, earlier_versions_policy(), rounds=1, seconds_per_sleep=1)
    assert world.unfinalized == [KOPF_FINALIZER]


def test_a_finalizer_put_back_by_an_earlier_replica_comes_off_again_a_minute_later(world: World) -> None:
    # The fake never drops it from the body: an earlier replica puts it back at once.
    run_loop(world, earlier_versions_policy(), rounds=4, seconds_per_sleep=RETRY_SECONDS / 2)
    assert world.unfinalized == [KOPF_FINALIZER] * 2


def test_a_policy_without_that_finalizer_gets_no_write_for_it(world: World) -> None:
    run_loop(world, body(), rounds=3, seconds_per_sleep=RETRY_SECONDS)
    assert world.unfinalized == []
