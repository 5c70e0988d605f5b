"""The configuration file is re-read when it changes; an invalid file keeps the last good one."""

import json
import os
from pathlib import Path
from typing import Any

import pytest
from extender_builders import client_for, extender, filled_cache, names_args, node_object, pod_object, run

from ebbtide.errors import InvalidConfigError
from ebbtide.extender.config import ExtenderConfig, load_config, parse_config
from ebbtide.extender.config_reload import ConfigHolder
from ebbtide.extender.telemetry import Telemetry

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "extender-config.yaml"
NODES = [node_object("small", cpu="2", memory="8Gi"), node_object("large", cpu="8", memory="8Gi")]
RESOURCE_MATCH = "profiles: {default: {weights: {resourceMatch: 1}}}\n"
BALANCE = "profiles: {default: {weights: {balancedAllocation: 1}}}\n"


def write(path: Path, text: str, *, tick: int) -> None:
    path.write_text(text)
    # Make the change visible even on file systems with a coarse modification time.
    os.utime(path, ns=(tick * 1_000_000_000, tick * 1_000_000_000))


def test_the_example_configuration_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert config.kind == "ExtenderConfiguration"
    assert config.scoring_settings().profiles.default.name == "balanced"


def test_an_empty_file_is_the_default_configuration() -> None:
    assert parse_config("") == ExtenderConfig()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("profiles: [", id="not YAML"),
        pytest.param("- a list", id="not a mapping"),
        pytest.param("defaultProfile: missing", id="default profile not defined"),
        pytest.param("profiles: {p: {weights: {loadAware: -1}}}\ndefaultProfile: p", id="negative weight"),
        pytest.param("loadAware: {targetUtilisation: 1.5}", id="target beyond 1"),
        pytest.param("surprise: true", id="unknown field"),
        pytest.param("kind: Deployment", id="another kind"),
    ],
)
def test_invalid_configurations_are_refused(text: str) -> None:
    with pytest.raises(InvalidConfigError):
        parse_config(text)


def test_a_changed_file_replaces_the_configuration_and_an_invalid_one_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "extender.yaml"
    write(path, RESOURCE_MATCH, tick=1)
    telemetry = Telemetry()
    holder = ConfigHolder(initial=load_config(path), path=path, telemetry=telemetry)

    async def scenario() -> list[Any]:
        seen: list[Any] = [await holder.check()]  # unchanged
        write(path, BALANCE, tick=2)
        seen.append(await holder.check())
        seen.append(dict(holder.scoring().profiles.default.weights))
        write(path, "profiles: {default: {weights: {loadAware: -3}}}\n", tick=3)
        seen.append(await holder.check())
        seen.append(dict(holder.scoring().profiles.default.weights))
        seen.append(holder.last_error is not None)
        path.unlink()
        seen.append(await holder.check())
        write(path, RESOURCE_MATCH, tick=4)
        seen.append(await holder.check())
        seen.append(dict(holder.scoring().profiles.default.weights))
        return seen

    assert run(scenario()) == [
        False,
        True,
        {"balancedAllocation": 1.0},
        False,
        {"balancedAllocation": 1.0},
        True,
        False,
        True,
        {"resourceMatch": 1.0},
    ]
    metrics = telemetry.exposition().decode()
    assert 'ebbtide_extender_config_reloads_total{result="ok"} 2.0' in metrics
    assert 'ebbtide_extender_config_reloads_total{result="error"} 2.0' in metrics
    assert "ebbtide_extender_config_valid 1.0" in metrics


def test_a_reloaded_profile_changes_the_next_answer(tmp_path: Path) -> None:
    path = tmp_path / "extender.yaml"
    write(path, RESOURCE_MATCH, tick=1)
    built = extender(filled_cache(NODES), config=load_config(path), path=path)
    body = names_args(pod_object(cpu="1", memory="4Gi"), ["small", "large"])

    async def before_and_after() -> tuple[dict[str, int], dict[str, int]]:
        async with client_for(built) as client:
            before = await (await client.post("/prioritize", data=body)).json()
            write(path, BALANCE, tick=2)
            assert await built.config.check()
            after = await (await client.post("/prioritize", data=body)).json()
        return _scores(before), _scores(after)

    before, after = run(before_and_after())
    # Least allocated favours the large node; balanced allocation the small one (1/2 cpu, 1/2 memory).
    assert before["large"] > before["small"]
    assert after["small"] > after["large"]


def test_the_command_line_prometheus_url_survives_reloads(tmp_path: Path) -> None:
    path = tmp_path / "extender.yaml"
    write(path, "load: {prometheusUrl: http://from-file:9090}\n", tick=1)
    holder = ConfigHolder(initial=load_config(path), path=path, prometheus_url="http://flag:9090")
    write(path, "load: {prometheusUrl: http://changed:9090}\n", tick=2)
    assert run(holder.check())
    assert holder().load.prometheus_url == "http://flag:9090"


def _scores(answer: list[dict[str, Any]]) -> dict[str, int]:
    return {entry["Host"]: entry["Score"] for entry in json.loads(json.dumps(answer))}
