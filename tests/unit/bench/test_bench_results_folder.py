"""Benchmarks run on a fresh clone: bench/results/ is created when missing, by every benchmark."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

BENCH = Path(__file__).resolve().parents[3] / "bench"
#: The scripts a user runs (a main guard); the rest are modules they import. The null extender is a
#: server a benchmark starts, with nothing to write.
BENCHMARKS = sorted(
    p for p in BENCH.glob("*.py") if '__name__ == "__main__"' in p.read_text() and p.stem != "null_extender"
)


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.stem)
def test_every_benchmark_writes_through_the_one_results_helper(script: Path) -> None:
    text = script.read_text()
    assert "from result_files import" in text
    # No path into results/ spelt out by hand, which would bypass the folder's creation.
    assert not re.search(r"""/\s*["']results["']""", text), f"{script.name} names bench/results itself"


def test_a_benchmark_creates_the_results_folder_on_a_fresh_clone(tmp_path: Path) -> None:
    fresh = tmp_path / "bench"
    fresh.mkdir()
    for name in ("result_files.py", "queue_planner_speed.py"):
        shutil.copy(BENCH / name, fresh / name)
    subprocess.run(
        [sys.executable, str(fresh / "queue_planner_speed.py"), "--repeats=1"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert (fresh / "results" / "queue_planner_speed.json").is_file()


def test_make_bench_runs_every_benchmark() -> None:
    makefile = (BENCH.parent / "Makefile").read_text()
    listed = re.search(r"^BENCH \?=(.*?)(?<!\\)$", makefile, re.MULTILINE | re.DOTALL)
    assert listed is not None
    names = set(listed.group(1).replace("\\", " ").split())
    assert names == {p.stem for p in BENCHMARKS}
