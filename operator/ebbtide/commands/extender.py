"""``ebbtide extender``: the HTTP scheduler extender the kube-scheduler calls."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

DEFAULT_PORT = 8888


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML configuration, re-read when it changes (defaults apply without one).",
)
@click.option(
    "--kubeconfig",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Kubeconfig to reach the API server (in-cluster configuration without one).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--prometheus-url",
    default=None,
    help="Prometheus to read node load from (overrides the configuration's load.prometheusUrl).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def extender(
    config_path: Path | None,
    kubeconfig: Path | None,
    host: str,
    port: int,
    prometheus_url: str | None,
    log_level: str,
) -> None:
    """Serve filter and prioritize for the kube-scheduler (nodeCacheCapable, ignorable)."""
    # Imported here so `ebbtide --help` does not load aiohttp, numpy and the Kubernetes client.
    from aiohttp import web
    from kubernetes import client, config

    from ebbtide.errors import InvalidConfigError
    from ebbtide.extender.config import ExtenderConfig, load_config
    from ebbtide.extender.config_reload import ConfigHolder
    from ebbtide.extender.event_loop import new_event_loop
    from ebbtide.extender.runtime import Extender
    from ebbtide.extender.telemetry import Telemetry
    from ebbtide.kube.node_cache import NodeCache

    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        initial = load_config(config_path) if config_path is not None else ExtenderConfig()
    except InvalidConfigError as error:
        raise click.ClickException(str(error)) from error
    if kubeconfig is not None:
        api_client = config.new_client_from_config(config_file=str(kubeconfig))
    else:
        config.load_incluster_config()
        api_client = client.ApiClient()
    telemetry = Telemetry()
    holder = ConfigHolder(
        initial=initial, path=config_path, prometheus_url=prometheus_url, telemetry=telemetry
    )
    cache = NodeCache(virtual_nodes=initial.cache.virtual_nodes, assume_ttl=initial.cache.assume_seconds)
    cache.start(client.CoreV1Api(api_client))
    try:
        app = Extender(config=holder, cluster=cache, telemetry=telemetry).app()
        web.run_app(app, host=host, port=port, access_log=None, print=None, loop=new_event_loop())
    finally:
        cache.stop()
