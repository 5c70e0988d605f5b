"""``ebbtide crds``: write the CustomResourceDefinitions generated from the API models."""

from __future__ import annotations

from pathlib import Path

import click

from ebbtide.api.crd import diff_all, write_all


@click.command()
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("crds"),
    show_default=True,
    help="Directory of the CRD files, one per kind.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 with a diff if the files differ from what the models generate.",
)
def crds(output_dir: Path, check: bool) -> None:
    """Generate crds/*.yaml from the pydantic models in ebbtide.api."""
    if check:
        diff = diff_all(output_dir)
        if diff:
            click.echo(diff, nl=False)
            raise click.ClickException(f"{output_dir} is out of date with the API models: run `ebbtide crds`")
        click.echo(f"{output_dir} is up to date")
        return
    for path in write_all(output_dir):
        click.echo(f"wrote {path}")
