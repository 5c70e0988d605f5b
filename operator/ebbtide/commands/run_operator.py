"""``ebbtide operator``: run the ScalingPolicy and FairQueue controllers (and the admission webhook)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import click

from ebbtide.api.duration import parse_duration
from ebbtide.commands.cluster_options import cluster_options, connect
from ebbtide.commands.logging_options import configure_logging, logging_options
from ebbtide.commands.prometheus_options import credentials_from, prometheus_credential_options
from ebbtide.controllers.registration import CONTROLLERS
from ebbtide.controllers.runtime import OperatorConfig, run
from ebbtide.errors import PrometheusUnusableError
from ebbtide.kube.client import ClusterAccess
from ebbtide.metrics.prometheus_access import PrometheusCredentials
from ebbtide.metrics.prometheus_probe import probe_prometheus

logger = logging.getLogger(__name__)


def _controller_names(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    """``--controllers``: comma-separated names, each one of :data:`CONTROLLERS`."""
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in CONTROLLERS]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown controller {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"known: {', '.join(sorted(CONTROLLERS))}",
            ctx,
            param,
        )
    return names


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> dt.timedelta:
    """A duration option (``90s``, ``8760h``), positive."""
    try:
        duration = parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from None
    if duration <= dt.timedelta(0):
        raise click.BadParameter(f"{value!r} is not a positive duration", ctx, param)
    return duration


@click.command("operator")
@cluster_options
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
    "--controllers",
    default="scaling,queueing",
    show_default=True,
    callback=_controller_names,
    help="Comma-separated controllers to run.",
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
    "--startup-timeout",
    default=120.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds to keep asking an API server that does not answer at start before giving up.",
)
@click.option(
    "--health-port",
    default=8081,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of the liveness probe (/healthz).",
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
@click.option(
    "--webhook-cert-secret",
    default=None,
    metavar="NAME",
    help="Keep the webhook's CA and certificate in this Secret of the operator's namespace (it must "
    "exist; it may be empty), renewing them before they expire and keeping --webhook-configuration's "
    "caBundle in step; every replica serves what the Secret holds.",
)
@click.option(
    "--webhook-configuration",
    default=None,
    metavar="NAME",
    help="The MutatingWebhookConfiguration whose caBundle --webhook-cert-secret keeps.",
)
@click.option(
    "--webhook-cert-host",
    "webhook_cert_hosts",
    multiple=True,
    metavar="HOST",
    help="A DNS name or IP address the kept certificate is for, as the API server calls the "
    "webhook (repeatable; the first is its common name).",
)
@click.option(
    "--webhook-cert-validity",
    default="8760h",
    show_default=True,
    callback=_duration,
    help="How long a kept serving certificate is valid; renewed when a third of it remains.",
)
@click.option(
    "--webhook-ca-validity",
    default="87600h",
    show_default=True,
    callback=_duration,
    help="How long a kept CA is valid; rotated when a third of it remains.",
)
@click.option(
    "--webhook-cert-refresh",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds between two reads of --webhook-cert-secret: how soon a replica serves a renewed "
    "certificate.",
)
@prometheus_credential_options
@logging_options
def run_operator(
    kubeconfig: Path | None,
    context: str | None,
    prometheus_url: str,
    namespaces: tuple[str, ...],
    controllers: tuple[str, ...],
    metrics_host: str,
    metrics_port: int,
    health_port: int,
    startup_timeout: float,
    webhook_host: str,
    webhook_port: int,
    webhook_public_host: str | None,
    webhook_cert_file: Path | None,
    webhook_key_file: Path | None,
    webhook_cert_secret: str | None,
    webhook_configuration: str | None,
    webhook_cert_hosts: tuple[str, ...],
    webhook_cert_validity: dt.timedelta,
    webhook_ca_validity: dt.timedelta,
    webhook_cert_refresh: float,
    log_level: str,
    log_format: str,
    **prometheus_options: Any,
) -> None:
    """Run the ebbtide operator until interrupted.

    Before starting, it checks that the cluster answers (asking again for --startup-timeout
    seconds while it does not) and, when the scaling controller runs, that --prometheus-url and
    its credentials are usable: a mistake there ends it at once with one line saying which. A
    Prometheus that does not answer yet is logged in one line, and the operator starts anyway.
    """
    if (webhook_cert_file is None) != (webhook_key_file is None):
        raise click.UsageError("--webhook-cert-file and --webhook-key-file must be given together")
    _check_kept_certificate(
        secret=webhook_cert_secret,
        configuration=webhook_configuration,
        hosts=webhook_cert_hosts,
        files=webhook_cert_file is not None,
        validities=(webhook_cert_validity, webhook_ca_validity),
    )
    configure_logging(level=log_level, log_format=log_format)
    credentials = credentials_from(prometheus_options)
    # An API server that is down (restarting, or not up yet) is waited for, so a restart during an
    # outage recovers by itself; a refusal or a cluster that never answers ends with one line.
    connect(ClusterAccess(kubeconfig=kubeconfig, context=context), patience=startup_timeout)
    if "scaling" in controllers:
        _check_prometheus(prometheus_url, credentials)
    config = OperatorConfig(
        kubeconfig=kubeconfig,
        context=context,
        prometheus_url=prometheus_url,
        prometheus_credentials=credentials,
        namespaces=namespaces,
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        health_port=health_port,
        webhook_host=webhook_host,
        webhook_port=webhook_port,
        webhook_public_host=webhook_public_host,
        webhook_cert_file=webhook_cert_file,
        webhook_key_file=webhook_key_file,
        webhook_cert_secret=webhook_cert_secret,
        webhook_configuration=webhook_configuration,
        webhook_cert_hosts=webhook_cert_hosts,
        webhook_cert_validity=webhook_cert_validity,
        webhook_ca_validity=webhook_ca_validity,
        webhook_cert_refresh=webhook_cert_refresh,
        controllers=controllers,
    )
    run(config)


def _check_kept_certificate(
    *,
    secret: str | None,
    configuration: str | None,
    hosts: tuple[str, ...],
    files: bool,
    validities: tuple[dt.timedelta, dt.timedelta],
) -> None:
    """Refuse --webhook-cert-secret without what it needs, or beside certificate files."""
    if secret is None:
        return
    if files:
        raise click.UsageError("--webhook-cert-secret and --webhook-cert-file exclude each other")
    if configuration is None or not hosts:
        raise click.UsageError("--webhook-cert-secret needs --webhook-configuration and --webhook-cert-host")
    serving, ca = validities
    if serving > ca:
        raise click.UsageError("--webhook-cert-validity must not exceed --webhook-ca-validity")


def _check_prometheus(url: str, credentials: PrometheusCredentials) -> None:
    """End with one line on a configuration mistake; log one line when nobody answers yet.

    FairQueue admission, the webhook and leadership need no Prometheus, and a chart may well start
    before it, so its absence stops nothing: each ScalingPolicy holds its target while the load
    cannot be read (its MetricsAvailable condition says why) and resumes when Prometheus answers.
    """
    try:
        problem = probe_prometheus(url, credentials=credentials)
    except PrometheusUnusableError as error:
        raise click.ClickException(str(error)) from error
    if problem is not None:
        logger.warning(
            "Prometheus does not answer yet (%s); starting anyway: ScalingPolicies hold their "
            "targets and say so in their MetricsAvailable condition until it does",
            problem.message,
        )
