"""``ebbtide demo``: the three parts of ebbtide at work on a local cluster, watched live.

A real control plane with KWOK nodes and Prometheus (``ebbtide dev``), the CRDs, the operator,
a load that ramps up and falls back, a ScalingPolicy that scales ahead of it, two weighted
FairQueues with a backlog of Jobs, and Deployments placed by the extender. Every 2 s one line
shows load, forecast, replicas and queues; the end brings a summary, the timeline as CSV and a
plot. See :mod:`ebbtide.demo` for the parts.
"""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path

import click

from ebbtide.api import parse_duration
from ebbtide.demo.exporter import SCRAPE_JOB
from ebbtide.demo.files import DemoFiles
from ebbtide.demo.kind_steps import RELEASE, RELEASE_NAMESPACE, KindDemoRun
from ebbtide.demo.steps import NAMESPACE, DemoRun
from ebbtide.devcluster.cluster import DevCluster
from ebbtide.errors import LocalClusterError
from ebbtide.kind.binaries import ensure_kind
from ebbtide.kind.cluster import KindCluster

# A demo that fails says why in one line: the cluster, a build, the operator, kubectl, a wait.
_FAILURES = (LocalClusterError, TimeoutError)


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        duration = parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from error
    if duration < timedelta(seconds=30):
        raise click.BadParameter("the load pattern needs at least 30s", ctx, param)
    return duration


@click.command("demo")
@click.option("--name", default="demo", show_default=True, help="Name of the local cluster to use.")
@click.option(
    "--duration",
    default="6m",
    show_default=True,
    callback=_duration,
    help="How long the load pattern plays, e.g. 6m; shorter (2m) makes a quick smoke run whose "
    "scale-down may not fit.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the plot (demo.png), the timeline (timeline.csv) and the summary (summary.json).",
)
@click.option(
    "--kind",
    "on_kind",
    is_flag=True,
    help="Run it on a kind cluster with real nodes, pods and HTTP load instead (images built here; "
    'see README, "kind").',
)
@click.option(
    "--keep/--down",
    default=True,
    show_default=True,
    help="Leave the cluster running afterwards to explore it, or take it down.",
)
def demo(name: str, duration: timedelta, output: Path, on_kind: bool, keep: bool) -> None:
    """Show predictive scaling, fair queueing and extender placement on a local cluster."""
    # `kill` stops the demo as Ctrl-C does: what it started is stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        files = DemoFiles.locate()
        runner = KindDemoRun if on_kind else DemoRun
        with runner(name=name, duration=duration.total_seconds(), echo=click.echo, files=files) as run:
            run.start_cluster()
            run.install_crds()
            run.start_operator()
            run.start_load()
            run.apply_workloads()
            backlog = run.submit_backlog()
            samples = run.watch(backlog)
            run.conclude(samples, output)
    except _FAILURES as error:
        _finish(name, keep=keep, on_kind=on_kind)
        raise click.ClickException(str(error)) from error
    except KeyboardInterrupt:
        _finish(name, keep=keep, on_kind=on_kind)
        raise click.Abort() from None
    _finish(name, keep=keep, on_kind=on_kind)


def _finish(name: str, *, keep: bool, on_kind: bool) -> None:
    if on_kind:
        _finish_kind(name, keep=keep)
        return
    cluster = DevCluster(name)
    if not keep:
        stopped = cluster.down()
        click.echo(f"took the cluster {name!r} down ({len(stopped)} processes stopped)")
        return
    if not cluster.exists():
        return
    info = cluster.info()
    click.echo(
        f"\nThe cluster {name!r} is still running. To explore it:\n"
        f'  eval "$(.venv/bin/ebbtide dev env --name {name})"\n'
        f"  kubectl get scalingpolicies,deployments -n {NAMESPACE} -o wide\n"
        f"  kubectl describe scalingpolicy web -n {NAMESPACE}     # decisions, as events\n"
        "  kubectl get fairqueues -o wide\n"
        f"  kubectl get jobs -n {NAMESPACE}\n"
        f"  kubectl get pods -n {NAMESPACE} -l app.kubernetes.io/component=cache -o wide\n"
        f"  Prometheus: {info.prometheus_url} (the load: {SCRAPE_JOB} job)\n"
        "The operator stopped with the demo; until it runs again, Jobs labelled for a queue are\n"
        "refused (its webhook fails closed). To run it again:\n"
        f"  .venv/bin/ebbtide operator --kubeconfig {info.kubeconfig} \\\n"
        f"      --prometheus-url {info.prometheus_url}\n"
        f"To stop the cluster: .venv/bin/ebbtide dev down --name {name}"
    )


def _finish_kind(name: str, *, keep: bool) -> None:
    cluster = KindCluster(name, ensure_kind(click.echo))
    if not keep:
        cluster.delete()
        click.echo(f"deleted the kind cluster {name!r}")
        return
    if not cluster.exists():
        return
    click.echo(
        f"\nThe kind cluster {name!r} is still running, ebbtide's chart with it. To explore it:\n"
        f"  export KUBECONFIG={cluster.kubeconfig}\n"
        f"  kubectl get scalingpolicies,deployments,pods -n {NAMESPACE} -o wide\n"
        f"  kubectl describe scalingpolicy web -n {NAMESPACE}     # decisions, as events\n"
        "  kubectl get fairqueues -o wide\n"
        f"  kubectl get jobs -n {NAMESPACE}\n"
        f"  kubectl logs -n {RELEASE_NAMESPACE} deployment/{RELEASE}-ebbtide-operator\n"
        f"To delete it: .venv/bin/ebbtide kind down --name {name}"
    )
