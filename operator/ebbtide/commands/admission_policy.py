"""``ebbtide admission-policy``: the policies that keep admission ebbtide's, for installs without
Helm (printed for ``kubectl apply -f -``), and the chart's copy of them."""

from __future__ import annotations

import difflib
from pathlib import Path

import click
import yaml

from ebbtide.api.admission_policy import (
    GUARDED,
    HEADER,
    NAME_PREFIX,
    USERNAME_PLACEHOLDER,
    install_manifests,
    managed_namespaces_policy,
    policies,
    service_account_username,
)
from ebbtide.api.default_queue_policy import default_queue_policy

#: Where the chart reads the policies from (it renames them per release).
CHART_FILES = Path("charts/ebbtide/files/admission")


def chart_files() -> dict[str, str]:
    """File name -> YAML of each policy as the chart ships it."""
    files = {
        f"{suffix}.yaml": HEADER + yaml.safe_dump(made, sort_keys=False, width=120)
        for (_, suffix), made in zip(GUARDED, policies(USERNAME_PLACEHOLDER), strict=True)
    }
    managed = managed_namespaces_policy(name=f"{NAME_PREFIX}-managed")
    files["managed.yaml"] = HEADER + yaml.safe_dump(managed, sort_keys=False, width=120)
    default_queue = default_queue_policy(name=f"{NAME_PREFIX}-default-queue")
    files["default-queue.yaml"] = HEADER + yaml.safe_dump(default_queue, sort_keys=False, width=120)
    return files


def stale_chart_files(directory: Path) -> str:
    """A unified diff of ``directory`` against :func:`chart_files`; empty when current."""
    diff: list[str] = []
    wanted = chart_files()
    present = {path.name for path in directory.glob("*.yaml")} if directory.is_dir() else set()
    for name in sorted(wanted.keys() | present):
        path = directory / name
        old = path.read_text() if path.exists() else ""
        new = wanted.get(name, "")
        diff.extend(difflib.unified_diff(old.splitlines(True), new.splitlines(True), str(path), str(path)))
    return "".join(diff)


@click.command(name="admission-policy")
@click.option(
    "--service-account",
    metavar="NAMESPACE/NAME",
    help="The operator's service account: its user is the only one that may admit.",
)
@click.option("--operator-user", help="The operator's user name, when it runs as a user instead.")
@click.option(
    "--chart-files",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Write the chart's copy of the policies into this directory ({CHART_FILES}) instead.",
)
@click.option("--check", is_flag=True, help="With --chart-files: write nothing, exit 1 with a diff if stale.")
def admission_policy(
    service_account: str | None,
    operator_user: str | None,
    chart_files: Path | None,
    check: bool,
) -> None:
    """Print the admission policies and their bindings that refuse anyone but the operator to admit
    a queued Pod or Job, and give unlabelled work in a queue-managed namespace its namespace's
    default queue (apply with `kubectl apply -f -`)."""
    if chart_files is not None:
        _chart_files(chart_files, check=check)
        return
    if (service_account is None) == (operator_user is None):
        raise click.UsageError("give exactly one of --service-account and --operator-user")
    if service_account is not None:
        account_namespace, _, name = service_account.partition("/")
        if not account_namespace or not name:
            raise click.BadParameter("expected NAMESPACE/NAME", param_hint="--service-account")
        operator_user = service_account_username(namespace=account_namespace, name=name)
    assert operator_user is not None
    documents = install_manifests(operator_username=operator_user)
    click.echo(yaml.safe_dump_all(documents, sort_keys=False, width=120), nl=False)


def _chart_files(directory: Path, *, check: bool) -> None:
    if check:
        diff = stale_chart_files(directory)
        if diff:
            click.echo(diff, nl=False)
            raise click.ClickException(f"{directory} is stale: run `ebbtide admission-policy --chart-files`")
        click.echo(f"{directory} is up to date")
        return
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.yaml"):
        path.unlink()
    for name, text in chart_files().items():
        (directory / name).write_text(text)
        click.echo(f"wrote {directory / name}")
