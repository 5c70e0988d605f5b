"""The chart lints, renders objects that validate, runs every pod under the restricted Pod Security
Standard, labels every object, and grants RBAC without wildcards.

Validation here is kubeconform's: the chart's custom kinds (ebbtide's CRDs, converted to
kubeconform's schema layout in a temporary folder; prometheus-operator's and cert-manager's kinds
from the small schemas in ./schemas) must be valid, and every resource it
skips must be a built-in kind. Built-in kinds have no schema here - kubeconform would download
them from GitHub - and are validated by the real API server instead (``kubectl apply
--dry-run=server`` with strict field validation in tests/e2e/test_helm_chart.py), which also
checks defaulting, CEL rules and admission, Pod Security included.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.chart.chart_rendering import (
    CHART,
    EVERY_TOGGLE,
    REPO,
    SCHEMAS,
    Manifest,
    by_kind,
    helm,
    pod_templates,
    render,
    set_args,
    write_crd_schemas,
)

from ebbtide.devcluster.paths import bin_dir

pytestmark = pytest.mark.unit

RENDERS = {"default values": {}, "every toggle on": EVERY_TOGGLE}
BUILT_IN_GROUPS = {
    "",
    "apps",
    "policy",
    "rbac.authorization.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "batch",  # the uninstall hook's Job
}
RECOMMENDED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)
#: Volume types the restricted Pod Security Standard allows.
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


@pytest.mark.parametrize("values", RENDERS.values(), ids=RENDERS.keys())
def test_helm_lint_strict_passes(values: dict[str, str]) -> None:
    result = helm("lint", "--strict", str(CHART), *set_args(values), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def kubeconform(manifests: list[Manifest], tmp_path: Path) -> list[dict[str, Any]]:
    """kubeconform -strict over ``manifests``; returns its per-resource results."""
    crd_schemas = tmp_path / "crd-schemas"
    crd_schemas.mkdir(parents=True)
    write_crd_schemas(by_kind(manifests, "CustomResourceDefinition"), crd_schemas)
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(manifests, sort_keys=False))
    layout = "{{ .ResourceKind }}-{{ .Group }}-{{ .ResourceAPIVersion }}.json"
    result = subprocess.run(
        [
            str(bin_dir() / "kubeconform"),
            "-strict",
            "-summary",
            "-verbose",
            "-output=json",
            "-ignore-missing-schemas",
            f"-schema-location={crd_schemas}/{layout}",
            f"-schema-location={SCHEMAS}/{layout}",
            str(rendered),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(result.stdout)
    problems = [r for r in report["resources"] if r["status"] in ("statusInvalid", "statusError")]
    assert result.returncode == 0 and not problems, json.dumps(problems, indent=1) + result.stderr
    assert report["summary"]["invalid"] == report["summary"]["errors"] == 0
    return list(report["resources"])


@pytest.mark.parametrize("values", RENDERS.values(), ids=RENDERS.keys())
def test_kubeconform_validates_every_custom_kind_and_skips_only_built_ins(
    values: dict[str, str], tmp_path: Path
) -> None:
    manifests = render(values)
    results = kubeconform(manifests, tmp_path)
    assert len(results) == len(manifests)
    for result in results:
        custom = group_of(result["version"]) not in BUILT_IN_GROUPS
        expected = "statusValid" if custom else "statusSkipped"
        assert result["status"] == expected, f"{result['kind']} {result['name']}: {result['status']}"
    validated = {r["kind"] for r in results if r["status"] == "statusValid"}
    if values:
        assert {"ServiceMonitor", "PrometheusRule", "Certificate", "Issuer"} <= validated


def test_the_converted_crd_schemas_accept_the_examples_and_refuse_unknown_fields(tmp_path: Path) -> None:
    """The conversion is what makes kubeconform strict: prove it bites."""
    crds = by_kind(render(), "CustomResourceDefinition")
    examples = [
        doc
        for path in ("examples/scalingpolicy-web.yaml", "examples/fairqueues-batch.yaml")
        for doc in yaml.safe_load_all((REPO / path).read_text())
        if doc and doc["kind"] in ("ScalingPolicy", "FairQueue")
    ]
    assert {e["kind"] for e in examples} == {"ScalingPolicy", "FairQueue"}
    kubeconform(crds + examples, tmp_path / "good")
    misspelt = json.loads(json.dumps(examples[0]))
    misspelt["spec"]["maxReplica"] = 3
    with pytest.raises(AssertionError, match="maxReplica"):
        kubeconform([*crds, misspelt], tmp_path / "bad")


@pytest.mark.parametrize("values", RENDERS.values(), ids=RENDERS.keys())
def test_every_pod_runs_under_the_restricted_pod_security_standard(values: dict[str, str]) -> None:
    templates = dict(pod_templates(render(values)))
    assert len(templates) == 3  # the operator, the scheduler and the uninstall hook
    for where, pod in templates.items():
        context = pod.get("securityContext") or {}
        assert context.get("runAsNonRoot") is True, where
        assert context.get("runAsUser", 0) != 0, where
        assert context.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
        for flag in ("hostNetwork", "hostPID", "hostIPC", "hostUsers"):
            assert flag not in pod or (flag == "hostUsers" and pod[flag] is False), f"{where}: {flag}"
        for volume in pod.get("volumes", []):
            kinds = set(volume) - {"name"}
            assert kinds <= RESTRICTED_VOLUMES, f"{where}: volume {volume['name']} is {kinds}"
        containers = pod["containers"] + pod.get("initContainers", [])
        for container in containers:
            name = f"{where}/{container['name']}"
            security = container.get("securityContext") or {}
            assert security.get("allowPrivilegeEscalation") is False, name
            assert security.get("readOnlyRootFilesystem") is True, name
            assert security.get("runAsNonRoot", context.get("runAsNonRoot")) is True, name
            assert security.get("runAsUser", context.get("runAsUser")) not in (None, 0), name
            assert security.get("capabilities", {}).get("drop") == ["ALL"], name
            assert not security.get("capabilities", {}).get("add"), name
            assert security.get("seccompProfile", {}).get("type", "RuntimeDefault") == "RuntimeDefault"
            assert not security.get("privileged"), name
            assert all("hostPort" not in port for port in container.get("ports", [])), name
            resources = container.get("resources") or {}
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), f"{name}: {bound}"


@pytest.mark.parametrize("values", RENDERS.values(), ids=RENDERS.keys())
def test_every_object_carries_the_recommended_labels(values: dict[str, str]) -> None:
    manifests = render({**values, "commonLabels.team": "capacity"}, include_crds=False)
    for manifest in manifests:
        where = f"{manifest['kind']} {manifest['metadata']['name']}"
        labels = manifest["metadata"].get("labels") or {}
        missing = [label for label in RECOMMENDED_LABELS if not labels.get(label)]
        assert not missing, f"{where} lacks {missing}"
        assert labels["app.kubernetes.io/instance"] == "rel", where
        assert labels["app.kubernetes.io/managed-by"] == "Helm", where
        assert labels["team"] == "capacity", where
    for workload in by_kind(manifests, "Deployment"):
        pod_labels = workload["spec"]["template"]["metadata"]["labels"]
        assert all(pod_labels.get(label) for label in RECOMMENDED_LABELS), workload["metadata"]["name"]
        selector = workload["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        assert "app.kubernetes.io/version" not in selector  # selectors are immutable across upgrades


@pytest.mark.parametrize("values", RENDERS.values(), ids=RENDERS.keys())
def test_rbac_names_every_group_resource_and_verb(values: dict[str, str]) -> None:
    manifests = render(values)
    roles = by_kind(manifests, "ClusterRole") + by_kind(manifests, "Role")
    assert roles
    for role in roles:
        for rule in role["rules"]:
            for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                assert "*" not in rule.get(key, []), f"{role['metadata']['name']}: {rule}"
                assert not any("*" in item for item in rule.get(key, [])), f"{role['metadata']['name']}"
            # Only the operator that keeps the webhook's certificate reads and updates a Secret: its own.
            if "secrets" in rule.get("resources", []):
                assert role["metadata"]["name"] == "rel-ebbtide-operator-webhook-certificate"
                assert (rule["resourceNames"], rule["verbs"]) == (
                    ["rel-ebbtide-webhook-certs"],
                    ["get", "update"],
                )
            webhooks = {"mutatingwebhookconfigurations", "validatingwebhookconfigurations"} & set(
                rule.get("resources", [])
            )
            # Only the chart's own configuration: the uninstall hook deletes it, first thing; the
            # operator that keeps the certificate sets its caBundle.
            if webhooks:
                assert webhooks == {"mutatingwebhookconfigurations"}
                assert (role["metadata"]["name"], rule["resourceNames"], rule["verbs"]) in [
                    ("rel-ebbtide-uninstall", ["rel-ebbtide-fairqueue"], ["delete"]),
                    ("rel-ebbtide-operator", ["rel-ebbtide-fairqueue"], ["get", "patch"]),
                ]
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
    rendered = {r["metadata"]["name"] for r in roles}
    stock = {"system:kube-scheduler", "system:volume-scheduler", "extension-apiserver-authentication-reader"}
    for binding in by_kind(manifests, "ClusterRoleBinding") + by_kind(manifests, "RoleBinding"):
        assert binding["roleRef"]["name"] in rendered | stock, binding["metadata"]["name"]
        assert all(s["kind"] == "ServiceAccount" for s in binding["subjects"])


def test_controllers_left_out_get_no_rights_and_no_webhook() -> None:
    def operator_rules(controllers: str) -> list[dict[str, Any]]:
        manifests = render({"operator.controllers": controllers})
        role = next(
            r for r in by_kind(manifests, "ClusterRole") if r["metadata"]["name"].endswith("-operator")
        )
        return list(role["rules"])

    scaling_only = operator_rules("{scaling}")
    resources = {res for rule in scaling_only for res in rule["resources"]}
    assert "deployments/scale" in resources
    assert not {"pods", "jobs", "fairqueues", "nodes"} & resources
    assert not by_kind(render({"operator.controllers": "{scaling}"}), "MutatingWebhookConfiguration")

    queueing_only = operator_rules("{queueing}")
    resources = {res for rule in queueing_only for res in rule["resources"]}
    assert {"pods", "jobs", "fairqueues", "nodes"} <= resources
    assert not {"deployments/scale", "deployments", "scalingpolicies", "horizontalpodautoscalers"} & resources


def test_extra_scale_targets_get_exactly_get_and_patch_on_their_scale() -> None:
    manifests = render(
        {
            "operator.extraScaleTargets[0].apiGroup": "argoproj.io",
            "operator.extraScaleTargets[0].resources": "{rollouts}",
        }
    )
    role = next(r for r in by_kind(manifests, "ClusterRole") if r["metadata"]["name"].endswith("-operator"))
    rule = next(r for r in role["rules"] if r["apiGroups"] == ["argoproj.io"])
    assert rule == {"apiGroups": ["argoproj.io"], "resources": ["rollouts/scale"], "verbs": ["get", "patch"]}


@pytest.mark.parametrize(
    "bad",
    [
        "operator.bogus=1",
        "operator.peering.priority=5",
        "operator.controllers={autoscaling}",
        "webhook.timeoutSeconds=31",
        "webhook.certificate.source=vault",
        "webhook.certificate.validity=1y",
    ],
)
def test_the_values_schema_refuses_what_the_chart_would_mis_render(bad: str) -> None:
    result = helm("template", "rel", str(CHART), f"--set={bad}", check=False)
    assert result.returncode != 0
    assert "schema" in result.stderr
