"""Taking one finalizer off an object, keeping any other.

:data:`KOPF_FINALIZER` is the finalizer earlier ebbtide versions kept on every ScalingPolicy,
while they ran a kopf daemon per policy; the operator now takes it off the policies it owns
(:mod:`ebbtide.controllers.scaling.finalizer`), and ``ebbtide release-all`` whatever is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from kubernetes import client

from ebbtide.kube.errors import ConflictError, NotFoundError, translated
from ebbtide.kube.status import MERGE_PATCH

#: kopf's finalizer (``settings.persistence.finalizer``'s default), which ebbtide put on every
#: ScalingPolicy while it ran a kopf daemon per policy.
KOPF_FINALIZER: Final = "kopf.zalando.org/KopfFinalizerMarker"


def remove_finalizer(
    api_client: client.ApiClient,
    *,
    group: str,
    version: str,
    plural: str,
    metadata: Mapping[str, Any],
    finalizer: str,
    attempts: int = 3,
) -> bool:
    """Take ``finalizer`` off the namespaced custom object of ``metadata`` (its namespace, name,
    finalizers and resourceVersion), keeping any other. The patch carries the resourceVersion it
    was computed from; on a conflict the object is read again and, if it still carries the
    finalizer, the patch computed again. True if this call took it off; False if the object is
    gone or no longer carries it. Raises RuntimeError if it kept changing for ``attempts``."""
    api = client.CustomObjectsApi(api_client)
    key = (group, version, str(metadata["namespace"]), plural, str(metadata["name"]))
    for _ in range(attempts):
        finalizers = list(metadata.get("finalizers") or ())
        if finalizer not in finalizers:
            return False
        kept = [name for name in finalizers if name != finalizer]
        body = {"metadata": {"finalizers": kept or None, "resourceVersion": metadata.get("resourceVersion")}}
        try:
            with translated():
                api.patch_namespaced_custom_object(*key, body, _content_type=MERGE_PATCH)
            return True
        except NotFoundError:
            return False
        except ConflictError:
            try:
                with translated():
                    metadata = dict(api.get_namespaced_custom_object(*key).get("metadata") or {})
            except NotFoundError:
                return False
    raise RuntimeError(f"{plural} {key[2]}/{key[4]} kept changing; its finalizer {finalizer} is still on")
