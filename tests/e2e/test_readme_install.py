"""The README's Install, Upgrade and Uninstall sections, run as written from a clean clone of the
repository against the test bed: the commands are read from the README itself, so the test fails
when the README and the chart disagree.

The clone holds what is committed (a clean checkout, nothing from the working tree). ``helm`` and
``kubectl`` are the pinned binaries, pointed at the test bed by $KUBECONFIG as a user's would be.
KWOK plays the pods, so this proves the commands and what the API server makes of them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.cluster import REPO, E2ECluster
from tests.support.waiting import eventually

from ebbtide.devcluster.paths import bin_dir

pytestmark = pytest.mark.e2e

RELEASE, NAMESPACE = "ebbtide", "ebbtide-system"  # as the README names them


def section_commands(readme: str, title: str) -> list[list[str]]:
    """The commands of the first ```sh block under ``## title`` (continuations joined, comments
    dropped), each split as a shell would."""
    section = readme.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, f"no sh block under ## {title}"
    text = block.group(1).replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in text.splitlines() if line.split("#", 1)[0].strip()]


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    target = tmp_path / "ebbtide"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True, timeout=120)
    return target


@pytest.fixture
def user_shell(cluster: E2ECluster, crds: list[str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a user whose kubeconfig points at the test bed, with helm and kubectl
    on PATH; whatever the README installed is removed afterwards."""
    helm_home = tmp_path / "helm-home"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("EBBTIDE_", "HELM_"))},
        "KUBECONFIG": str(cluster.kubeconfig),
        "PATH": f"{bin_dir()}{os.pathsep}{os.environ['PATH']}",
        "HELM_CACHE_HOME": str(helm_home / "cache"),
        "HELM_CONFIG_HOME": str(helm_home / "config"),
        "HELM_DATA_HOME": str(helm_home / "data"),
    }
    try:
        yield env
    finally:
        subprocess.run(
            ["helm", "uninstall", RELEASE, f"--namespace={NAMESPACE}", "--wait", "--timeout=5m"],
            env=env, capture_output=True, check=False, timeout=400,
        )  # fmt: skip
        cluster.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false")


def run_section(readme: str, title: str, *, cwd: Path, env: dict[str, str]) -> list[str]:
    outputs = []
    for argv in section_commands(readme, title):
        assert argv[0] in ("helm", "kubectl"), f"## {title} runs {argv[0]}, which this test does not know"
        result = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=400, check=False
        )
        assert result.returncode == 0, f"{shlex.join(argv)} failed:\n{result.stdout}\n{result.stderr}"
        outputs.append(result.stdout)
    return outputs


def release_objects(cluster: E2ECluster) -> set[str]:
    kinds = (
        "deployments,services,configmaps,secrets,serviceaccounts,roles,rolebindings,clusterroles,"
        "clusterrolebindings,mutatingwebhookconfigurations,validatingadmissionpolicies"
    )
    selector = f"--selector=app.kubernetes.io/instance={RELEASE}"
    found = cluster.kubectl("get", kinds, "--all-namespaces", selector, "-o", "name", check=False)
    return set(found.stdout.split())


def test_install_upgrade_and_uninstall_as_the_readme_says(
    cluster: E2ECluster, clone: Path, user_shell: dict[str, str]
) -> None:
    readme = (clone / "README.md").read_text()
    (installed,) = run_section(readme, "Install", cwd=clone, env=user_shell)
    assert "STATUS: deployed" in installed
    assert "deployment.apps/ebbtide-operator" in release_objects(cluster)
    eventually(
        lambda: cluster.apps.read_namespaced_deployment("ebbtide-operator", NAMESPACE).status.ready_replicas,
        timeout=180,
        what="the operator Deployment to have ready replicas",
    )

    run_section(readme, "Upgrade", cwd=clone, env=user_shell)
    history = subprocess.run(
        ["helm", "history", RELEASE, f"--namespace={NAMESPACE}", "-o", "json"],
        env=user_shell, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert '"revision":2' in history.stdout and '"status":"deployed"' in history.stdout

    run_section(readme, "Uninstall", cwd=clone, env=user_shell)
    eventually(lambda: not release_objects(cluster), timeout=180, what="every object of the release gone")
    assert cluster.kubectl("get", "crd", "scalingpolicies.ebbtide.io", check=False).returncode == 0
