"""Reaching a Prometheus that wants credentials: bearer token, basic auth, a private CA, headers.

Prometheus behind a proxy, Thanos, Mimir or Cortex usually asks for one of these. Secrets only
ever come from files (a mounted Secret, a projected service-account token), never from the
command line, where every user of the machine could read them; each file is read again for every
request, so a rotated token or password applies without a restart. The tenant is sent as
``X-Scope-OrgID``, the header Mimir, Cortex and Thanos's receive/query tenancy read.
"""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import requests
from requests.auth import AuthBase

from ebbtide.errors import CredentialsError

TENANT_HEADER: Final = "X-Scope-OrgID"


class _ReadPerRequest(AuthBase):
    """requests' hook that sets the ``Authorization`` header of each request from the files."""

    def __init__(self, credentials: PrometheusCredentials) -> None:
        self.credentials = credentials

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        authorization = self.credentials.authorization()
        if authorization is not None:
            request.headers["Authorization"] = authorization
        return request


@dataclass(frozen=True)
class PrometheusCredentials:
    """How to authenticate to Prometheus and trust its certificate; empty: plain access.

    ``headers`` are extra (name, value) pairs sent with every request; ``ca_file`` is a PEM
    bundle trusted for an ``https://`` URL instead of the system's.
    """

    bearer_token_file: Path | None = None
    username: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    headers: tuple[tuple[str, str], ...] = ()
    tenant: str | None = None

    def __post_init__(self) -> None:
        if self.bearer_token_file is not None and self.username is not None:
            raise CredentialsError("a bearer token and basic auth cannot both be used; choose one")
        if (self.username is None) != (self.password_file is None):
            raise CredentialsError("basic auth needs both a username and a password file")

    def all_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.tenant:
            headers[TENANT_HEADER] = self.tenant
        return headers

    def auth(self) -> AuthBase | None:
        if self.bearer_token_file is None and self.username is None:
            return None
        return _ReadPerRequest(self)

    def authorization(self) -> str | None:
        """The ``Authorization`` header, the secret files read now; None without credentials.

        Raises :class:`CredentialsError` naming a secret file that cannot be read."""
        try:
            if self.bearer_token_file is not None:
                return f"Bearer {self.bearer_token_file.read_text().strip()}"
            if self.username is not None and self.password_file is not None:
                password = self.password_file.read_text().rstrip("\n")
                token = base64.b64encode(f"{self.username}:{password}".encode()).decode("ascii")
                return f"Basic {token}"
        except OSError as error:
            raise CredentialsError(
                f"cannot read the Prometheus credentials file {error.filename}: {error.strerror}"
            ) from error
        return None

    def request_headers(self) -> dict[str, str]:
        """Every header of one request, the ``Authorization`` among them (see
        :meth:`authorization`), for :mod:`.prometheus_queries`, whose requests have no ``auth``
        hook."""
        headers = self.all_headers()
        authorization = self.authorization()
        if authorization is not None:
            headers["Authorization"] = authorization
        return headers

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What an ``https://`` connection trusts: the ``ca_file`` bundle, else the system's
        (True)."""
        if self.ca_file is None:
            return True
        return ssl.create_default_context(cafile=str(self.ca_file))

    def unreadable_file(self) -> str | None:
        """The first secret or CA file that cannot be read, as a sentence; None if all can."""
        for what, path in (
            ("bearer token file", self.bearer_token_file),
            ("password file", self.password_file),
            ("CA file", self.ca_file),
        ):
            if path is not None:
                try:
                    path.read_bytes()
                except OSError as error:
                    return f"cannot read the Prometheus {what} {path}: {error.strerror}"
        return None

    def client_options(self) -> dict[str, Any]:
        """The keyword arguments of ``PrometheusConnect`` that send these credentials (see
        :func:`ebbtide.metrics.prometheus_connection.connect`, the one place clients are made)."""
        session = requests.Session()
        session.verify = str(self.ca_file) if self.ca_file is not None else True
        return {"headers": self.all_headers() or None, "auth": self.auth(), "session": session}


NO_CREDENTIALS: Final = PrometheusCredentials()
