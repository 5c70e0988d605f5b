"""The chart ships the admission policies that keep admission ebbtide's: its copy is current, the
policies render verbatim under the release's names and exempt exactly the operator's service
account; a chart without the queueing controller ships none. The install without Helm
(`ebbtide admission-policy`) renders the same policies.

Refresh the copy with ``ebbtide admission-policy --chart-files charts/ebbtide/files/admission``.
"""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner
from tests.unit.chart.chart_rendering import CHART, by_kind, render

from ebbtide.api.admission_policy import managed_namespaces_policy, policies
from ebbtide.api.default_queue_policy import default_queue_policy
from ebbtide.api.fairqueue_vocabulary import QUEUE_MANAGED_LABEL
from ebbtide.commands.admission_policy import admission_policy, stale_chart_files

pytestmark = pytest.mark.unit

COPY = CHART / "files" / "admission"


def test_the_charts_copy_of_the_policies_is_current() -> None:
    diff = stale_chart_files(COPY)
    assert not diff, f"{COPY} is stale: run `ebbtide admission-policy --chart-files {COPY}`\n{diff}"


def test_the_policies_render_verbatim_exempting_the_operators_service_account() -> None:
    manifests = render(release="acme", namespace="queues")
    rendered = {p["metadata"]["name"]: p for p in by_kind(manifests, "ValidatingAdmissionPolicy")}
    assert sorted(rendered) == [
        "acme-ebbtide-fairqueue-jobs",
        "acme-ebbtide-fairqueue-managed",
        "acme-ebbtide-fairqueue-pods",
    ]
    managed = managed_namespaces_policy(name="any")
    assert rendered["acme-ebbtide-fairqueue-managed"]["spec"] == managed["spec"]
    [account] = [
        a for a in by_kind(manifests, "ServiceAccount") if a["metadata"]["name"].endswith("-operator")
    ]
    username = f"system:serviceaccount:queues:{account['metadata']['name']}"
    for made in policies(username):
        suffix = made["metadata"]["name"].rsplit("-", 1)[-1]
        assert rendered[f"acme-ebbtide-fairqueue-{suffix}"]["spec"] == made["spec"]
        assert f"'{username}'" in made["spec"]["matchConditions"][0]["expression"]

    [mutating] = by_kind(manifests, "MutatingAdmissionPolicy")
    assert mutating["metadata"]["name"] == "acme-ebbtide-fairqueue-default-queue"
    assert mutating["spec"] == default_queue_policy(name="any")["spec"]
    [mutating_binding] = by_kind(manifests, "MutatingAdmissionPolicyBinding")
    assert mutating_binding["spec"] == {
        "policyName": "acme-ebbtide-fairqueue-default-queue",
        "matchResources": {"namespaceSelector": {"matchLabels": {QUEUE_MANAGED_LABEL: "true"}}},
    }

    bindings = by_kind(manifests, "ValidatingAdmissionPolicyBinding")
    assert sorted(b["spec"]["policyName"] for b in bindings) == sorted(rendered)
    for binding in bindings:
        assert binding["spec"]["policyName"] == binding["metadata"]["name"]
        assert binding["spec"]["validationActions"] == ["Deny"]
        opted_in = {"matchLabels": {QUEUE_MANAGED_LABEL: "true"}}
        scope = opted_in if binding["metadata"]["name"].endswith("-managed") else {}
        assert binding["spec"]["matchResources"] == {"namespaceSelector": scope}


def test_the_policies_apply_where_the_webhook_does() -> None:
    manifests = render({"webhook.namespaceSelector.matchLabels.team": "blue"})
    [webhooks] = by_kind(manifests, "MutatingWebhookConfiguration")
    scope = webhooks["webhooks"][0]["namespaceSelector"]
    assert scope == {"matchLabels": {"team": "blue"}}
    for binding in by_kind(manifests, "ValidatingAdmissionPolicyBinding"):
        if not binding["metadata"]["name"].endswith("-managed"):
            assert binding["spec"]["matchResources"] == {"namespaceSelector": scope}


def test_without_the_queueing_controller_no_policy_is_rendered() -> None:
    manifests = render({"operator.controllers": "{scaling}"})
    assert not by_kind(manifests, "ValidatingAdmissionPolicy")
    assert not by_kind(manifests, "ValidatingAdmissionPolicyBinding")
    assert not by_kind(manifests, "MutatingAdmissionPolicy")


def test_the_install_without_helm_applies_the_same_policies_with_their_bindings() -> None:
    result = CliRunner().invoke(admission_policy, ["--service-account", "ops/ebbtide-operator"])
    assert result.exit_code == 0, result.output
    documents = list(yaml.safe_load_all(result.output))
    assert [d["kind"] for d in documents] == [
        *["ValidatingAdmissionPolicy"] * 3,
        *["ValidatingAdmissionPolicyBinding"] * 3,
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
    ]
    assert [d["spec"] for d in documents[:3]] == [
        *(p["spec"] for p in policies("system:serviceaccount:ops:ebbtide-operator")),
        managed_namespaces_policy(name="any")["spec"],
    ]
    assert [b["spec"]["policyName"] for b in documents[3:6]] == [p["metadata"]["name"] for p in documents[:3]]
    opted_in = {"namespaceSelector": {"matchLabels": {QUEUE_MANAGED_LABEL: "true"}}}
    assert documents[5]["spec"]["matchResources"] == opted_in
    assert documents[6]["spec"] == default_queue_policy(name="any")["spec"]
    assert documents[7]["spec"] == {
        "policyName": documents[6]["metadata"]["name"],
        "matchResources": opted_in,
    }


def test_a_user_name_is_quoted_as_a_cel_string() -> None:
    [made, _] = policies("it's\\me")
    assert made["spec"]["matchConditions"][0]["expression"] == "request.userInfo.username != 'it\\'s\\\\me'"


def test_the_command_wants_exactly_one_identity() -> None:
    assert CliRunner().invoke(admission_policy, []).exit_code != 0
    both = ["--service-account", "a/b", "--operator-user", "admin"]
    assert CliRunner().invoke(admission_policy, both).exit_code != 0
    assert CliRunner().invoke(admission_policy, ["--service-account", "nameless"]).exit_code != 0
