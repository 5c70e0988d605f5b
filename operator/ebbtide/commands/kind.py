"""``ebbtide kind``: images and kind clusters with real nodes, on machines that reach no registry.

See :mod:`ebbtide.kind`. Every build is cached: a second run prints the same references at once.
"""

from __future__ import annotations

from pathlib import Path

import click

from ebbtide.devcluster.paths import state_root
from ebbtide.errors import BuildError, KindTestBedError
from ebbtide.kind.binaries import ensure_kind
from ebbtide.kind.cluster import KindCluster
from ebbtide.kind.images import checkout, ensure_images
from ebbtide.kind.nodeimage import ensure_node_image

_FAILURES = (BuildError, KindTestBedError)
_name_option = click.option("--name", default="ebbtide", show_default=True, help="The kind cluster's name.")


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _log() -> Path:
    path = state_root() / "kind-build.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@click.group()
def kind() -> None:
    """Build images and a kind node image here, and run kind clusters of them."""


@kind.command()
def images() -> None:
    """Build the ebbtide, demo workload, load generator and Prometheus images (cached)."""
    try:
        built = ensure_images(progress=_progress, log=_log())
    except _FAILURES as error:
        raise click.ClickException(str(error)) from error
    for field, reference in vars(built).items():
        click.echo(f"{field}: {reference}")


@kind.command()
def image() -> None:
    """Build the kind node image of the pinned Kubernetes release (cached); print its name."""
    try:
        click.echo(ensure_node_image(progress=_progress, log=_log()))
    except _FAILURES as error:
        raise click.ClickException(str(error)) from error


@kind.command()
@_name_option
@click.option(
    "--config",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="kind configuration [default: the checkout's kind-config.yaml].",
)
def up(name: str, config: Path | None) -> None:
    """Create the kind cluster NAME on the offline node image (unless it exists)."""
    try:
        node_image = ensure_node_image(progress=_progress, log=_log())
        cluster = KindCluster(name, ensure_kind(_progress))
        cluster.create(image=node_image, config=config or checkout() / "kind-config.yaml", progress=_progress)
    except _FAILURES as error:
        raise click.ClickException(str(error)) from error
    click.echo(str(cluster.kubeconfig))


@kind.command()
@_name_option
@click.argument("references", nargs=-1, required=True)
def load(name: str, references: tuple[str, ...]) -> None:
    """Put local docker images on every node of the kind cluster NAME."""
    try:
        cluster = KindCluster(name, ensure_kind(_progress))
        cluster.load(*references)
    except _FAILURES as error:
        raise click.ClickException(str(error)) from error


@kind.command()
@_name_option
def down(name: str) -> None:
    """Delete the kind cluster NAME."""
    try:
        KindCluster(name, ensure_kind(_progress)).delete()
    except _FAILURES as error:
        raise click.ClickException(str(error)) from error
