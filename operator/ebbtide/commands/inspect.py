"""``ebbtide queues``, ``queue NAME``, ``policies`` and ``why pod|job|scalingpolicy NAME``.

Read-only views of what the operator decided and why, for people (``-o table``, the default)
and scripts (``-o json``/``yaml``). The same commands run as ``kubectl ebbtide ...`` (the
``kubectl-ebbtide`` executable). ``-n`` picks the namespace (default: the kubeconfig context's),
``-A`` every namespace. FairQueues are cluster-scoped: ``queues -n NS`` lists the queues NS may
submit to, and ``queue NAME`` lists its waiting work in every namespace unless ``-n`` is given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from kubernetes import client

from ebbtide.api import FairQueue, ScalingPolicy
from ebbtide.api.fairqueue_vocabulary import QUEUE_LABEL
from ebbtide.api.workloads import WorkloadState, controlling_job_uid
from ebbtide.commands.cluster_options import api_errors, cluster_options, connect
from ebbtide.controllers.fairqueue.engine import UNFINISHED_PODS
from ebbtide.explain.output import FORMATS, render_explanation, render_rows
from ebbtide.explain.policies import POLICY_COLUMNS, explain_policy, policy_rows
from ebbtide.explain.queues import QUEUE_COLUMNS, WAITING_COLUMNS, QueueObjects, picture, queue_rows
from ebbtide.explain.workloads import explain_workload, record_of
from ebbtide.kube import reads
from ebbtide.kube.client import ClusterAccess

F = TypeVar("F", bound=Callable[..., Any])


def view_options(command: F) -> F:
    """``-n``, ``-A``, ``-o`` and the cluster options."""
    for option in (
        click.option("-o", "--output", type=click.Choice(FORMATS), default="table", show_default=True),
        click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace."),
        click.option("-n", "--namespace", default=None, help="Namespace; default: the kubeconfig context's."),
        cluster_options,
    ):
        command = option(command)
    return command


class View:
    """One invocation's cluster, namespace choice and output format."""

    def __init__(
        self,
        *,
        kubeconfig: Path | None,
        context: str | None,
        namespace: str | None,
        all_namespaces: bool,
        output: str,
    ) -> None:
        self.access = ClusterAccess(kubeconfig=kubeconfig, context=context)
        self.api = connect(self.access, probe=False)
        self.given_namespace = namespace
        self.all_namespaces = all_namespaces
        self.output = output

    @property
    def namespace(self) -> str:
        """The namespace of a named object: ``-n``, else the context's."""
        return self.given_namespace or self.access.default_namespace()

    @property
    def scope(self) -> str | None:
        """The namespace a listing is limited to; None for every namespace."""
        return None if self.all_namespaces else self.namespace

    def rows(self, rows: list[dict[str, Any]], columns: dict[str, str]) -> None:
        click.echo(render_rows(rows, columns=columns, output=self.output))

    def explanation(self, explanation: dict[str, Any]) -> None:
        click.echo(render_explanation(explanation, output=self.output))


def _view(**kwargs: Any) -> View:
    return View(**kwargs)


def read_queue_objects(api: client.ApiClient) -> QueueObjects:
    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    return QueueObjects(
        fairqueues=reads.list_custom(api, FairQueue.PLURAL),
        pods=reads.list_all(core.list_pod_for_all_namespaces, field_selector=UNFINISHED_PODS),
        jobs=reads.list_all(batch.list_job_for_all_namespaces, label_selector=QUEUE_LABEL),
        nodes=reads.list_all(core.list_node),
        namespaces=reads.list_all(core.list_namespace),
    )


@click.command("queues")
@view_options
def queues(**kwargs: Any) -> None:
    """List FairQueues: weight, share, entitlement, pending and admitted work (from their status).

    With -n, only the queues that namespace may submit to.
    """
    view = _view(**kwargs)
    with api_errors():
        fairqueues = reads.list_custom(view.api, FairQueue.PLURAL)
        labels = None
        if view.given_namespace and not view.all_namespaces:
            namespace = reads.read_or_none(client.CoreV1Api(view.api).read_namespace, view.given_namespace)
            if namespace is None:
                raise click.ClickException(f"namespace {view.given_namespace!r} not found")
            labels = (namespace.get("metadata") or {}).get("labels") or {}
    view.rows(queue_rows(fairqueues, usable_from=labels), QUEUE_COLUMNS)


@click.command("queue")
@click.argument("name")
@view_options
def queue(name: str, **kwargs: Any) -> None:
    """List the work waiting in FairQueue NAME, in the order it will be admitted, with its
    position, the reason it waits and its age (every namespace unless -n is given)."""
    view = _view(**kwargs)
    with api_errors():
        if reads.read_custom(view.api, FairQueue.PLURAL, name) is None:
            raise click.ClickException(f"FairQueue {name!r} not found")
        rows = picture(read_queue_objects(view.api)).waiting_rows(queue=name)
    if view.given_namespace and not view.all_namespaces:
        rows = [row for row in rows if row["namespace"] == view.given_namespace]
    view.rows(rows, WAITING_COLUMNS)


@click.command("policies")
@view_options
def policies(**kwargs: Any) -> None:
    """List ScalingPolicies: target, bounds, replicas, load, forecast, readiness, last reason."""
    view = _view(**kwargs)
    with api_errors():
        items = reads.list_custom(view.api, ScalingPolicy.PLURAL, namespace=view.scope)
    view.rows(policy_rows(items), POLICY_COLUMNS)


@click.group("why")
def why() -> None:
    """Explain in plain words why a Pod or Job waits, or why a ScalingPolicy chose its replicas."""


@why.command("pod")
@click.argument("name")
@view_options
def why_pod(name: str, **kwargs: Any) -> None:
    """Why Pod NAME waits (or runs): its queue, position, reason, what is ahead, its Events.
    A pod of a queued Job is explained through its Job."""
    view = _view(**kwargs)
    with api_errors():
        pod = _read(reads.read_pod, view, name, kind="Pod")
        job_uid = controlling_job_uid(pod.get("metadata") or {})
        owner = _owning_job(view, pod) if job_uid else None
        if owner is not None and record_of(owner).queue is not None:
            explanation = _explain_workload(view, owner)
            explanation["text"] = (
                f"Pod {view.namespace}/{name} belongs to Job {owner['metadata']['name']}, "
                "the queued workload.\n" + explanation["text"]
            )
        else:
            explanation = _explain_workload(view, pod)
    view.explanation(explanation)


@why.command("job")
@click.argument("name")
@view_options
def why_job(name: str, **kwargs: Any) -> None:
    """Why Job NAME waits (or runs): its queue, position, reason, what is ahead, its Events."""
    view = _view(**kwargs)
    with api_errors():
        explanation = _explain_workload(view, _read(reads.read_job, view, name, kind="Job"))
    view.explanation(explanation)


@why.command("scalingpolicy")
@click.argument("name")
@view_options
def why_scalingpolicy(name: str, **kwargs: Any) -> None:
    """Why ScalingPolicy NAME has the replicas it has: load, forecast, last decision, conditions."""
    view = _view(**kwargs)
    with api_errors():
        policy = reads.read_custom(view.api, ScalingPolicy.PLURAL, name, namespace=view.namespace)
        if policy is None:
            raise click.ClickException(f"ScalingPolicy {view.namespace}/{name} not found")
        explanation = explain_policy(policy, events=reads.events_about(view.api, policy))
    view.explanation(explanation)


# ``kubectl``'s short name works too: ``ebbtide why sp web``.
why.add_command(why_scalingpolicy, "sp")


def _read(read: Callable[..., dict[str, Any] | None], view: View, name: str, *, kind: str) -> dict[str, Any]:
    obj = read(view.api, name, namespace=view.namespace)
    if obj is None:
        raise click.ClickException(f"{kind} {view.namespace}/{name} not found")
    obj.setdefault("kind", kind)
    return obj


def _owning_job(view: View, pod: dict[str, Any]) -> dict[str, Any] | None:
    for owner in (pod.get("metadata") or {}).get("ownerReferences") or ():
        if owner.get("kind") == "Job" and owner.get("controller"):
            job = reads.read_job(view.api, owner["name"], namespace=view.namespace)
            if job is not None:
                job.setdefault("kind", "Job")
            return job
    return None


def _explain_workload(view: View, obj: dict[str, Any]) -> dict[str, Any]:
    record = record_of(obj)
    pending = record.queue is not None and record.state is WorkloadState.PENDING
    queues_now = picture(read_queue_objects(view.api)) if pending else None
    return explain_workload(obj, picture=queues_now, events=reads.events_about(view.api, obj))
