"""The MutatingAdmissionPolicy that gives unlabelled work in a queue-managed namespace its
namespace's default queue.

A namespace opts in to queue management with the label ``ebbtide.io/queue-managed: "true"``
(:mod:`ebbtide.api.admission_policy` then refuses a Pod or Job created there without a queue) and
may name a default FairQueue with the label ``ebbtide.io/default-queue: <queue>``. This policy,
bound only to opted-in namespaces, handles a Pod or Job created there without the
``ebbtide.io/queue`` label when the namespace names a default: it adds the label with the default
queue and holds the workload back as the webhook would (a pod gets the scheduling gate, a Job
``spec.suspend: true``). The pods the Job controller makes for a Job are left alone: the Job is
the workload.

Why an in-tree MutatingAdmissionPolicy (admissionregistration.k8s.io/v1) rather than the webhook:
the API server applies it itself, so it holds while the operator is down, and it is scoped by a
namespace selector, which kopf's self-managed webhook configuration cannot be. It also holds the
workload back itself instead of relying on the webhook seeing the label it added, so the order in
which the API server runs mutating policies and webhooks does not matter; the webhook's own
mutation finds the gate or the suspension already there and changes nothing.

The user-facing contract matches Kueue's "manage jobs without queue name", with the queue chosen
by the namespace's owner (a tenant with namespaced edit rights cannot relabel the namespace).
"""

from __future__ import annotations

from typing import Any, Final

from ebbtide.api.admission_cel import cel_string, made_by_job_controller, metadata_entry
from ebbtide.api.fairqueue_vocabulary import (
    DEFAULT_QUEUE_LABEL,
    QUEUE_LABEL,
    QUEUE_MANAGED_LABEL,
    SCHEDULING_GATE,
)

API_VERSION: Final = "admissionregistration.k8s.io/v1"


def _labelled(spec: str) -> str:
    """A CEL apply configuration that sets the queue label to the default and ``spec``."""
    labels = f"{{{cel_string(QUEUE_LABEL)}: variables.queue}}"
    return f"Object{{metadata: Object.metadata{{labels: {labels}}}, spec: {spec}}}"


def default_queue_policy(*, name: str) -> dict[str, Any]:
    """The MutatingAdmissionPolicy named ``name`` (see the module docstring); bind it with
    :func:`default_queue_binding`."""
    our_gate = f"Object.spec.schedulingGates{{name: {cel_string(SCHEDULING_GATE)}}}"
    gate = f"Object.spec{{schedulingGates: [{our_gate}]}}"
    suspended = "Object.spec{suspend: true}"
    return {
        "apiVersion": API_VERSION,
        "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            # The gate and the label are set once; a second pass would find them and change nothing.
            "reinvocationPolicy": "Never",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["pods"],
                        "operations": ["CREATE"],
                    },
                    {
                        "apiGroups": ["batch"],
                        "apiVersions": ["v1"],
                        "resources": ["jobs"],
                        "operations": ["CREATE"],
                    },
                ],
                "matchPolicy": "Equivalent",
            },
            "matchConditions": [
                {
                    "name": "no-queue-label",
                    "expression": f"{metadata_entry('object', 'labels', QUEUE_LABEL)} == ''",
                },
                {"name": "not-a-jobs-pod", "expression": f"!({made_by_job_controller()})"},
            ],
            # Match conditions cannot see the namespace; a namespace without a default gets no
            # change here, and the managed-namespace validation refuses the workload.
            "variables": [
                {
                    "name": "queue",
                    "expression": metadata_entry("namespaceObject", "labels", DEFAULT_QUEUE_LABEL),
                }
            ],
            "mutations": [
                {
                    "patchType": "ApplyConfiguration",
                    "applyConfiguration": {
                        "expression": (
                            "variables.queue == '' ? Object{} : request.kind.kind == 'Pod'"
                            f" ? {_labelled(gate)} : {_labelled(suspended)}"
                        )
                    },
                }
            ],
        },
    }


def default_queue_binding(*, policy_name: str) -> dict[str, Any]:
    """The binding of :func:`default_queue_policy` to the namespaces that opt in to queue
    management."""
    return {
        "apiVersion": API_VERSION,
        "kind": "MutatingAdmissionPolicyBinding",
        "metadata": {"name": policy_name},
        "spec": {
            "policyName": policy_name,
            "matchResources": {"namespaceSelector": {"matchLabels": {QUEUE_MANAGED_LABEL: "true"}}},
        },
    }
