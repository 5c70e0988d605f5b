"""Kubernetes API errors as exception classes: callers catch :class:`NotFoundError`, never 404.

The official client raises one ``ApiException`` for every refusal, with the HTTP status as a
field. :func:`api_error` turns it into the class of its status (chaining the original), and
:func:`~ebbtide.kube.retrying.with_retries`, which every request goes through, raises only
those. The API server's own explanation, the ``message`` of the ``Status`` object it sends
with a refusal, is kept as :attr:`ApiError.message`, so a report can say why and not only
which code. Network errors (no answer at all) are not API errors and pass through as they are.

Each class is also an ``ApiException``: code and tests written against the client still catch
them, and :attr:`status` and :attr:`reason` read as they always did.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from kubernetes.client.exceptions import ApiException

from ebbtide.errors import KubeError


class ApiError(KubeError, ApiException):  # type: ignore[misc]  # the client is untyped here
    """The API server answered with an error status (or a watch sent an ERROR event)."""

    def __init__(self, *, status: int, reason: str = "", message: str = "", body: object = None) -> None:
        ApiException.__init__(self, status=status, reason=reason)
        self.body = body
        self.message = message

    def __str__(self) -> str:
        return f"{self.status} {self.reason}".strip() + (f": {self.message}" if self.message else "")


class ClientRequestError(ApiError):
    """A 4xx: sending the same request again cannot succeed (429 aside, see retrying)."""


class BadRequestError(ClientRequestError):
    """400: the request is malformed."""


class UnauthorizedError(ClientRequestError):
    """401: the credentials were not accepted."""


class ForbiddenError(ClientRequestError):
    """403: RBAC (or an admission webhook) does not allow the request."""


class NotFoundError(ClientRequestError):
    """404: the object, or the resource kind, does not exist."""


class ConflictError(ClientRequestError):
    """409: the object changed since it was read (or already exists, on create)."""


class GoneError(ClientRequestError):
    """410: a watch's resourceVersion is too old; list again."""


class InvalidError(ClientRequestError):
    """422: the object fails validation (schema, CEL rules)."""


class TooManyRequestsError(ClientRequestError):
    """429: the API server's priority and fairness asks the client to come back later."""


class ServerError(ApiError):
    """A 5xx, or no status at all (a TLS or connection failure the client reports as 0)."""


_BY_STATUS: Final[dict[int, type[ApiError]]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: InvalidError,
    429: TooManyRequestsError,
}


def api_error(error: ApiException) -> ApiError:
    """The :class:`ApiError` subclass for ``error``'s status (``error`` itself if it is one)."""
    if isinstance(error, ApiError):
        return error
    status = int(error.status or 0)
    cls = _BY_STATUS.get(status) or (ClientRequestError if 400 <= status < 500 else ServerError)
    translated = cls(
        status=status, reason=str(error.reason or ""), message=_message(error.body), body=error.body
    )
    translated.headers = error.headers
    return translated


def status_error(status: object) -> ApiError:
    """The :class:`ApiError` for a ``Status`` object a watch sent as an ERROR event."""
    fields = status if isinstance(status, dict) else {}
    code = int(fields.get("code") or 500)
    error = ApiException(status=code, reason=str(fields.get("reason") or ""))
    error.body = json.dumps(fields)
    return api_error(error)


@contextmanager
def translated() -> Iterator[None]:
    """Raise the client's ``ApiException`` inside the block as its :class:`ApiError`."""
    try:
        yield
    except ApiException as error:
        raise api_error(error) from error


def _message(body: object) -> str:
    """The ``message`` of the Status object the API server sends with a refusal, if any."""
    try:
        text = body.decode() if isinstance(body, bytes) else body
        answer = json.loads(text) if isinstance(text, str) else None
    except (ValueError, UnicodeDecodeError):
        return ""
    message = answer.get("message") if isinstance(answer, dict) else None
    return str(message) if message else ""
