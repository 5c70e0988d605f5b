"""What each part of the chart renders agrees with the code it runs: the operator's options and
Leases, the webhook's paths, certificate and selectors, the scheduler's and the extender's
configuration, and the ServiceMonitors' selectors (alerts and dashboard: test_chart_monitoring)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import warnings
from typing import Any

import click
import kopf
import pytest
import yaml
from cryptography import x509
from tests.unit.chart.chart_rendering import CHART, Manifest, by_kind, helm, one, render

from ebbtide.commands.extender import extender as extender_command
from ebbtide.commands.run_operator import run_operator as operator_command
from ebbtide.controllers.fairqueue.leadership import LEASE_NAME
from ebbtide.controllers.fairqueue.webhook import register_webhooks
from ebbtide.extender.config import parse_config
from ebbtide.kube.leases import default_identity, default_namespace
from ebbtide.kube.membership import member_lease_name

pytestmark = pytest.mark.unit

NAMESPACE = "ebbtide-system"
OPERATOR = "rel-ebbtide-operator"
SCHEDULER = "rel-ebbtide-scheduler"


def container(workload: Manifest, name: str) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    return dict(next(c for c in containers if c["name"] == name))


def options(args: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in args if arg.startswith("--"))


def parse_with(command: click.Command, args: list[str]) -> dict[str, Any]:
    """Parse ``args`` as the real command would (unknown options and bad values raise)."""
    with command.make_context(command.name or "", list(args), resilient_parsing=False) as ctx:
        return dict(ctx.params)


# -- operator ------------------------------------------------------------------------------------


def test_the_operator_runs_two_standalone_replicas_named_after_their_pods() -> None:
    manifests = render()
    deployment = one(manifests, "Deployment", OPERATOR)
    assert deployment["spec"]["replicas"] == 2
    assert (
        render({"operator.replicas": "5"})
        and one(render({"operator.replicas": "5"}), "Deployment", OPERATOR)["spec"]["replicas"] == 5
    )
    operator = container(deployment, "operator")
    assert operator["args"][0] == "operator"
    given = options(operator["args"])
    # No kopf peering: every replica runs every policy's loop and decides the policies it owns.
    assert "peering" not in given and "priority" not in given
    assert not by_kind(manifests, "ClusterKopfPeering")
    env = {e["name"]: e for e in operator["env"]}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):  # no BLAS pool sized by the node
        assert env[name]["value"] == "1"
    role = one(manifests, "ClusterRole", OPERATOR)
    assert not [r for r in role["rules"] if "kopf.dev" in r["apiGroups"]]
    parse_with(operator_command, operator["args"][1:])  # the real command accepts every option


LEASE_RULE = {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"]}


@pytest.mark.parametrize(
    ("controllers", "rules"),
    [
        # scaling: each replica creates, reads and renews a membership Lease named after its pod
        # (not known in advance, so not limited by name) and lists the group's Leases.
        ("{scaling,queueing}", [{**LEASE_RULE, "verbs": ["create", "get", "update", "list"]}]),
        ("{scaling}", [{**LEASE_RULE, "verbs": ["create", "get", "update", "list"]}]),
        # queueing alone: create (never limited by name in RBAC), get and update one Lease.
        (
            "{queueing}",
            [
                {**LEASE_RULE, "verbs": ["create"]},
                {**LEASE_RULE, "resourceNames": [LEASE_NAME], "verbs": ["get", "update"]},
            ],
        ),
    ],
)
def test_the_operator_may_use_leases_only_in_the_release_namespace_and_only_as_it_does(
    monkeypatch: pytest.MonkeyPatch, controllers: str, rules: list[dict[str, Any]]
) -> None:
    manifests = render({"operator.controllers": controllers})
    role = one(manifests, "Role", f"{OPERATOR}-lease")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert role["rules"] == rules
    binding = one(manifests, "RoleBinding", f"{OPERATOR}-lease")
    assert binding["metadata"]["namespace"] == NAMESPACE
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": OPERATOR, "namespace": NAMESPACE}]
    assert not [
        rule
        for cluster_role in by_kind(manifests, "ClusterRole")
        for rule in cluster_role["rules"]
        if "coordination.k8s.io" in rule["apiGroups"] and OPERATOR in cluster_role["metadata"]["name"]
    ]

    # The Leases are found where the Role grants them, and their holder is named after the pod.
    env = {e["name"]: e for e in container(one(manifests, "Deployment", OPERATOR), "operator")["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    monkeypatch.setenv("POD_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("POD_NAME", "rel-ebbtide-operator-6c8d9f7b5-q2w4z")
    assert default_namespace() == NAMESPACE
    assert default_identity() == "rel-ebbtide-operator-6c8d9f7b5-q2w4z"
    assert (
        member_lease_name("scaling", default_identity())
        == "ebbtide-scaling-rel-ebbtide-operator-6c8d9f7b5-q2w4z"
    )


def test_the_operator_probes_and_ports_match_its_options() -> None:
    manifests = render()
    deployment = one(manifests, "Deployment", OPERATOR)
    operator = container(deployment, "operator")
    given = options(operator["args"])
    ports = {p["name"]: p["containerPort"] for p in operator["ports"]}
    assert ports == {
        "metrics": int(given["metrics-port"]),
        "health": int(given["health-port"]),
        "webhook": int(given["webhook-port"]),
    }
    assert operator["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert operator["readinessProbe"]["tcpSocket"] == {"port": "webhook"}
    metrics = one(manifests, "Service", f"{OPERATOR}-metrics")
    assert metrics["spec"]["ports"][0]["targetPort"] == "metrics"
    pdb = one(manifests, "PodDisruptionBudget", OPERATOR)
    assert pdb["spec"]["minAvailable"] == 1
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


# -- webhook -------------------------------------------------------------------------------------


def test_the_webhook_configuration_calls_the_operators_handlers_only_for_queued_objects() -> None:
    manifests = render()
    configuration = one(manifests, "MutatingWebhookConfiguration", "rel-ebbtide-fairqueue")
    service = one(manifests, "Service", "rel-ebbtide-webhook")
    registry = kopf.OperatorRegistry()
    with warnings.catch_warnings():
        # kopf deprecates mutate(operation=...) in favour of operations={...}; the ids are what matter.
        warnings.filterwarnings("ignore", "operation= is deprecated", DeprecationWarning)
        register_webhooks(registry)
    # kopf routes a request by its path: /<handler id>.
    handlers = {h.id: h for h in registry._webhooks.get_all_handlers()}
    webhooks = {w["clientConfig"]["service"]["path"].lstrip("/"): w for w in configuration["webhooks"]}
    assert webhooks.keys() == handlers.keys() == {"gate-queued-pods", "suspend-queued-jobs"}
    for handler_id, webhook in webhooks.items():
        assert webhook["rules"][0]["operations"] == sorted(handlers[handler_id].operations) == ["CREATE"]
        assert webhook["objectSelector"] == {
            "matchExpressions": [{"key": "ebbtide.io/queue", "operator": "Exists"}]
        }
        assert webhook["failurePolicy"] == "Fail"
        assert webhook["sideEffects"] == "None"
        assert webhook["timeoutSeconds"] == 5
        assert webhook["clientConfig"]["service"]["name"] == service["metadata"]["name"]
        assert webhook["clientConfig"]["service"]["namespace"] == NAMESPACE
        assert webhook["clientConfig"]["service"]["port"] == service["spec"]["ports"][0]["port"]
    assert webhooks["gate-queued-pods"]["rules"][0] | {"operations": None} == {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "resources": ["pods"],
        "operations": None,
        "scope": "Namespaced",
    }
    assert webhooks["suspend-queued-jobs"]["rules"][0]["apiGroups"] == ["batch"]
    assert webhooks["suspend-queued-jobs"]["rules"][0]["resources"] == ["jobs"]
    assert service["spec"]["ports"][0]["targetPort"] == "webhook"
    assert service["spec"]["selector"].items() <= (
        one(manifests, "Deployment", OPERATOR)["spec"]["template"]["metadata"]["labels"].items()
    )


def test_by_default_the_operator_keeps_the_certificate_in_a_secret_the_chart_creates_empty() -> None:
    manifests = render()
    secret = one(manifests, "Secret", "rel-ebbtide-webhook-certs")
    assert secret["type"] == "Opaque" and "data" not in secret
    configuration = one(manifests, "MutatingWebhookConfiguration", "rel-ebbtide-fairqueue")
    assert all("caBundle" not in w["clientConfig"] for w in configuration["webhooks"])
    assert "annotations" not in configuration["metadata"]
    operator = container(one(manifests, "Deployment", OPERATOR), "operator")
    args = operator["args"]
    given = options(args)
    assert given["webhook-cert-secret"] == secret["metadata"]["name"]
    assert given["webhook-configuration"] == configuration["metadata"]["name"]
    service = configuration["webhooks"][0]["clientConfig"]["service"]
    hosts = [arg.partition("=")[2] for arg in args if arg.startswith("--webhook-cert-host=")]
    assert hosts == [service["name"], f"{service['name']}.{NAMESPACE}", f"{service['name']}.{NAMESPACE}.svc"]
    assert (given["webhook-cert-validity"], given["webhook-ca-validity"]) == ("8760h", "87600h")
    assert given["webhook-cert-refresh"] == "60"
    assert "webhook-cert-file" not in given
    assert all(m["name"] != "webhook-tls" for m in operator["volumeMounts"])
    # Exactly the two objects, by name: get and update the Secret, get and patch the configuration.
    role = one(manifests, "Role", f"{OPERATOR}-webhook-certificate")
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["rel-ebbtide-webhook-certs"],
            "verbs": ["get", "update"],
        }
    ]
    binding = one(manifests, "RoleBinding", f"{OPERATOR}-webhook-certificate")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": OPERATOR, "namespace": NAMESPACE}]
    cluster_rules = one(manifests, "ClusterRole", OPERATOR)["rules"]
    assert [r for r in cluster_rules if "mutatingwebhookconfigurations" in r["resources"]] == [
        {
            "apiGroups": ["admissionregistration.k8s.io"],
            "resources": ["mutatingwebhookconfigurations"],
            "resourceNames": ["rel-ebbtide-fairqueue"],
            "verbs": ["get", "patch"],
        }
    ]


def test_the_operators_source_renders_the_same_twice_as_nothing_is_generated_or_looked_up() -> None:
    def template() -> str:
        return helm("template", "rel", str(CHART), f"--namespace={NAMESPACE}").stdout

    assert template() == template()
    with_helm = [
        helm("template", "rel", str(CHART), "--set=webhook.certificate.source=helm").stdout for _ in range(2)
    ]
    assert with_helm[0] != with_helm[1]  # a new CA at every render: what `lookup` is there to prevent


def test_values_from_before_there_was_a_source_keep_the_helm_generated_certificate() -> None:
    # `helm upgrade --reuse-values` from a chart without webhook.certificate.source keeps that
    # chart's values, where the certificate was Helm's: the upgrade must not switch it.
    manifests = render({"webhook.certificate.source": "null"})
    secret = one(manifests, "Secret", "rel-ebbtide-webhook-tls")
    configuration = one(manifests, "MutatingWebhookConfiguration", "rel-ebbtide-fairqueue")
    assert {w["clientConfig"]["caBundle"] for w in configuration["webhooks"]} == {secret["data"]["ca.crt"]}


@pytest.mark.parametrize("source", ["helm", "certManager"])
def test_other_sources_grant_no_right_on_secrets_or_webhook_configurations(source: str) -> None:
    manifests = render({"webhook.certificate.source": source})
    rules = [
        rule
        for role in by_kind(manifests, "ClusterRole") + by_kind(manifests, "Role")
        if role["metadata"]["name"].startswith(OPERATOR)
        for rule in role["rules"]
    ]
    resources = {resource for rule in rules for resource in rule["resources"]}
    assert not {"secrets", "mutatingwebhookconfigurations"} & resources


def test_helm_generates_a_serving_certificate_the_ca_bundle_trusts() -> None:
    manifests = render({"webhook.certificate.source": "helm"})
    secret = one(manifests, "Secret", "rel-ebbtide-webhook-tls")
    configuration = one(manifests, "MutatingWebhookConfiguration", "rel-ebbtide-fairqueue")
    ca_pem = base64.b64decode(secret["data"]["ca.crt"])
    assert {w["clientConfig"]["caBundle"] for w in configuration["webhooks"]} == {secret["data"]["ca.crt"]}
    ca = x509.load_pem_x509_certificate(ca_pem)
    serving = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    serving.verify_directly_issued_by(ca)
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert f"rel-ebbtide-webhook.{NAMESPACE}.svc" in names.get_values_for_type(x509.DNSName)
    assert serving.not_valid_after_utc - serving.not_valid_before_utc > dt.timedelta(days=3000)

    operator = one(manifests, "Deployment", OPERATOR)["spec"]["template"]["spec"]
    given = options(container(one(manifests, "Deployment", OPERATOR), "operator")["args"])
    volume = next(v for v in operator["volumes"] if v["name"] == "webhook-tls")
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    mount = next(m for m in operator["containers"][0]["volumeMounts"] if m["name"] == "webhook-tls")
    assert given["webhook-cert-file"] == f"{mount['mountPath']}/tls.crt"
    assert given["webhook-key-file"] == f"{mount['mountPath']}/tls.key"


@pytest.mark.parametrize(
    "values",
    [{"webhook.certificate.source": "certManager"}, {"webhook.certManager.enabled": "true"}],
    ids=["source", "enabled (older values)"],
)
def test_with_cert_manager_the_ca_injector_fills_the_ca_bundle(values: dict[str, str]) -> None:
    manifests = render(values)
    configuration = one(manifests, "MutatingWebhookConfiguration", "rel-ebbtide-fairqueue")
    assert all("caBundle" not in w["clientConfig"] for w in configuration["webhooks"])
    namespace, name = configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"].split("/")
    certificate = one(manifests, "Certificate", name)
    assert namespace == NAMESPACE
    assert certificate["spec"]["secretName"] == "rel-ebbtide-webhook-tls"
    assert f"rel-ebbtide-webhook.{NAMESPACE}.svc" in certificate["spec"]["dnsNames"]
    assert not [s for s in by_kind(manifests, "Secret") if s["metadata"]["name"] == "rel-ebbtide-webhook-tls"]
    issuer = one(manifests, "Issuer", certificate["spec"]["issuerRef"]["name"])
    assert (
        one(manifests, "Certificate", "rel-ebbtide-webhook-ca")["spec"]["secretName"]
        == (issuer["spec"]["ca"]["secretName"])
    )


def test_an_existing_issuer_replaces_the_charts_own_ca() -> None:
    manifests = render(
        {
            "webhook.certManager.enabled": "true",
            "webhook.certManager.issuerRef.name": "corp-ca",
            "webhook.certManager.issuerRef.kind": "ClusterIssuer",
        }
    )
    assert not by_kind(manifests, "Issuer")
    assert [c["metadata"]["name"] for c in by_kind(manifests, "Certificate")] == ["rel-ebbtide-webhook"]
    assert by_kind(manifests, "Certificate")[0]["spec"]["issuerRef"] == {
        "name": "corp-ca",
        "kind": "ClusterIssuer",
    }


def test_a_namespace_selector_scopes_the_webhook() -> None:
    manifests = render({"webhook.namespaceSelector.matchLabels.queues": "on"})
    configuration = one(manifests, "MutatingWebhookConfiguration", "rel-ebbtide-fairqueue")
    assert {json.dumps(w["namespaceSelector"]) for w in configuration["webhooks"]} == {
        json.dumps({"matchLabels": {"queues": "on"}})
    }


# -- scheduler and extender ----------------------------------------------------------------------


def test_the_second_scheduler_has_its_own_name_and_lease_and_calls_the_extender_beside_it() -> None:
    manifests = render()
    configuration = yaml.safe_load(one(manifests, "ConfigMap", SCHEDULER)["data"]["scheduler.yaml"])
    assert configuration["apiVersion"] == "kubescheduler.config.k8s.io/v1"
    assert configuration["kind"] == "KubeSchedulerConfiguration"
    assert configuration["profiles"] == [{"schedulerName": "ebbtide-scheduler"}]
    assert configuration["leaderElection"] == {
        "leaderElect": True,
        "resourceLock": "leases",
        "resourceName": "ebbtide-scheduler",
        "resourceNamespace": NAMESPACE,
    }
    assert "clientConnection" not in configuration  # in-cluster: the pod's service account
    [extender] = configuration["extenders"]
    assert extender == {
        "urlPrefix": "http://127.0.0.1:8888",
        "filterVerb": "filter",
        "prioritizeVerb": "prioritize",
        "weight": 1,
        "enableHTTPS": False,
        "nodeCacheCapable": True,
        "ignorable": True,
        "httpTimeout": "2s",
    }
    lease = one(manifests, "Role", f"{SCHEDULER}-lease")
    assert lease["metadata"]["namespace"] == NAMESPACE
    assert lease["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["ebbtide-scheduler"],
            "verbs": ["get", "update"],
        }
    ]

    deployment = one(manifests, "Deployment", SCHEDULER)
    scheduler = container(deployment, "kube-scheduler")
    assert scheduler["image"] == "registry.k8s.io/kube-scheduler:v1.36.3"
    assert "--config=/etc/ebbtide-scheduler/scheduler.yaml" in scheduler["command"]
    extender_args = container(deployment, "extender")["args"]
    params = parse_with(extender_command, extender_args[1:])
    assert f"http://127.0.0.1:{params['port']}" == extender["urlPrefix"]


@pytest.mark.parametrize(
    ("filter_values", "filtering"),
    [
        ({}, True),  # the extender's default ceiling (cpu 0.9)
        ({"scheduler.extender.config.filter": {"ceilings": {"memory": 0.8}}}, True),
        ({"scheduler.extender.config.filter": {"ceilings": {}}}, False),
    ],
    ids=["default ceiling", "memory ceiling", "no ceiling"],
)
def test_the_scheduler_calls_the_filter_verb_only_when_the_extender_has_a_ceiling(
    filter_values: dict[str, object], filtering: bool
) -> None:
    manifests = render(json_values=filter_values)
    configuration = yaml.safe_load(one(manifests, "ConfigMap", SCHEDULER)["data"]["scheduler.yaml"])
    [extender] = configuration["extenders"]
    config = parse_config(one(manifests, "ConfigMap", "rel-ebbtide-extender")["data"]["extender.yaml"])
    assert config.filter.enabled is filtering
    assert ("filterVerb" in extender) is filtering
    assert extender["prioritizeVerb"] == "prioritize"


def test_the_extender_configuration_is_valid_and_reads_the_charts_prometheus() -> None:
    manifests = render(
        {
            "scheduler.extender.config.defaultProfile": "packing",
            "scheduler.extender.config.profiles.packing.weights.loadAware": "3",
        }
    )
    text = one(manifests, "ConfigMap", "rel-ebbtide-extender")["data"]["extender.yaml"]
    config = parse_config(text)
    assert config.load.prometheus_url == "http://prometheus-operated.monitoring.svc:9090"
    assert config.default_profile == "packing"
    assert parse_config(one(render(), "ConfigMap", "rel-ebbtide-extender")["data"]["extender.yaml"])


def test_each_container_of_the_scheduler_pod_holds_only_its_own_identity() -> None:
    manifests = render()
    pod = one(manifests, "Deployment", SCHEDULER)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == SCHEDULER
    assert pod["automountServiceAccountToken"] is False
    volumes = {v["name"]: v for v in pod["volumes"]}
    token_dir = "/var/run/secrets/kubernetes.io/serviceaccount"
    mounted = {
        c["name"]: next(m["name"] for m in c["volumeMounts"] if m["mountPath"] == token_dir)
        for c in pod["containers"]
    }
    scheduler_token = volumes[mounted["kube-scheduler"]]["projected"]["sources"]
    assert {"serviceAccountToken", "configMap", "downwardAPI"} == {k for s in scheduler_token for k in s}
    extender_secret = volumes[mounted["extender"]]["secret"]["secretName"]
    token = one(manifests, "Secret", extender_secret)
    assert token["type"] == "kubernetes.io/service-account-token"
    account = token["metadata"]["annotations"]["kubernetes.io/service-account.name"]
    assert account == "rel-ebbtide-extender"
    binding = one(manifests, "ClusterRoleBinding", account)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}]
    assert one(manifests, "ClusterRole", account)["rules"] == [
        {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["list", "watch"]}
    ]


def test_the_scheduler_is_optional() -> None:
    manifests = render({"scheduler.enabled": "false"})
    assert [d["metadata"]["name"] for d in by_kind(manifests, "Deployment")] == [OPERATOR]
    assert not [m for m in manifests if "scheduler" in m["metadata"]["name"]]


def test_service_monitors_select_the_metrics_services() -> None:
    manifests = render({"monitoring.serviceMonitor.enabled": "true"})
    services = by_kind(manifests, "Service")
    for monitor in by_kind(manifests, "ServiceMonitor"):
        selector = monitor["spec"]["selector"]["matchLabels"]
        selected = [s for s in services if selector.items() <= s["metadata"]["labels"].items()]
        assert [s["metadata"]["name"] for s in selected] == [f"{monitor['metadata']['name']}-metrics"]
        port = monitor["spec"]["endpoints"][0]["port"]
        assert port in {p["name"] for p in selected[0]["spec"]["ports"]}
