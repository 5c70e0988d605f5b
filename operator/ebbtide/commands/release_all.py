"""``ebbtide release-all``: hand back everything ebbtide holds before it is removed.

The Helm chart runs it as a pre-delete hook (see the README, "Uninstall"); run it by hand after
stopping an operator for good that was not installed by the chart.
"""

from __future__ import annotations

from pathlib import Path

import click

from ebbtide.commands.cluster_options import api_errors, cluster_options, connect
from ebbtide.kube.client import ClusterAccess


def _deployment(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    namespace, _, name = value.partition("/")
    if not namespace or not name:
        raise click.BadParameter(f"{value!r} is not NAMESPACE/NAME", ctx, param)
    return namespace, name


@click.command("release-all")
@cluster_options
@click.option(
    "--webhook-configuration",
    "webhook_configurations",
    multiple=True,
    help="MutatingWebhookConfiguration of the fair-queue webhook to delete first (repeatable).",
)
@click.option(
    "--operator-deployment",
    metavar="NAMESPACE/NAME",
    callback=_deployment,
    default=None,
    help="The operator's Deployment, scaled to zero (and waited for) before anything is released.",
)
def release_all(
    kubeconfig: Path | None,
    context: str | None,
    webhook_configurations: tuple[str, ...],
    operator_deployment: tuple[str, str] | None,
) -> None:
    """Release everything ebbtide holds, for uninstalling it: delete the fair-queue webhook
    configuration, stop the operator, admit every queued Pod and Job still held back (recorded as
    released, not as a queue's decision), and remove the finalizer an earlier ebbtide left on a
    ScalingPolicy (kopf's, on every policy), so policies and their namespaces can be deleted
    without the operator."""
    from ebbtide.kube.release_all import release_all as release

    api_client = connect(ClusterAccess(kubeconfig=kubeconfig, context=context))
    try:
        with api_errors():
            report = release(
                api_client,
                webhook_configurations=webhook_configurations,
                operator_deployment=operator_deployment,
            )
    except TimeoutError as error:
        raise click.ClickException(str(error)) from error
    for name in report.webhook_configurations:
        click.echo(f"deleted MutatingWebhookConfiguration {name}")
    if report.stopped:
        click.echo(f"stopped Deployment {report.stopped}")
    for name in report.released:
        click.echo(f"released {name}")
    for name in report.unfinalized:
        click.echo(f"removed kopf's finalizer from ScalingPolicy {name}")
    click.echo(
        f"released {len(report.released)} queued workload(s), "
        f"unblocked deletion of {len(report.unfinalized)} ScalingPolicy(ies)"
    )
