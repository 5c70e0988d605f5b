"""The options that say how to reach a Prometheus that wants credentials, for every command that
reads one (see :mod:`ebbtide.metrics.prometheus_access`). Secrets are only ever named by file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ebbtide.errors import CredentialsError
from ebbtide.metrics.prometheus_access import PrometheusCredentials

F = TypeVar("F", bound=Callable[..., Any])
_FILE = click.Path(dir_okay=False, path_type=Path)


def _headers(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        name, sep, content = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", ctx, param)
        pairs.append((name.strip(), content))
    return tuple(pairs)


def prometheus_credential_options(command: F) -> F:
    """Add the credentials options (their values reach the command as ``prometheus_*``)."""
    for option in (
        click.option(
            "--prometheus-tenant",
            default=None,
            help="Tenant sent as X-Scope-OrgID (Mimir, Cortex, Thanos).",
        ),
        click.option(
            "--prometheus-header",
            "prometheus_headers",
            multiple=True,
            callback=_headers,
            metavar="NAME=VALUE",
            help="Extra header sent to Prometheus (repeatable; not for secrets).",
        ),
        click.option(
            "--prometheus-ca-file", type=_FILE, default=None, help="PEM CA bundle to trust for https://."
        ),
        click.option(
            "--prometheus-password-file",
            type=_FILE,
            default=None,
            help="File holding the basic-auth password.",
        ),
        click.option("--prometheus-username", default=None, help="Basic-auth user name."),
        click.option(
            "--prometheus-bearer-token-file",
            type=_FILE,
            default=None,
            help="File holding a bearer token, read again for every request.",
        ),
    ):
        command = option(command)
    return command


def credentials_from(params: dict[str, Any]) -> PrometheusCredentials:
    """The credentials of the options in ``params`` (popped from it); a contradiction or an
    unreadable file is a ``click.UsageError`` / ``click.ClickException``."""
    try:
        credentials = PrometheusCredentials(
            bearer_token_file=params.pop("prometheus_bearer_token_file"),
            username=params.pop("prometheus_username"),
            password_file=params.pop("prometheus_password_file"),
            ca_file=params.pop("prometheus_ca_file"),
            headers=params.pop("prometheus_headers"),
            tenant=params.pop("prometheus_tenant"),
        )
    except CredentialsError as error:
        raise click.UsageError(str(error)) from error
    if problem := credentials.unreadable_file():
        raise click.ClickException(problem)
    return credentials
