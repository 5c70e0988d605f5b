"""``--kubeconfig`` and ``--context``, and turning them into a working API client or a one-line error.

The rules that pick the cluster are :mod:`ebbtide.kube.client`'s; this module gives every command
the same two options and the same error (click's ``Error: ...`` line and exit status 1, never a
traceback) when no cluster can be used.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from kubernetes import client

from ebbtide.kube.client import ClusterAccess, ClusterConfigError, load_configuration, probe_api_server

F = TypeVar("F", bound=Callable[..., Any])


def cluster_options(command: F) -> F:
    """Add ``--kubeconfig`` and ``--context`` to a click command."""
    command = click.option(
        "--context",
        default=None,
        help="Kubeconfig context to use instead of the current one.",
    )(command)
    return click.option(
        "--kubeconfig",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="Kubeconfig file; default: $KUBECONFIG, else the pod's service account, else ~/.kube/config.",
    )(command)


def connect(access: ClusterAccess, *, probe: bool = True) -> client.ApiClient:
    """An API client for ``access``; with ``probe``, one that has reached the API server.

    Raises ``click.ClickException`` with the reason when there is no cluster to use.
    """
    try:
        api_client = client.ApiClient(load_configuration(access))
        if probe:
            probe_api_server(api_client)
    except ClusterConfigError as error:
        raise click.ClickException(str(error)) from error
    return api_client
