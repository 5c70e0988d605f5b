"""Where every benchmark writes: bench/results/, created on first use.

A fresh clone has no bench/results/ (it is git-ignored); each benchmark asks for its file
paths here before it writes, so none fails on a missing folder after a long run.
"""

from __future__ import annotations

from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def result_path(name: str) -> Path:
    """``bench/results/<name>``, with the folder created if missing."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    return RESULTS_DIR / name
