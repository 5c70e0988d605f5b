"""``ebbtide demo --kind`` runs end to end on the kind cluster, with real pods and real load.

A short run through the real command, on the suite's cluster once the chart tests are done with
it (this module runs after test_chart.py): all eight steps, the web Deployment of the demo
workload scaled on the request rate Prometheus measures from the load generator's requests,
Jobs whose containers run admitted from both queues, the affinity-keyed pods placed, and the
summary, timeline and plot written as the local demo writes them.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.kind_bed import KindBed

from ebbtide.demo.kind_steps import RELEASE, RELEASE_NAMESPACE
from ebbtide.demo.steps import NAMESPACE
from ebbtide.kind import release

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


def test_the_demo_runs_on_kind_with_real_pods_and_real_load(kind_bed: KindBed, tmp_path: Path) -> None:
    output = tmp_path / "out"
    try:
        run = subprocess.run(
            [
                sys.executable, "-m", "ebbtide", "demo", "--kind", f"--name={kind_bed.cluster.name}",
                "--duration=2m", f"--output={output}", "--keep",
            ],
            capture_output=True,
            text=True,
            timeout=1500,
            check=False,
        )  # fmt: skip
    finally:
        kind_bed.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false", check=False)
        release.uninstall(kind_bed.cluster, release=RELEASE, namespace=RELEASE_NAMESPACE)
    transcript = run.stdout + run.stderr
    assert run.returncode == 0, transcript[-4000:]
    for step in range(1, 9):
        assert f"[{step}/8]" in transcript, f"step {step} missing:\n{transcript[-4000:]}"

    summary = json.loads((output / "summary.json").read_text())
    # The policy reads the request rate Prometheus measures at the pods: a scale-up on the ramp
    # means the load generator's requests reached them.
    assert summary["first_scale_up_after_ramp"] is not None, "web never scaled up on the ramp"
    assert summary["peak_replicas"] >= 3  # examples/kind/web.yaml starts at 1
    assert {queue["name"]: queue["admitted"] > 0 for queue in summary["queues"]} == {
        "batch-low": True,
        "batch-high": True,
    }
    for deployment, nodes in summary["placement"].items():
        assert sum(nodes.values()) == 3, f"{deployment}: {nodes}"
        assert all(node.startswith(kind_bed.cluster.name) for node in nodes), nodes
    with (output / "timeline.csv").open() as timeline:
        rows = list(csv.DictReader(timeline))
    assert len(rows) >= 20, "the live view samples every 2 s for two minutes"
    assert (output / "demo.png").read_bytes().startswith(b"\x89PNG")
    print(transcript[transcript.find("[8/8]") :])
