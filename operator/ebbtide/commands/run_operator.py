"""``ebbtide operator``: run the ScalingPolicy and FairQueue controllers (and the admission webhook)."""

from __future__ import annotations

from pathlib import Path

import click

from ebbtide.controllers.runtime import OperatorConfig, run


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
@click.option("--priority", default=0, show_default=True, help="Peering priority (highest is active).")
@click.option("--webhook-host", default="0.0.0.0", show_default=True)
@click.option("--webhook-port", default=9443, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--webhook-public-host",
    default=None,
    help="Host the API server uses to reach the webhook (default: a self-signed local server).",
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
) -> None:
    """Run the ebbtide operator until interrupted."""
    run(
        OperatorConfig(
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
            controllers=tuple(c.strip() for c in controllers.split(",") if c.strip()),
        )
    )
