"""``ebbtide dev``: a real Kubernetes cluster as local processes, for the demo and the tests."""

from __future__ import annotations

import sys

import click

from ebbtide.devcluster.build import ensure_binaries, missing_binaries
from ebbtide.devcluster.cluster import DEFAULT_NAME, DevCluster
from ebbtide.devcluster.nodes import parse_labels, uniform_nodes
from ebbtide.devcluster.paths import bin_dir
from ebbtide.errors import BuildError, LocalClusterError

_name_option = click.option(
    "--name",
    default=DEFAULT_NAME,
    show_default=True,
    help="Which local cluster (each has its own state).",
)


def _progress(message: str) -> None:
    click.echo(message, err=True)


@click.group()
def dev() -> None:
    """Run a local Kubernetes cluster: etcd, apiserver, controller-manager, scheduler, KWOK, Prometheus."""


@dev.command()
def build() -> None:
    """Build the pinned binaries into the cache if they are not there yet."""
    try:
        path = ensure_binaries(_progress)
    except BuildError as error:
        raise click.ClickException(str(error)) from error
    click.echo(str(path))


@dev.command()
@_name_option
@click.option(
    "--nodes",
    "node_count",
    default=3,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="Number of fake nodes.",
)
@click.option("--node-cpu", default="8", show_default=True, help="Allocatable CPU of each node.")
@click.option("--node-memory", default="32Gi", show_default=True, help="Allocatable memory of each node.")
@click.option(
    "--node-pods",
    default=110,
    show_default=True,
    type=click.IntRange(1),
    help="Pod capacity of each node.",
)
@click.option(
    "--node-label",
    "node_labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="A label for every node (repeatable).",
)
@click.option(
    "--extender/--no-extender",
    default=None,
    help="Also run the second scheduler (ebbtide-scheduler) with the ebbtide extender "
    "[default: as the cluster had it, off for a new one].",
)
def up(
    name: str,
    node_count: int,
    node_cpu: str,
    node_memory: str,
    node_pods: int,
    node_labels: tuple[str, ...],
    extender: bool | None,
) -> None:
    """Start the cluster (or whatever part of it is not running) and wait until it is ready."""
    try:
        labels = parse_labels(node_labels)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--node-label") from error
    if missing_binaries():
        _progress(f"first run: building the pinned binaries into {bin_dir()}")
    nodes = uniform_nodes(count=node_count, cpu=node_cpu, memory=node_memory, pods=node_pods, labels=labels)
    try:
        info = DevCluster(name).up(nodes=nodes, extender=extender, progress=_progress)
    except (LocalClusterError, TimeoutError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"kubeconfig: {info.kubeconfig}")
    click.echo(f"prometheus: {info.prometheus_url}")
    click.echo(f"apiserver:  {info.apiserver_url}")
    click.echo(f'run `eval "$(ebbtide dev env --name {name})"` to use kubectl {bin_dir()}/kubectl')


@dev.command()
@_name_option
def down(name: str) -> None:
    """Stop every process of the cluster and delete its state."""
    stopped = DevCluster(name).down()
    click.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@dev.command()
@_name_option
def status(name: str) -> None:
    """Show each component's pid and readiness; exit 1 unless all are ready."""
    cluster = DevCluster(name)
    if not cluster.exists():
        click.echo(f"cluster {name!r} does not exist")
        sys.exit(1)
    rows = cluster.status()
    for row in rows:
        state = "ready" if row.ready else ("running" if row.pid else "stopped")
        click.echo(f"{row.name:<24} {state:<8} {row.pid or '-'}")
    info = cluster.info()
    click.echo(f"kubeconfig: {info.kubeconfig}\nprometheus: {info.prometheus_url}")
    sys.exit(0 if rows and all(row.ready for row in rows) else 1)


@dev.command()
@_name_option
def env(name: str) -> None:
    """Print shell exports for the cluster: eval "$(ebbtide dev env)"."""
    cluster = DevCluster(name)
    if not cluster.exists():
        raise click.ClickException(f"cluster {name!r} does not exist; run `ebbtide dev up` first")
    info = cluster.info()
    click.echo(f"export KUBECONFIG={info.kubeconfig}")
    click.echo(f"export EBBTIDE_PROMETHEUS_URL={info.prometheus_url}")
    click.echo(f'export PATH="{info.bin_dir}:$PATH"')
