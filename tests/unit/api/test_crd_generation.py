"""The CRDs in crds/ are what the models generate, and they are valid structural schemas."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.e2e.invalid_objects import fair_queue, scaling_policy

from ebbtide.api import FairQueue, ScalingPolicy
from ebbtide.api.base import KubeModel, Resource
from ebbtide.api.crd import KINDS, crd, diff_all, file_name, render_all, write_all
from ebbtide.api.rules import Rule

REPO = Path(__file__).resolve().parents[3]
CRDS = REPO / "crds"


def test_committed_crds_match_the_models() -> None:
    diff = diff_all(CRDS)
    assert diff == "", f"crds/ is out of date: run `ebbtide crds`\n{diff}"
    assert sorted(p.name for p in CRDS.glob("*.yaml")) == sorted(render_all())


def test_the_check_finds_differences_from_the_models(tmp_path: Path) -> None:
    write_all(tmp_path)
    assert diff_all(tmp_path) == ""
    path = tmp_path / file_name(ScalingPolicy)
    path.write_text(path.read_text().replace("minReplicas", "minimumReplicas", 1))
    assert "minimumReplicas" in diff_all(tmp_path)


def _schema(resource: type[Resource]) -> dict[str, Any]:
    return crd(resource)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def _nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from _nodes(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _nodes(node["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("resource", KINDS, ids=lambda r: r.KIND)
def test_schema_is_structural(resource: type[Resource]) -> None:
    for path, node in _nodes(_schema(resource)):
        assert not {"$ref", "$defs", "allOf", "oneOf", "not", "title", "const"} & set(node), path
        if node.get("x-kubernetes-int-or-string"):
            assert node["anyOf"] == [{"type": "integer"}, {"type": "string"}], path
            assert "type" not in node, path
        else:
            assert "anyOf" not in node, path
            assert node.get("type") in {
                "object",
                "array",
                "string",
                "integer",
                "number",
                "boolean",
            }, path
        assert node.get("additionalProperties", {}) is not False, path
        if "properties" in node:
            assert "additionalProperties" not in node, path
            assert set(node.get("required", [])) <= set(node["properties"]), path
        for bound in ("exclusiveMinimum", "exclusiveMaximum"):
            assert node.get(bound, True) is True, path


@pytest.mark.parametrize("resource", KINDS, ids=lambda r: r.KIND)
def test_every_field_is_documented_for_kubectl_explain(resource: type[Resource]) -> None:
    for path, node in _nodes(_schema(resource)):
        scalar_item = path.endswith(("[]", "{}")) and node.get("type") != "object"
        if path in ("", ".metadata") or scalar_item:
            continue
        assert node.get("description"), f"{resource.KIND}{path} has no description"
        assert "``" not in node["description"], path


@pytest.mark.parametrize("resource", KINDS, ids=lambda r: r.KIND)
def test_cel_cost_is_bounded(resource: type[Resource]) -> None:
    # The API server refuses rules whose estimated cost is unbounded: every string a rule can
    # reach needs a maxLength and every list a maxItems.
    for path, node in _nodes(_schema(resource)):
        is_string = node.get("type") == "string" or node.get("x-kubernetes-int-or-string")
        if is_string and path.startswith((".spec", ".status")):
            bounded = "maxLength" in node or "enum" in node or node.get("format") == "date-time"
            assert bounded, path
        if node.get("type") == "array":
            assert "maxItems" in node, path


def _rules(model: type[KubeModel]) -> Iterator[Rule]:
    yield from model.RULES
    for field in model.model_fields.values():
        for candidate in _types_of(field.annotation):
            if isinstance(candidate, type) and issubclass(candidate, KubeModel):
                yield from _rules(candidate)


def _types_of(annotation: Any) -> Iterator[Any]:
    yield annotation
    for argument in getattr(annotation, "__args__", ()):
        yield from _types_of(argument)


@pytest.mark.parametrize("resource", KINDS, ids=lambda r: r.KIND)
def test_every_model_rule_is_a_cel_rule_of_the_crd(resource: type[Resource]) -> None:
    validations = [
        (validation["rule"], validation["message"])
        for _, node in _nodes(_schema(resource))
        for validation in node.get("x-kubernetes-validations", [])
    ]
    rules = list(_rules(resource))
    assert rules
    for rule in rules:
        assert (rule.cel, rule.message) in validations


def test_names_scope_subresources_and_columns() -> None:
    policy, queue = crd(ScalingPolicy), crd(FairQueue)
    assert policy["apiVersion"] == "apiextensions.k8s.io/v1"
    assert policy["metadata"]["name"] == "scalingpolicies.ebbtide.io"
    assert policy["spec"]["scope"] == "Namespaced" and queue["spec"]["scope"] == "Cluster"
    assert policy["spec"]["names"]["shortNames"] == ["sp"]
    assert queue["spec"]["names"]["shortNames"] == ["fq"]
    for definition in (policy, queue):
        assert definition["spec"]["names"]["categories"] == ["ebbtide"]
        (version,) = definition["spec"]["versions"]
        assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
        assert version["subresources"] == {"status": {}}
        assert "default" not in yaml.safe_dump(version["schema"]["openAPIV3Schema"]["properties"]["status"])

    def columns(definition: dict[str, Any]) -> list[str]:
        return [
            c["name"]
            for c in definition["spec"]["versions"][0]["additionalPrinterColumns"]
            if not c.get("priority")
        ]

    assert columns(policy) == [
        "Target",
        "Min",
        "Max",
        "Current",
        "Desired",
        "Predicted",
        "Mode",
        "Ready",
        "Age",
        "Message",
    ]
    assert columns(queue) == [
        "Weight",
        "Order",
        "Pending",
        "Admitted",
        "Share",
        "Preempted",
        "Reclaimed",
        "Ready",
        "Age",
        "Message",
    ]


def _apply_defaults(obj: Any, node: dict[str, Any]) -> Any:
    """The API server's structural defaulting: a missing property gets its default, top-down."""
    if not isinstance(obj, dict) or "properties" not in node:
        if isinstance(obj, list) and isinstance(node.get("items"), dict):
            return [_apply_defaults(item, node["items"]) for item in obj]
        return obj
    for name, sub in node["properties"].items():
        if name not in obj and "default" in sub:
            obj[name] = copy.deepcopy(sub["default"])
        if name in obj:
            obj[name] = _apply_defaults(obj[name], sub)
    return obj


@pytest.mark.parametrize(
    ("resource", "minimal"),
    [
        (ScalingPolicy, scaling_policy()),
        (ScalingPolicy, scaling_policy(spec__prediction={"model": "Linear"})),
        (ScalingPolicy, scaling_policy(spec__rateLimits={"scaleDown": {"maxPods": 1}})),
        (
            FairQueue,
            {"apiVersion": "ebbtide.io/v1alpha1", "kind": "FairQueue", "metadata": {"name": "q"}},
        ),
        (FairQueue, fair_queue(spec={"limit": {"cpu": 4}})),
    ],
)
def test_crd_defaults_are_the_model_defaults(resource: type[Resource], minimal: dict[str, Any]) -> None:
    defaulted = _apply_defaults(copy.deepcopy(minimal), _schema(resource))
    assert defaulted != minimal
    assert resource.model_validate(defaulted) == resource.model_validate(minimal)


def test_crds_command_writes_then_checks(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ebbtide.commands.crds import crds

    runner = CliRunner()
    stale = runner.invoke(crds, ["--output-dir", str(tmp_path), "--check"])
    assert stale.exit_code == 1
    assert "+kind: CustomResourceDefinition" in stale.output
    written = runner.invoke(crds, ["--output-dir", str(tmp_path)])
    assert written.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(render_all())
    fresh = runner.invoke(crds, ["--output-dir", str(tmp_path), "--check"])
    assert (fresh.exit_code, fresh.output.strip()) == (0, f"{tmp_path} is up to date")
