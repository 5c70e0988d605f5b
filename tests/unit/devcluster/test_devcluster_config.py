"""The local cluster's pure pieces: node manifests, flags, ports, scrape targets, certificates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from ebbtide.devcluster.components import _flags, control_plane, kwok
from ebbtide.devcluster.configs import write_scrape_targets
from ebbtide.devcluster.layout import Layout, Ports
from ebbtide.devcluster.nodes import DEV_NODE_LABEL, default_nodes, parse_labels, uniform_nodes
from ebbtide.devcluster.pki import issue, make_ca
from ebbtide.devcluster.rbac import SCHEDULER_LEASE
from ebbtide.devcluster.scheduling import (
    EXTENDER_CONFIG,
    EXTENDER_IDENTITY,
    ebbtide_scheduler_configuration,
    ebbtide_scheduling,
    extender_kubeconfig,
)

pytestmark = pytest.mark.unit


def test_uniform_nodes_are_kwok_managed_with_the_requested_resources() -> None:
    nodes = uniform_nodes(count=2, cpu="4", memory="8Gi", pods=20, labels={"zone": "a"})
    manifest = nodes[1].manifest()
    assert [n.name for n in nodes] == ["kwok-node-0", "kwok-node-1"]
    assert manifest["metadata"]["annotations"] == {"kwok.x-k8s.io/node": "fake"}
    assert manifest["metadata"]["labels"]["zone"] == "a"
    assert manifest["metadata"]["labels"][DEV_NODE_LABEL] == "true"
    assert manifest["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi", "pods": "20"}


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [((), {}), (("a=b", "c="), {"a": "b", "c": ""}), (("k=v=w",), {"k": "v=w"})],
)
def test_node_labels_parse_key_value_pairs(pairs: tuple[str, ...], expected: dict[str, str]) -> None:
    assert parse_labels(pairs) == expected


@pytest.mark.parametrize("bad", ["novalue", "=v"])
def test_a_malformed_node_label_is_refused_with_its_text(bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        parse_labels((bad,))


def test_true_booleans_become_bare_flags_and_false_stays_explicit() -> None:
    assert _flags({"port": 1, "on": True, "off": False}) == ["--port=1", "--on", "--off=false"]


def test_allocated_ports_are_distinct() -> None:
    ports = Ports.allocate()
    values = list(vars(ports).values())
    assert len(set(values)) == len(values)


def test_ports_survive_a_round_trip_through_the_manifest(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    assert layout.load_ports() is None
    ports = Ports.allocate()
    layout.save_ports(ports, versions={"kubernetes": "v0"})
    assert layout.load_ports() == ports


def test_scrape_targets_are_written_for_file_sd_and_removed_when_empty(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    path = write_scrape_targets(layout, job="web", targets=["127.0.0.1:9000"], labels={"team": "a"})
    assert json.loads(path.read_text()) == [
        {"targets": ["127.0.0.1:9000"], "labels": {"job": "web", "team": "a"}}
    ]
    write_scrape_targets(layout, job="web", targets=[])
    assert not path.exists()


def test_issued_certificates_chain_to_their_ca_and_carry_the_identity(tmp_path: Path) -> None:
    ca = make_ca(tmp_path, name="ca", common_name="test-ca")
    leaf = issue(
        ca,
        tmp_path,
        name="admin",
        common_name="alice",
        organisations=("system:masters",),
        ip_addresses=("127.0.0.1",),
        client=True,
        server=True,
    )
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    cert = x509.load_pem_x509_certificate(leaf.cert.read_bytes())
    cert.verify_directly_issued_by(ca_cert)
    assert cert.subject.rfc4514_string() == "CN=alice,O=system:masters"
    assert isinstance(ca_cert.public_key(), ec.EllipticCurvePublicKey)
    # Made once: a second call keeps the existing files (the cluster's identity must not change).
    before = leaf.cert.read_bytes()
    issue(ca, tmp_path, name="admin", common_name="bob")
    assert leaf.cert.read_bytes() == before


def test_the_extender_runs_with_a_given_identity_when_one_is_placed(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    own = layout.component_kubeconfig("ebbtide-extender")
    assert extender_kubeconfig(layout) == own
    given = layout.config_file(EXTENDER_IDENTITY)
    given.parent.mkdir(parents=True)
    given.write_text("apiVersion: v1\nkind: Config\n")
    assert extender_kubeconfig(layout) == given
    [extender, _] = ebbtide_scheduling(layout, Ports.allocate(), tmp_path / "bin")
    assert f"--kubeconfig={given}" in extender.argv


def test_the_default_nodes_are_the_three_kwok_nodes_the_scenarios_name() -> None:
    assert [node.name for node in default_nodes()] == ["kwok-node-0", "kwok-node-1", "kwok-node-2"]
    assert default_nodes() == uniform_nodes(count=3)


def test_kwok_serves_the_fake_nodes_through_its_own_kubeconfig_and_stages(tmp_path: Path) -> None:
    layout, ports, bins = Layout(tmp_path), Ports.allocate(), tmp_path / "bin"
    component = kwok(layout, ports, bins)
    assert component.argv[0] == str(bins / "kwok")
    assert f"--kubeconfig={layout.component_kubeconfig('kwok')}" in component.argv
    assert f"--config={layout.config_file('kwok.yaml')}" in component.argv
    assert "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake" in component.argv
    [in_cluster] = [c for c in control_plane(layout, ports, bins, "prometheus") if c.name == "kwok"]
    assert in_cluster.argv == component.argv


def test_the_second_scheduler_elects_on_its_lease_in_kube_system_unless_told_otherwise(
    tmp_path: Path,
) -> None:
    layout, ports = Layout(tmp_path), Ports.allocate()
    election = ebbtide_scheduler_configuration(layout, ports)["leaderElection"]
    assert (election["resourceNamespace"], election["resourceName"]) == ("kube-system", SCHEDULER_LEASE)
    chart = ebbtide_scheduler_configuration(
        layout, ports, lease_name="ebbtide-scheduler", lease_namespace="rel"
    )
    assert (chart["leaderElection"]["resourceNamespace"], chart["leaderElection"]["resourceName"]) == (
        "rel",
        "ebbtide-scheduler",
    )
    [extender] = chart["extenders"]
    assert extender["urlPrefix"] == f"http://127.0.0.1:{ports.ebbtide_extender}"
    assert (extender["nodeCacheCapable"], extender["ignorable"], extender["httpTimeout"]) == (
        True,
        True,
        "2s",
    )


@pytest.mark.parametrize(
    ("extender_file", "filtering"),
    [(None, True), ("filter: {ceilings: {cpu: 0.8}}\n", True), ("filter: {ceilings: {}}\n", False)],
    ids=["no file: the default ceiling", "a ceiling", "no ceiling"],
)
def test_the_second_scheduler_names_the_filter_verb_only_when_the_extender_has_a_ceiling(
    tmp_path: Path, extender_file: str | None, filtering: bool
) -> None:
    layout, ports = Layout(tmp_path), Ports.allocate()
    if extender_file is not None:
        path = layout.config_file(EXTENDER_CONFIG)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(extender_file)
    [extender] = ebbtide_scheduler_configuration(layout, ports)["extenders"]
    assert ("filterVerb" in extender) is filtering
    assert extender["prioritizeVerb"] == "prioritize"
