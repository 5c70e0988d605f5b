"""How long one operator process takes from its start until every one of N ScalingPolicies has had
its first decision: a baseline version of the operator against this one, on the same cluster.

The baseline is another version of ebbtide's source: a git ref of this repository
(``--baseline-ref``, HEAD by default, so that ``make bench`` compares the working tree with the
last commit; ``next`` compares with that branch), or a source tree (``--baseline-source``, e.g. a
worktree's ``operator/``). The candidate is this repository's working tree (``--source``). Both
run with this script's Python (``PYTHONPATH`` set to their source tree), one after the other,
never together (they would share the policies out between them), each as ``ebbtide operator
--controllers scaling`` limited to a namespace of its own that holds the same N policies, all
created before either starts, so both meet the same cluster. Each policy scales a paused
Deployment (the Deployment controller makes no ReplicaSet, hence no pods, for a paused
Deployment, yet /scale answers) on ``vector(5)``: every round decides without scaling.

A run lasts from the operator's launch until its /metrics show a decision
(``ebbtide_scaling_decisions_total``) for every policy; in both versions the first round of each
policy is spread over one interval (``--interval``) and a replica that just joined waits before
it acts. Prints both times, the baseline's over the candidate's, the operator's CPU seconds over
each run and the load average; writes bench/results/operator_startup.json. A missing cluster
(``--cluster``, default ``bench-startup``) is started, and taken down at the end unless
``--keep-cluster``:

    .venv/bin/python bench/operator_startup.py [--cluster loops] [--policies 1000] [--baseline-ref next]

At the end both namespaces are deleted, after the finalizer an old baseline leaves on its
policies is taken off (:func:`ebbtide.kube.release_all.remove_kopf_finalizers`); how many
policies of each run carried it is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client, config

from ebbtide.api import API_GROUP, API_VERSION, ScalingPolicy
from ebbtide.demo.operator_process import free_port
from ebbtide.devcluster.cluster import ClusterInfo, DevCluster
from ebbtide.devcluster.nodes import uniform_nodes
from ebbtide.kube.release_all import remove_kopf_finalizers
from process_usage import cpu_seconds
from result_files import result_path
from scaling_operator import scaling_operator_argv

REPO = Path(__file__).resolve().parents[1]
RESULTS = result_path("operator_startup.json")
DECISIONS = re.compile(r'^ebbtide_scaling_decisions_total\{[^}]*name="([^"]+)"[^}]*\} ', re.MULTILINE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cluster", default="bench-startup", help="the `ebbtide dev` cluster (started if missing)"
    )
    parser.add_argument("--keep-cluster", action="store_true", help="leave a cluster started here running")
    parser.add_argument("--policies", type=int, default=1000)
    parser.add_argument("--interval", default="30s", help="spec.interval of every policy")
    parser.add_argument("--baseline-ref", default="HEAD", help="the baseline: a git ref of this repository")
    parser.add_argument("--baseline-source", type=Path, help="the baseline: an operator/ tree (over the ref)")
    parser.add_argument("--source", type=Path, default=REPO / "operator", help="the candidate's operator/")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds a run may take at most")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    dev = DevCluster(args.cluster)
    started_here = not dev.exists()
    if started_here:
        dev.up(nodes=uniform_nodes(count=1, cpu="64", memory="256Gi", pods=110))
    elif not all(component.ready for component in dev.status()):
        sys.exit(f"cluster {args.cluster!r} is not ready: see `ebbtide dev status --name {args.cluster}`")
    try:
        with tempfile.TemporaryDirectory(prefix="ebbtide-baseline-") as scratch:
            baseline = args.baseline_source or checkout(args.baseline_ref, into=Path(scratch))
            runs = {"baseline": baseline.resolve(), "candidate": args.source.resolve()}
            _run_bench(dev.info(), args, runs=runs)
    finally:
        if started_here and not args.keep_cluster:
            dev.down()


def _run_bench(info: ClusterInfo, args: argparse.Namespace, *, runs: dict[str, Path]) -> None:
    api = config.new_client_from_config(config_file=str(info.kubeconfig))
    apply_crds(info)
    suffix = uuid.uuid4().hex[:6]
    namespaces = {name: f"bench-start-{name}-{suffix}" for name in runs}
    results: dict[str, dict[str, Any]] = {}
    try:
        started = time.monotonic()
        for namespace in namespaces.values():
            create_policies(api, namespace=namespace, count=args.policies, interval=args.interval)
        print(f"created 2 x {args.policies} policies in {time.monotonic() - started:.0f}s")
        for name, source in runs.items():
            results[name] = run_operator(
                info,
                source=source,
                namespace=namespaces[name],
                count=args.policies,
                timeout=args.timeout,
                log=result_path(f"operator_startup-{name}.log"),
            )
            print(f"{name} ({source}): {describe(results[name], args.policies)}")
    finally:
        # Which run left kopf's finalizer on its policies (a version with a daemon per policy).
        unfinalized = remove_kopf_finalizers(api)
        for name, namespace in namespaces.items():
            left = sum(1 for policy in unfinalized if policy.startswith(f"{namespace}/"))
            results.setdefault(name, {})["policies_left_with_kopfs_finalizer"] = left
            client.CoreV1Api(api).delete_namespace(namespace)
    baseline, candidate = results["baseline"]["all_decided_s"], results["candidate"]["all_decided_s"]
    ratio = None if baseline is None or candidate is None else round(baseline / candidate, 2)
    print(f"baseline / candidate: {ratio if ratio is not None else 'n/a (a run timed out)'}")
    finalized = {name: results[name]["policies_left_with_kopfs_finalizer"] for name in runs}
    print(f"policies left with kopf's finalizer: {finalized}")
    print(f"load average: {os.getloadavg()}")
    result = {
        "policies": args.policies,
        "interval": args.interval,
        "baseline": str(args.baseline_source) if args.baseline_source else args.baseline_ref,
        "runs": {name: {"source": str(runs[name]), **results[name]} for name in runs},
        "baseline_over_candidate": ratio,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


def checkout(ref: str, *, into: Path) -> Path:
    """The ``operator/`` tree of ``ref``, extracted under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "operator"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "operator"


def apply_crds(info: ClusterInfo) -> None:
    """This repository's CRDs (the baseline's must be compatible with them)."""
    kubectl = [str(info.bin_dir / "kubectl"), f"--kubeconfig={info.kubeconfig}"]
    crds = [f"--filename={path}" for path in sorted((REPO / "crds").glob("*.yaml"))]
    subprocess.run([*kubectl, "apply", "--server-side", "--force-conflicts", *crds], check=True)
    crd = f"crd/{ScalingPolicy.crd_name()}"
    subprocess.run([*kubectl, "wait", "--for=condition=Established", "--timeout=60s", crd], check=True)


def create_policies(api: client.ApiClient, *, namespace: str, count: int, interval: str) -> None:
    """``count`` paused Deployments (no pods) and a policy for each, in a new ``namespace``."""
    apps, custom = client.AppsV1Api(api), client.CustomObjectsApi(api)
    client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})

    def create(index: int) -> None:
        name = f"p-{index:04d}"
        labels = {"app": name}
        pod = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "pause"}]}}
        deployment = {
            "metadata": {"name": name},
            "spec": {"paused": True, "replicas": 1, "selector": {"matchLabels": labels}, "template": pod},
        }
        apps.create_namespaced_deployment(namespace, deployment)
        policy = {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": ScalingPolicy.KIND,
            "metadata": {"name": name},
            "spec": {
                "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": 1,
                "maxReplicas": 3,
                "metric": {"query": "vector(5)", "targetPerReplica": 10},
                "interval": interval,
                "prediction": {"model": "None", "horizon": "10s", "history": "2m", "seasonality": None},
            },
        }
        custom.create_namespaced_custom_object(
            API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, policy
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(count)))


def run_operator(
    info: ClusterInfo, *, source: Path, namespace: str, count: int, timeout: float, log: Path
) -> dict[str, Any]:
    """Start the operator of ``source`` on ``namespace`` (its output to ``log``); time it until
    every policy is decided."""
    metrics = free_port()
    argv = scaling_operator_argv(info, namespace=namespace, metrics_port=metrics, health_port=free_port())
    env = {**os.environ, "PYTHONPATH": str(source)}
    with log.open("wb") as out:
        launched = time.monotonic()
        operator = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )

    def since() -> float:
        return round(time.monotonic() - launched, 1)

    try:
        first = half = None
        decided: set[str] = set()
        while time.monotonic() - launched < timeout:
            if operator.poll() is not None:
                raise RuntimeError(f"the operator exited with {operator.returncode}; see {log}")
            decided = decided_policies(f"http://127.0.0.1:{metrics}/metrics", namespace)
            first = first if first is not None or not decided else since()
            half = half if half is not None or len(decided) < count / 2 else since()
            if len(decided) >= count:
                break
            time.sleep(1.0)
        done = len(decided) >= count
        return {
            "first_decided_s": first,
            "half_decided_s": half,
            "all_decided_s": since() if done else None,
            "decided": len(decided),
            "cpu_seconds": round(cpu_seconds(operator.pid), 1),
            "load_average_at_end": os.getloadavg(),
        }
    finally:
        stop(operator)


def decided_policies(url: str, namespace: str) -> set[str]:
    """The policies of ``namespace`` with at least one decision; none while /metrics is not up."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return set()
    marker = f'namespace="{namespace}"'
    return {match.group(1) for match in DECISIONS.finditer(text) if marker in match.group(0)}


def describe(result: dict[str, Any], count: int) -> str:
    def show(seconds: float | None) -> str:
        return "-" if seconds is None else f"{seconds:.0f}s"

    return (
        f"first decision {show(result['first_decided_s'])}, half {show(result['half_decided_s'])}, "
        f"all {count} {show(result['all_decided_s'])} ({result['decided']} decided), "
        f"{result['cpu_seconds']:.0f} CPU s"
    )


def stop(operator: subprocess.Popen[bytes]) -> None:
    if operator.poll() is not None:
        return
    os.killpg(operator.pid, signal.SIGTERM)
    try:
        operator.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(operator.pid, signal.SIGKILL)
        operator.wait(timeout=10)


if __name__ == "__main__":
    main()
