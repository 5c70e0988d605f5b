"""``ebbtide demo``, the README's first command, runs end to end on a cluster of its own.

A short run (the load pattern compressed into a minute) through the real command: it must go
through all eight steps, scale the web Deployment on the load, admit Jobs from both queues,
place the affinity-keyed pods, write its summary, timeline and plot, and take its cluster down.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from tests.support.cluster import E2ECluster

from ebbtide.devcluster.cluster import DevCluster

CLUSTER = "e2e-demo"


def test_the_demo_runs_every_step_and_leaves_its_results(cluster: E2ECluster, tmp_path: Path) -> None:
    # `cluster` only orders this after the suite's own cluster exists (the binaries are built).
    output = tmp_path / "out"
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "ebbtide",
                "demo",
                f"--name={CLUSTER}",
                "--duration=75s",
                f"--output={output}",
                "--down",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    finally:
        DevCluster(CLUSTER).down()
    transcript = run.stdout + run.stderr
    assert run.returncode == 0, transcript[-4000:]
    for step in range(1, 9):
        assert f"[{step}/8]" in transcript, f"step {step} missing:\n{transcript[-4000:]}"
    assert f"took the cluster {CLUSTER!r} down" in transcript

    summary = json.loads((output / "summary.json").read_text())
    assert summary["first_scale_up_after_ramp"] is not None, "web never scaled up on the ramp"
    assert summary["peak_replicas"] > 2  # examples/web-deployment.yaml starts at 2
    assert {queue["name"]: queue["admitted"] > 0 for queue in summary["queues"]} == {
        "batch-low": True,
        "batch-high": True,
    }
    for deployment, nodes in summary["placement"].items():
        assert len(nodes) == 1, f"{deployment}: pods sharing an affinity key spread over {nodes}"
    with (output / "timeline.csv").open() as timeline:
        rows = list(csv.DictReader(timeline))
    assert len(rows) >= 10, "the live view samples every 2 s for over a minute"
    assert (output / "demo.png").read_bytes().startswith(b"\x89PNG")
