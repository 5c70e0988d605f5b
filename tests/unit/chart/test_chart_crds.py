"""The chart's CRDs: its copy of crds/ is current, it renders them verbatim with the keep policy,
and the shared kopf peering CRD is what kopf expects.

Refresh the copy with ``scripts/sync-chart-crds.sh`` after ``ebbtide crds``.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml
from tests.unit.chart.chart_rendering import CHART, REPO, by_kind, render

pytestmark = pytest.mark.unit

SOURCE = REPO / "crds"
COPY = CHART / "files" / "crds"


def test_the_charts_copy_of_the_crds_is_identical_to_crds() -> None:
    source = {path.name: path.read_bytes() for path in SOURCE.glob("*.yaml")}
    copy = {path.name: path.read_bytes() for path in COPY.glob("*.yaml")}
    assert source, "crds/ holds no CRDs"
    stale = sorted(name for name in source.keys() | copy.keys() if source.get(name) != copy.get(name))
    assert not stale, f"charts/ebbtide/files/crds is stale ({stale}): run scripts/sync-chart-crds.sh"


def test_the_sync_script_reports_a_current_copy() -> None:
    result = subprocess.run(
        [str(REPO / "scripts" / "sync-chart-crds.sh"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_crds_render_verbatim_with_labels_and_the_keep_policy() -> None:
    rendered = {crd["metadata"]["name"]: crd for crd in by_kind(render(), "CustomResourceDefinition")}
    for path in SOURCE.glob("*.yaml"):
        source = yaml.safe_load(path.read_text())
        # The template rewrites metadata, so anything the generator puts there would be lost.
        assert set(source["metadata"]) == {"name"}, f"{path.name}: metadata beyond the name"
        crd = rendered.pop(source["metadata"]["name"])
        assert crd["spec"] == source["spec"]
        assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
        assert crd["metadata"]["labels"]["app.kubernetes.io/component"] == "crds"
    # What is left comes from the chart's crds/ folder: the shared kopf peering CRD.
    assert list(rendered) == ["clusterkopfpeerings.kopf.dev"]


def test_crds_install_false_leaves_the_crds_out() -> None:
    names = [
        crd["metadata"]["name"]
        for crd in by_kind(render({"crds.install": "false"}), "CustomResourceDefinition")
    ]
    assert names == ["clusterkopfpeerings.kopf.dev"]  # Helm's crds/ folder: --skip-crds leaves it out


def test_the_kopf_peering_crd_is_the_one_kopf_writes_its_peers_into() -> None:
    [crd] = [
        crd
        for crd in yaml.safe_load_all((CHART / "crds" / "clusterkopfpeerings.kopf.dev.yaml").read_text())
        if crd
    ]
    spec = crd["spec"]
    assert (spec["group"], spec["scope"], spec["names"]["kind"]) == (
        "kopf.dev",
        "Cluster",
        "ClusterKopfPeering",
    )
    [version] = spec["versions"]
    assert version["name"] == "v1" and version["served"] and version["storage"]
    # kopf patches .status through the main resource: a status subresource would drop its writes.
    assert "subresources" not in version
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    assert status == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
