"""CEL fragments that ebbtide's admission policies share: quoting, reading metadata safely, and
telling the pods the Job controller makes for a Job from everything else."""

from __future__ import annotations

from typing import Final

#: Who creates a Job's pods: the Job controller with its own service account
#: (``--use-service-account-credentials``), or the controller manager's identity without.
JOB_CONTROLLER_USERS: Final = (
    "system:serviceaccount:kube-system:job-controller",
    "system:kube-controller-manager",
)


def cel_string(text: str) -> str:
    """A CEL string literal of ``text``."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def metadata_entry(obj: str, field: str, key: str) -> str:
    """``obj.metadata.<field>[key]``, or '' when the object, the map or the key is absent (CEL
    optionals)."""
    return f"({obj} == null ? '' : {obj}.metadata.?{field}[?{cel_string(key)}].orValue(''))"


def made_by_job_controller() -> str:
    """True for a Pod that a Job controls and that the Job controller itself creates: the Job is
    then the workload. An owner reference alone proves nothing (anyone may write one)."""
    by_the_controller = " || ".join(
        f"request.userInfo.username == {cel_string(u)}" for u in JOB_CONTROLLER_USERS
    )
    owned_by_job = (
        "object.metadata.?ownerReferences.orValue([]).exists(o,"
        " o.apiVersion == 'batch/v1' && o.kind == 'Job' && o.?controller.orValue(false))"
    )
    return f"request.kind.kind == 'Pod' && ({owned_by_job}) && ({by_the_controller})"
