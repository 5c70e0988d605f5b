"""The chart's monitoring: the alerts and the dashboard query only series the code exports,
each alert names the object that fired and links a runbook that exists, the alerts fire as
stated when Prometheus's own rule engine (promtool) evaluates them, and users can add rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from tests.unit.chart.chart_rendering import CHART, EVERY_TOGGLE, REPO, helm, one, render

from ebbtide.api.fairqueue_vocabulary import NEVER_ADMITTABLE
from ebbtide.extender.telemetry import Telemetry
from ebbtide.metrics import queue_metrics, scaling_metrics

pytestmark = pytest.mark.unit

RUNBOOKS = REPO / "docs" / "runbooks"
OPERATOR_JOB = "rel-ebbtide-operator-metrics"
SERIES_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
    "info": ("_info",),
}


def exported_names() -> set[str]:
    """Every series name ebbtide's code exposes: the operator's (prometheus_client's default
    registry, filled when the metrics modules are imported) and the extender's (its own registry,
    which holds ebbtide_build_info too)."""
    families = [*REGISTRY.collect(), *Telemetry().registry.collect()]
    assert scaling_metrics.DECISIONS.describe() and queue_metrics.PENDING.describe()
    return {
        family.name + suffix
        for family in families
        if family.name.startswith("ebbtide_")
        for suffix in SERIES_SUFFIXES.get(family.type, ("",))
    }


def queried_names(text: str) -> set[str]:
    return set(re.findall(r"\bebbtide_[a-z_]+", text))


def rule_groups(values: dict[str, str] | None = None) -> list[dict[str, Any]]:
    groups = one(render({**EVERY_TOGGLE, **(values or {})}), "PrometheusRule", "rel-ebbtide")["spec"][
        "groups"
    ]
    return list(groups)


def alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in rule_groups() for rule in group["rules"] if "alert" in rule}


def test_alerts_and_dashboard_query_only_metrics_the_code_exports() -> None:
    expressions = "\n".join(rule["expr"] for rule in alerts().values())
    dashboard = (CHART / "files" / "dashboards" / "ebbtide.json").read_text()
    known = exported_names()
    for where, text in (("alerts", expressions), ("dashboard", dashboard)):
        unknown = queried_names(text) - known
        assert not unknown, f"{where} query series no code exports: {sorted(unknown)}"
    assert len(queried_names(expressions)) >= 8


def test_alerts_cover_the_failures_with_every_severity() -> None:
    found = alerts()
    assert {
        "EbbtideOperatorDown",
        "EbbtideScalingPolicyNotReady",
        "EbbtideScalingPolicyMetricsUnavailable",
        "EbbtideScalingPolicyAtMaxReplicas",
        "EbbtideFairQueueStarving",
        "EbbtideFairQueueNoLeader",
        "EbbtideFairQueueInadmissibleWorkloads",
        "EbbtideExtenderErrors",
    } <= found.keys()
    assert {rule["labels"]["severity"] for rule in found.values()} == {"info", "warning", "critical"}
    assert found["EbbtideOperatorDown"]["labels"]["severity"] == "critical"
    assert f'job="{OPERATOR_JOB}"' in found["EbbtideOperatorDown"]["expr"]
    for rule in found.values():
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_every_alert_links_a_runbook_page_that_exists_and_is_listed() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    for name, rule in alerts().items():
        assert rule["annotations"]["runbook_url"] == f"docs/runbooks/{name}.md"
        page = RUNBOOKS / f"{name}.md"
        assert page.is_file(), f"no runbook for {name}"
        assert page.read_text().startswith(f"# {name}\n")
        assert f"[{name}]({name}.md)" in index
    documented = {path.stem for path in RUNBOOKS.glob("Ebbtide*.md")}
    assert documented == alerts().keys(), "runbooks without an alert"


def test_runbook_links_follow_the_base_url_users_publish_them_at() -> None:
    groups = rule_groups({"monitoring.prometheusRule.runbookBaseURL": "https://wiki.example/ebbtide/"})
    urls = [rule["annotations"]["runbook_url"] for group in groups for rule in group["rules"]]
    assert urls and all(url.startswith("https://wiki.example/ebbtide/Ebbtide") for url in urls)


def test_object_alerts_are_grouped_by_the_objects_labels() -> None:
    found = alerts()
    for name, labels in {
        "EbbtideScalingPolicyNotReady": "(namespace, name)",
        "EbbtideScalingPolicyMetricsUnavailable": "(namespace, name)",
        "EbbtideScalingPolicyAtMaxReplicas": "(namespace, name)",
        "EbbtideScalingPolicyConflict": "(namespace, name)",
        "EbbtideForecastErrorHigh": "(namespace, name)",
        "EbbtideFairQueueStarving": "(queue)",
        "EbbtideFairQueueInadmissibleWorkloads": "(queue, reason)",
        "EbbtideFairQueueInvalid": "(queue)",
    }.items():
        assert f"by {labels}" in found[name]["expr"], name


def test_the_inadmissible_alert_matches_exactly_the_never_admittable_reasons() -> None:
    expr = alerts()["EbbtideFairQueueInadmissibleWorkloads"]["expr"]
    (pattern,) = re.findall(r'reason=~"([^"]+)"', expr)
    assert set(pattern.split("|")) == {str(reason) for reason in NEVER_ADMITTABLE}


def test_users_add_their_own_rule_groups(tmp_path: Path) -> None:
    own = {"name": "mine", "rules": [{"alert": "MyBacklog", "expr": "vector(1)", "for": "1m"}]}
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"monitoring": {"prometheusRule": {"additionalGroups": [own]}}}))
    text = helm(
        "template",
        "rel",
        str(CHART),
        "--namespace=ebbtide-system",
        f"--values={values}",
        "--set=monitoring.prometheusRule.enabled=true",
    ).stdout
    rule = next(d for d in yaml.safe_load_all(text) if d and d["kind"] == "PrometheusRule")
    assert rule["spec"]["groups"][-1] == own
    assert rule["spec"]["groups"][0]["name"] == "ebbtide.operator"


# -- Prometheus's rule engine -----------------------------------------------------------------------


def expanded(template: str, labels: dict[str, str], value: str) -> str:
    """An annotation as Prometheus expands it (the templates use $labels.x and $value only)."""
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), template)
    return text.replace("{{ $value }}", value)


def expected_alert(rule: dict[str, Any], labels: dict[str, str], value: str = "1") -> dict[str, Any]:
    return {
        "exp_labels": {**labels, **rule["labels"]},
        "exp_annotations": {k: expanded(v, labels, value) for k, v in rule["annotations"].items()},
    }


def test_prometheus_fires_the_object_alerts_naming_the_object(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is not installed: run make bootstrap"
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule_groups()}))
    found = alerts()
    job = f'job="{OPERATOR_JOB}", namespace="ebbtide-system"'
    policy_job = f'job="{OPERATOR_JOB}"'
    inactive = 'condition="Active", status="False"'
    series = [
        # shop/web has not been ready for 20 minutes; shop/api is.
        (
            f'ebbtide_scalingpolicy_status_condition{{{policy_job}, namespace="shop", name="web", '
            'condition="Ready", status="False"}',
            "1x30",
        ),
        (
            f'ebbtide_scalingpolicy_status_condition{{{policy_job}, namespace="shop", name="api", '
            'condition="Ready", status="False"}',
            "0x30",
        ),
        # queue "batch" holds 2 workloads over its limit for 30 minutes, and waits for capacity
        # without admitting anything.
        (f'ebbtide_fairqueue_pending_workloads{{{job}, queue="batch", reason="ExceedsQueueLimit"}}', "2x40"),
        (f'ebbtide_fairqueue_pending_workloads{{{job}, queue="batch", reason="WaitingForCapacity"}}', "3x40"),
        (f'ebbtide_fairqueue_admissions_total{{{job}, queue="batch"}}', "5x40"),
        (f"ebbtide_fairqueue_leader{{{job}}}", "1x40"),
        # "paused" is inactive because it was stopped on purpose; "broken" has an invalid spec.
        (
            f'ebbtide_fairqueue_status_condition{{{job}, queue="paused", {inactive}}}',
            "1x40",
        ),
        (f'ebbtide_fairqueue_stopped{{{job}, queue="paused"}}', "1x40"),
        (
            f'ebbtide_fairqueue_status_condition{{{job}, queue="broken", {inactive}}}',
            "1x40",
        ),
        (f'ebbtide_fairqueue_stopped{{{job}, queue="broken"}}', "0x40"),
        (f"up{{{job}}}", "1x40"),
        # Replica a has held its membership Lease throughout; replica b lost it after 10 minutes.
        (f'ebbtide_scaling_member{{{job}, pod="op-a"}}', "1x40"),
        (f'ebbtide_scaling_member{{{job}, pod="op-b"}}', "1x10 0x30"),
    ]
    web = {"namespace": "shop", "name": "web"}
    tests = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series],
                "alert_rule_test": [
                    {
                        "eval_time": "25m",
                        "alertname": "EbbtideScalingPolicyNotReady",
                        "exp_alerts": [expected_alert(found["EbbtideScalingPolicyNotReady"], web)],
                    },
                    {
                        "eval_time": "35m",
                        "alertname": "EbbtideFairQueueInadmissibleWorkloads",
                        "exp_alerts": [
                            expected_alert(
                                found["EbbtideFairQueueInadmissibleWorkloads"],
                                {"queue": "batch", "reason": "ExceedsQueueLimit"},
                                value="2",
                            )
                        ],
                    },
                    {
                        "eval_time": "35m",
                        "alertname": "EbbtideFairQueueStarving",
                        "exp_alerts": [expected_alert(found["EbbtideFairQueueStarving"], {"queue": "batch"})],
                    },
                    {
                        "eval_time": "35m",
                        "alertname": "EbbtideFairQueueInvalid",
                        "exp_alerts": [expected_alert(found["EbbtideFairQueueInvalid"], {"queue": "broken"})],
                    },
                    {"eval_time": "35m", "alertname": "EbbtideOperatorDown", "exp_alerts": []},
                    {"eval_time": "35m", "alertname": "EbbtideFairQueueNoLeader", "exp_alerts": []},
                    {
                        "eval_time": "35m",
                        "alertname": "EbbtideScalingReplicaNotMember",
                        "exp_alerts": [
                            expected_alert(
                                found["EbbtideScalingReplicaNotMember"], {"pod": "op-b"}, value="0"
                            )
                        ],
                    },
                ],
            }
        ],
    }
    test_file = tmp_path / "tests.yaml"
    test_file.write_text(json.dumps(tests))
    result = subprocess.run(
        [promtool, "test", "rules", str(test_file)], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
