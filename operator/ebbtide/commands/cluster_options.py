"""``--kubeconfig`` and ``--context``, and turning them into a working API client or a one-line error.

The rules that pick the cluster are :mod:`ebbtide.kube.client`'s; this module gives every command
the same two options and the same error (click's ``Error: ...`` line and exit status 1, never a
traceback) when no cluster can be used, or when the API refuses a request (:func:`api_errors`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

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


@contextmanager
def api_errors() -> Iterator[None]:
    """API failures as one line (click's ``Error: ...``), never a traceback."""
    try:
        yield
    except ApiException as error:
        if error.status == 404:
            raise click.ClickException(
                f"the API server does not serve it (404): are ebbtide's CRDs installed? {error.reason}"
            ) from error
        if error.status == 403:
            raise click.ClickException(f"not allowed: {_api_message(error)}") from error
        raise click.ClickException(
            f"the API server answered {error.status}: {_api_message(error)}"
        ) from error
    except (HTTPError, OSError) as error:
        raise click.ClickException(f"cannot reach the Kubernetes API: {error}") from error


def _api_message(error: ApiException) -> str:
    try:
        return str(json.loads(error.body or "{}").get("message") or error.reason)
    except ValueError:
        return str(error.reason)
