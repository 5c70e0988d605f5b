"""The chart's CRDs: its copy of crds/ is current, it renders them verbatim with the keep policy,
and they are all it renders (no kopf peering: the operator runs kopf standalone).

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
    assert not rendered
    assert not (CHART / "crds").exists()


def test_crds_install_false_leaves_the_crds_out() -> None:
    names = [
        crd["metadata"]["name"]
        for crd in by_kind(render({"crds.install": "false"}), "CustomResourceDefinition")
    ]
    assert names == []
