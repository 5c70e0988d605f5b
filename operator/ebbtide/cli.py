"""The single ``ebbtide`` command.

Sub-commands live in ``ebbtide.commands.<name>`` and are imported only when invoked, so
``ebbtide --help`` stays fast and a sub-command's heavy dependencies (statsmodels, aiohttp,
kopf) load only for the sub-command that needs them. Every option of every sub-command can also
be set from an ``EBBTIDE_...`` environment variable (:mod:`ebbtide.commands.environment`).
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from ebbtide import __version__
from ebbtide.commands.environment import bind_environment

# name -> "module:attribute" of a click command or group.
_SUBCOMMANDS: dict[str, str] = {
    "dev": "ebbtide.commands.dev:dev",
    "crds": "ebbtide.commands.crds:crds",
    "admission-policy": "ebbtide.commands.admission_policy:admission_policy",
    "backtest": "ebbtide.commands.backtest:backtest",
    "extender": "ebbtide.commands.extender:extender",
    "operator": "ebbtide.commands.run_operator:run_operator",
    "demo": "ebbtide.commands.demo:demo",
    "release-all": "ebbtide.commands.release_all:release_all",
    "queues": "ebbtide.commands.inspect:queues",
    "queue": "ebbtide.commands.inspect:queue",
    "policies": "ebbtide.commands.inspect:policies",
    "why": "ebbtide.commands.inspect:why",
    "workload": "ebbtide.commands.workload:workload",
    "kind": "ebbtide.commands.kind:kind",
}


class _LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in _SUBCOMMANDS if _is_available(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _SUBCOMMANDS.get(cmd_name)
        if target is None or not _is_available(cmd_name):
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return bind_environment(command)


def _is_available(name: str) -> bool:
    module_name = _SUBCOMMANDS[name].split(":")[0]
    return importlib.util.find_spec(module_name) is not None


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="ebbtide")
def main() -> None:
    """ebbtide: predictive autoscaling, fair queueing and node scoring for Kubernetes."""
