"""The chart's README is generated from values.yaml (scripts/chart_readme.py) and never drifts."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from types import ModuleType

import pytest
from tests.unit.chart.chart_rendering import CHART, REPO

pytestmark = pytest.mark.unit

SCRIPT = REPO / "scripts" / "chart_readme.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chart_readme", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["chart_readme"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_committed_readme_is_what_values_yaml_generates() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_every_leaf_value_of_the_chart_is_in_the_readme() -> None:
    import yaml

    def leaves(data: dict, prefix: str = "") -> list[str]:
        found = []
        for key, value in data.items():
            path = f"{prefix}{key}"
            found += leaves(value, path + ".") if isinstance(value, dict) and value else [path]
        return found

    readme = (CHART / "README.md").read_text()
    missing = [
        p for p in leaves(yaml.safe_load((CHART / "values.yaml").read_text())) if f"`{p}`" not in readme
    ]
    assert not missing


def test_comments_above_a_key_describe_it_within_its_section() -> None:
    text = """# file header, not in any section

# -- First -----
# About the map.
top:
  # The leaf's
  # description.
  leaf: 3

  bare: [a]
# -- Second ---
other: "x|y"
"""
    sections = generator().parse_values(text)
    assert [section.title for section in sections] == ["First", "Second"]
    first = {value.path: value for value in sections[0].values}
    assert list(first) == ["top", "top.leaf", "top.bare"]
    assert (first["top"].leaf, first["top"].description) == (False, "About the map.")
    assert (first["top.leaf"].default, first["top.leaf"].description) == (3, "The leaf's description.")
    assert first["top.bare"].default == ["a"]
    rendered = generator().render(
        sections, chart={"name": "c", "version": "1", "appVersion": "1", "kubeVersion": "x"}
    )
    assert '| `other` | `"x\\|y"` |  |' in rendered  # a pipe would end the cell
