"""Test-suite wide rules: markers by folder, and no silent passes.

Every test under tests/unit is marked ``unit`` and every test under tests/e2e is marked ``e2e``.
With ``EBBTIDE_STRICT_TESTS=1`` (what CI and ``make test`` set) a run fails when nothing was
collected, when no e2e test ran, or when any test was skipped: missing infrastructure must show up
as a failure, never as a green run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_TESTS = Path(__file__).parent
_STRICT = os.environ.get("EBBTIDE_STRICT_TESTS") == "1"
_outcomes: dict[str, int] = {"skipped": 0, "e2e_passed": 0}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        relative = Path(item.fspath).resolve().relative_to(_TESTS.resolve())
        tier = relative.parts[0]
        if tier in ("unit", "e2e"):
            item.add_marker(getattr(pytest.mark, tier))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _outcomes["skipped"] += 1
    if report.when == "call" and report.passed and "e2e" in report.keywords:
        _outcomes["e2e_passed"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _STRICT or exitstatus not in (0, 5):
        return
    problems = []
    if session.testscollected == 0:
        problems.append("no tests were collected")
    if _outcomes["skipped"]:
        problems.append(f"{_outcomes['skipped']} test(s) skipped")
    selected_e2e = any("e2e" in item.keywords for item in session.items)
    if selected_e2e and not _outcomes["e2e_passed"]:
        problems.append("no e2e test passed")
    if problems:
        session.config.get_terminal_writer().line(
            "EBBTIDE_STRICT_TESTS: " + "; ".join(problems), red=True, bold=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
