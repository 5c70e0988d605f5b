"""The benchmarks import one another by bare module name (``python bench/<name>.py`` puts bench/
first on sys.path); their tests import them the same way."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
