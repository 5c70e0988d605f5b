"""Rendering the Helm chart with the pinned helm, and reading what it renders.

Shared by the chart's unit tests and the e2e tests (which render before they install).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from ebbtide.devcluster.paths import bin_dir

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "ebbtide"
SCHEMAS = Path(__file__).resolve().parent / "schemas"

#: Every optional part switched on (with its upstream CRDs assumed present).
EVERY_TOGGLE: dict[str, str] = {
    "crds.install": "true",
    "scheduler.enabled": "true",
    "webhook.certManager.enabled": "true",
    "monitoring.serviceMonitor.enabled": "true",
    "monitoring.prometheusRule.enabled": "true",
    "monitoring.grafanaDashboard.enabled": "true",
}

Manifest = dict[str, Any]


def helm(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the pinned helm with a home of its own (no user repositories, plugins or cache)."""
    home = Path(tempfile.gettempdir()) / "ebbtide-helm-home"
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    result = subprocess.run(
        [str(bin_dir() / "helm"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=env,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def set_args(values: Mapping[str, str]) -> list[str]:
    return [f"--set={key}={value}" for key, value in values.items()]


def render(
    values: Mapping[str, str] | None = None,
    *,
    release: str = "rel",
    namespace: str = "ebbtide-system",
    include_crds: bool = True,
    json_values: Mapping[str, object] | None = None,
) -> list[Manifest]:
    """``helm template`` the chart; returns every document (including crds/ with ``include_crds``).

    ``json_values`` are set with ``--set-json`` (values ``--set`` cannot spell, such as ``{}``).
    Each call returns fresh objects (callers may change them); helm runs once per distinct call.
    """
    as_json = tuple(sorted((key, json.dumps(value)) for key, value in (json_values or {}).items()))
    text = _template(release, namespace, include_crds, tuple(sorted((values or {}).items())), as_json)
    return [doc for doc in yaml.safe_load_all(text) if doc]


@functools.cache
def _template(
    release: str,
    namespace: str,
    include_crds: bool,
    values: tuple[tuple[str, str], ...],
    json_values: tuple[tuple[str, str], ...] = (),
) -> str:
    args = ["template", release, str(CHART), f"--namespace={namespace}", *set_args(dict(values))]
    args += [f"--set-json={key}={value}" for key, value in json_values]
    if include_crds:
        args.append("--include-crds")
    return helm(*args).stdout


def render_text(values: Mapping[str, str] | None = None, **kwargs: Any) -> str:
    """The same render as YAML text (a stream of documents)."""
    return yaml.safe_dump_all(render(values, **kwargs), sort_keys=False)


def by_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_templates(manifests: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    """(``Kind/name``, pod template spec) of every workload."""
    for manifest in manifests:
        if manifest["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield f"{manifest['kind']}/{manifest['metadata']['name']}", manifest["spec"]["template"]["spec"]


# -- kubeconform schemas from CRDs --------------------------------------------------------------


def kubeconform_schema(openapi: Mapping[str, Any]) -> dict[str, Any]:
    """A CRD version's openAPIV3Schema as the strict JSON schema kubeconform validates with.

    Strict as the API server is with ``fieldValidation=Strict``: an object that lists its
    properties refuses any other one, unless it preserves unknown fields.
    """

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {key: convert(value) for key, value in node.items() if not key.startswith("x-kubernetes-")}
        if node.get("x-kubernetes-int-or-string"):
            out.pop("type", None)
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        if node.get("nullable"):
            out.pop("nullable")
            if "type" in out:
                out["type"] = [out["type"], "null"]
        is_object = node.get("type") == "object"
        if (
            is_object
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out

    schema = convert(dict(openapi))
    properties = schema.setdefault("properties", {})
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties["metadata"] = {"type": "object"}
    return schema


def write_crd_schemas(crds: list[Manifest], directory: Path) -> list[Path]:
    """Write one ``{kind}-{group}-{version}.json`` per served CRD version into ``directory``."""
    written = []
    for crd in crds:
        spec = crd["spec"]
        for version in spec["versions"]:
            path = directory / f"{spec['names']['kind'].lower()}-{spec['group']}-{version['name']}.json"
            path.write_text(json.dumps(kubeconform_schema(version["schema"]["openAPIV3Schema"]), indent=1))
            written.append(path)
    return written
