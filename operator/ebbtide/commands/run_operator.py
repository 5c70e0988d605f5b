"""``ebbtide operator``: run the ScalingPolicy and FairQueue controllers (and the admission webhook)."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import click

from ebbtide.controllers.runtime import OperatorConfig, run

#: ``--priority auto`` priorities fall in ``[0, AUTO_PRIORITY_RANGE)``.
AUTO_PRIORITY_RANGE = 1_000_000
#: Where ``--priority auto`` reads the pod's name (set it from the downward API).
POD_NAME_ENV = "POD_NAME"


def auto_priority(pod_name: str) -> int:
    """A peering priority derived from ``pod_name``: the same for the same name, and different
    for two names except with probability ~1/AUTO_PRIORITY_RANGE.

    kopf runs only the live peer with the highest priority and freezes every peer when two share
    it, so the replicas of one Deployment need distinct priorities without being told them.
    """
    return zlib.crc32(pod_name.encode("utf-8")) % AUTO_PRIORITY_RANGE


def _peering_priority(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """``--priority``: an integer, or ``auto`` for :func:`auto_priority` of ``$POD_NAME``."""
    text = value.strip()
    if text == "auto":
        pod_name = os.environ.get(POD_NAME_ENV, "")
        if not pod_name:
            raise click.BadParameter(f"'auto' needs the pod's name in ${POD_NAME_ENV}", ctx, param)
        return auto_priority(pod_name)
    try:
        return int(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither an integer nor 'auto'", ctx, param) from None


@click.command("operator")
@click.option(
    "--kubeconfig",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Kubeconfig to use; in a pod, the service account is used instead.",
)
@click.option(
    "--prometheus-url",
    envvar="EBBTIDE_PROMETHEUS_URL",
    default="http://127.0.0.1:9090",
    show_default=True,
    help="Prometheus that holds the load metrics.",
)
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    help="Watch only these namespaces (repeatable); default: the whole cluster.",
)
@click.option(
    "--controllers", default="scaling,queueing", show_default=True, help="Comma-separated controllers to run."
)
@click.option("--metrics-host", default="0.0.0.0", show_default=True)
@click.option(
    "--metrics-port",
    default=8080,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of /metrics.",
)
@click.option(
    "--health-port",
    default=8081,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of the liveness probe (/healthz).",
)
@click.option(
    "--peering",
    "peering_name",
    default=None,
    help="kopf peering name: replicas with the same name elect one active instance.",
)
@click.option(
    "--priority",
    default="0",
    metavar="INTEGER|auto",
    callback=_peering_priority,
    show_default=True,
    help="Peering priority (the highest live one is active); 'auto' derives a stable one from "
    f"${POD_NAME_ENV}, distinct between replicas.",
)
@click.option("--webhook-host", default="0.0.0.0", show_default=True)
@click.option("--webhook-port", default=9443, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--webhook-public-host",
    default=None,
    help="Host the API server uses to reach the webhook (default: a self-signed local server).",
)
@click.option(
    "--webhook-cert-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PEM certificate (chain) the webhook serves, e.g. from a mounted Secret; with "
    "--webhook-key-file. Default: a self-signed certificate made at start-up.",
)
@click.option(
    "--webhook-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PEM private key of --webhook-cert-file.",
)
def run_operator(
    kubeconfig: Path | None,
    prometheus_url: str,
    namespaces: tuple[str, ...],
    controllers: str,
    metrics_host: str,
    metrics_port: int,
    health_port: int,
    peering_name: str | None,
    priority: int,
    webhook_host: str,
    webhook_port: int,
    webhook_public_host: str | None,
    webhook_cert_file: Path | None,
    webhook_key_file: Path | None,
) -> None:
    """Run the ebbtide operator until interrupted."""
    if (webhook_cert_file is None) != (webhook_key_file is None):
        raise click.UsageError("--webhook-cert-file and --webhook-key-file must be given together")
    config = OperatorConfig(
        kubeconfig=kubeconfig,
        prometheus_url=prometheus_url,
        namespaces=namespaces,
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        health_port=health_port,
        peering_name=peering_name,
        priority=priority,
        webhook_host=webhook_host,
        webhook_port=webhook_port,
        webhook_public_host=webhook_public_host,
        webhook_cert_file=webhook_cert_file,
        webhook_key_file=webhook_key_file,
        controllers=tuple(c.strip() for c in controllers.split(",") if c.strip()),
    )
    run(config)
