"""Every flag of every command also comes from ``EBBTIDE_<FLAG>``; the command line wins."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from ebbtide.cli import main
from ebbtide.commands.environment import env_var_name

pytestmark = pytest.mark.unit


def all_options() -> Iterator[tuple[str, click.Option]]:
    context = click.Context(main)
    stack: list[tuple[str, click.Command]] = [
        (name, command)
        for name in main.list_commands(context)
        if (command := main.get_command(context, name)) is not None
    ]
    while stack:
        path, command = stack.pop()
        for param in command.params:
            if isinstance(param, click.Option):
                yield path, param
        if isinstance(command, click.Group):
            stack.extend((f"{path} {name}", sub) for name, sub in command.commands.items())


def test_the_variable_is_the_prefix_and_the_long_name() -> None:
    option = click.Option(["-o", "--prometheus-url"])
    assert env_var_name(option) == "EBBTIDE_PROMETHEUS_URL"


def test_every_long_option_of_every_command_has_its_variable() -> None:
    options = list(all_options())
    assert len(options) > 30
    for path, option in options:
        long_names = [name for name in option.opts if name.startswith("--")]
        if long_names and long_names[0] != "--help":
            assert option.envvar, f"ebbtide {path} {long_names[0]} has no variable"
            assert str(option.envvar).startswith("EBBTIDE_"), (path, option.envvar)


def test_help_names_the_variables() -> None:
    result = CliRunner().invoke(main, ["operator", "--help"])
    assert "EBBTIDE_LOG_FORMAT" in result.output
    assert "EBBTIDE_CONTROLLERS" in result.output


def test_a_variable_sets_the_option_and_the_command_line_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    @click.command()
    @click.option("--log-level", default="info")
    def probe(log_level: str) -> None:
        seen.append(log_level)

    from ebbtide.commands.environment import bind_environment

    bind_environment(probe)
    runner = CliRunner()
    runner.invoke(probe, [], env={"EBBTIDE_LOG_LEVEL": "debug"}, catch_exceptions=False)
    runner.invoke(probe, ["--log-level=error"], env={"EBBTIDE_LOG_LEVEL": "debug"}, catch_exceptions=False)
    runner.invoke(probe, [], env={}, catch_exceptions=False)
    assert seen == ["debug", "error", "info"]
