"""``--kubeconfig`` and ``--context``, and turning them into a working API client or a one-line error.

The rules that pick the cluster are :mod:`ebbtide.kube.client`'s; this module gives every command
the same two options and the same error (click's ``Error: ...`` line and exit status 1, never a
traceback) when no cluster can be used, or when the API refuses a request (:func:`api_errors`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from kubernetes import client
from urllib3.exceptions import HTTPError

from ebbtide.errors import ClusterConfigError
from ebbtide.kube.client import ClusterAccess, load_configuration, probe_api_server, wait_for_api_server
from ebbtide.kube.errors import ApiError, ForbiddenError, NotFoundError, translated

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


def connect(access: ClusterAccess, *, probe: bool = True, patience: float = 0) -> client.ApiClient:
    """An API client for ``access``; with ``probe``, one that has reached the API server, asked
    again for up to ``patience`` seconds while it does not answer.

    Raises ``click.ClickException`` with the reason when there is no cluster to use.
    """
    try:
        api_client = client.ApiClient(load_configuration(access))
        if probe and patience > 0:
            wait_for_api_server(api_client, timeout=patience)
        elif probe:
            probe_api_server(api_client)
    except ClusterConfigError as error:
        raise click.ClickException(str(error)) from error
    return api_client


@contextmanager
def api_errors() -> Iterator[None]:
    """API failures as one line (click's ``Error: ...``), never a traceback."""
    try:
        with translated():
            yield
    except NotFoundError as error:
        raise click.ClickException(f"not found: {error}; are ebbtide's CRDs installed?") from error
    except ForbiddenError as error:
        raise click.ClickException(f"not allowed: {error.message or error}") from error
    except ApiError as error:
        raise click.ClickException(f"the API server answered {error}") from error
    except (HTTPError, OSError) as error:
        raise click.ClickException(f"cannot reach the Kubernetes API: {error}") from error
