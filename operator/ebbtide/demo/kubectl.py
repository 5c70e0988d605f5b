"""The pinned kubectl of the local cluster, for the demo's server-side applies and waits."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ebbtide.errors import KubectlError

#: The field manager of everything the demo applies.
FIELD_MANAGER = "ebbtide-demo"


@dataclass(frozen=True)
class Kubectl:
    """``binary`` run against the cluster of ``kubeconfig``."""

    binary: Path
    kubeconfig: Path

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120.0) -> str:
        """kubectl's output; raises :class:`KubectlError` when it fails or takes too long."""
        argv = [str(self.binary), f"--kubeconfig={self.kubeconfig}", *args]
        try:
            done = subprocess.run(
                argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise KubectlError(f"kubectl {' '.join(args)}: no answer within {timeout:.0f}s") from error
        if done.returncode != 0:
            raise KubectlError(
                f"kubectl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}"
            )
        return done.stdout

    def apply(self, *files: Path, namespace: str | None = None, field_manager: str = FIELD_MANAGER) -> str:
        """Server-side apply of ``files`` (or folders); conflicts are forced, so that a second
        demo run resets what the first left (e.g. the replica count the policy had set)."""
        args = ["apply", "--server-side", "--force-conflicts", f"--field-manager={field_manager}"]
        if namespace is not None:
            args.append(f"--namespace={namespace}")
        for path in files:
            args.append(f"--filename={path}")
        return self.run(*args)

    def apply_manifest(self, manifest: str, *, field_manager: str = FIELD_MANAGER) -> str:
        """Server-side apply of a YAML document given as text."""
        args = ["apply", "--server-side", "--force-conflicts", f"--field-manager={field_manager}"]
        return self.run(*args, "--filename=-", stdin=manifest)

    def wait(self, *resources: str, condition: str, namespace: str | None = None, timeout: int = 60) -> str:
        """``kubectl wait --for=condition=<condition>`` on ``resources`` (``kind/name``)."""
        args = ["wait", f"--for=condition={condition}", f"--timeout={timeout}s", *resources]
        if namespace is not None:
            args.append(f"--namespace={namespace}")
        return self.run(*args, timeout=timeout + 30)
