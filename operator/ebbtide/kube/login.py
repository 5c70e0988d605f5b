"""kopf's credentials, from the same cluster configuration as the operator's own API client.

kopf has its own HTTP client and asks a login handler for credentials. Handing it what
:mod:`ebbtide.kube.client` resolved keeps one set of rules (``--kubeconfig``, ``$KUBECONFIG``,
``--context``, the service account): kopf's built-in kubeconfig login knows no ``--context``.
"""

from __future__ import annotations

from typing import Any

import kopf

from ebbtide.kube.client import ClusterAccess, load_configuration


def login(access: ClusterAccess, **kwargs: Any) -> kopf.ConnectionInfo | None:
    """Credentials for kopf's login handler (``kwargs`` are the handler's own arguments).

    In a pod, kopf reads the service account's token itself, each time it logs in again, so a
    rotated token is picked up.
    """
    if access.kubeconfig_source() is None:
        return kopf.login_with_service_account(**kwargs)
    configuration = load_configuration(access)
    header = configuration.get_api_key_with_prefix("BearerToken") or configuration.get_api_key_with_prefix(
        "authorization"
    )
    scheme, _, token = (header or "").rpartition(" ")
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme or None,
        token=token or None,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )
