"""Every option of every ``ebbtide`` command can also be set from the environment.

The variable is ``EBBTIDE_`` and the option's long name in upper snake case, whichever the
sub-command: ``--prometheus-url`` reads ``EBBTIDE_PROMETHEUS_URL``, ``--log-level``
``EBBTIDE_LOG_LEVEL``. So one variable in a pod's environment (or a shell's) sets the same
setting for every command that has it. The command line wins over the environment, the
environment over the default (click's precedence); ``--help`` names each option's variable.
Positional arguments are not bound: they have no name a reader would guess.
"""

from __future__ import annotations

from typing import Final

import click

ENV_PREFIX: Final = "EBBTIDE_"


def env_var_name(option: click.Option) -> str | None:
    """``EBBTIDE_PROMETHEUS_URL`` for ``--prometheus-url``; None for an option without a long name."""
    long_names = [name for name in option.opts if name.startswith("--")]
    if not long_names:
        return None
    return ENV_PREFIX + long_names[0][2:].replace("-", "_").upper()


def bind_environment(command: click.Command) -> click.Command:
    """Give every option of ``command`` (and of its sub-commands) its variable; an option that
    already names one keeps it. Returns ``command``."""
    for param in command.params:
        if isinstance(param, click.Option) and not param.envvar:
            param.envvar = env_var_name(param)
            param.show_envvar = param.envvar is not None
    if isinstance(command, click.Group):
        for sub_command in command.commands.values():
            bind_environment(sub_command)
    return command
