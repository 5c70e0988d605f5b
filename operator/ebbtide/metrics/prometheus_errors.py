"""Turning a failed Prometheus query into a sentence a user can act on.

prometheus-api-client reports an error answer as ``HTTP Status Code 400 (b'{...}')``: the JSON
body Prometheus sent, as a bytes literal. Prometheus's own error text (``parse error: ...``) is
the part a user needs, so it is dug out of there; a network failure is reduced to its cause.
"""

from __future__ import annotations

import ast
import json
import os
import re
from dataclasses import dataclass

import requests
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

_STATUS = re.compile(r"^HTTP Status Code (\d+) \((.*)\)$", re.DOTALL)
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_MAX_TEXT = 600
#: Answers that refuse the credentials (or the tenant) rather than fail the query.
_REFUSED_CREDENTIALS = frozenset({401, 403})


@dataclass(frozen=True)
class QueryError:
    """Why a query failed: ``kind`` (a metric label: ``query``, ``unreachable``, ``timeout``,
    ``server``, ``answer``) and a ``message`` for the user."""

    kind: str
    message: str


def describe_error(error: BaseException, *, url: str, timeout: float) -> QueryError:
    """A :class:`QueryError` for an exception raised by a prometheus-api-client query."""
    if isinstance(error, PrometheusApiClientException):
        return _describe_answer(str(error))
    if isinstance(error, requests.Timeout):
        return QueryError("timeout", f"Prometheus at {url} did not answer within {timeout:g}s")
    if isinstance(error, requests.ConnectionError) and _timed_out(error):
        return QueryError("timeout", f"Prometheus at {url} did not answer within {timeout:g}s")
    if isinstance(error, requests.ConnectionError):
        return QueryError("unreachable", f"cannot reach Prometheus at {url}: {_cause(error)}")
    if isinstance(error, requests.RequestException):
        return QueryError("unreachable", f"request to Prometheus at {url} failed: {_cause(error)}")
    if isinstance(error, (ValueError, KeyError, TypeError)):
        return QueryError("answer", f"Prometheus at {url} sent an answer that is not its query API's JSON")
    return QueryError("answer", f"querying Prometheus at {url} failed: {type(error).__name__}: {error}")


def http_status(error: BaseException) -> int | None:
    """The HTTP status of an error answer from Prometheus (``None`` when no answer came)."""
    if not isinstance(error, PrometheusApiClientException):
        return None
    match = _STATUS.match(str(error))
    return int(match.group(1)) if match else None


def _describe_answer(text: str) -> QueryError:
    match = _STATUS.match(text)
    if match is None:
        return QueryError("server", f"Prometheus answered with an error: {text[:_MAX_TEXT]}")
    return describe_answer(int(match.group(1)), _decoded_body(match.group(2)))


def describe_answer(status: int, body: str) -> QueryError:
    """A :class:`QueryError` for an error answer: its HTTP ``status`` and ``body`` (text)."""
    error_type, error_text = _prometheus_error(body)
    if status in (400, 422) and error_text:
        # bad_data (the query does not parse or is invalid) or execution (it failed to run):
        # the query is wrong, and Prometheus's text says where.
        return QueryError("query", f"Prometheus refused the query ({error_type}): {error_text}")
    if error_type == "timeout":
        return QueryError("timeout", f"Prometheus gave up on the query: {error_text}")
    detail = error_text or body[:_MAX_TEXT]
    if status in _REFUSED_CREDENTIALS:
        # Said apart from a failing server: a wrong or revoked token, password or tenant is the
        # user's to mend, and the gateway's own reason is quoted.
        return QueryError(
            "server", f"Prometheus refused the credentials (HTTP {status}: {detail})"[:_MAX_TEXT]
        )
    return QueryError("server", f"Prometheus answered HTTP {status}: {detail}"[:_MAX_TEXT])


def describe_transport_error(error: BaseException, *, url: str, timeout: float) -> QueryError:
    """A :class:`QueryError` for a query over aiohttp that got no answer: it timed out, or the
    connection failed (after the retries)."""
    if isinstance(error, TimeoutError):  # aiohttp's timeouts derive from it
        return QueryError("timeout", f"Prometheus at {url} did not answer within {timeout:g}s")
    if isinstance(error, OSError) and error.errno:  # e.g. aiohttp's ClientConnectorError
        reason = os.strerror(error.errno).lower()
    else:  # e.g. "server disconnected"
        reason = str(error).strip().lower() or type(error).__name__
    return QueryError("unreachable", f"cannot reach Prometheus at {url}: {reason}")


def _prometheus_error(body: str) -> tuple[str, str]:
    """``(errorType, error)`` from a Prometheus error body; ("", "") if it is not one."""
    try:
        document = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(document, dict):
        return "", ""
    return str(document.get("errorType") or "error"), str(document.get("error") or "")[:_MAX_TEXT]


def _decoded_body(literal: str) -> str:
    try:
        body = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return literal[:_MAX_TEXT]
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")[:_MAX_TEXT]
    return str(body)[:_MAX_TEXT]


def _timed_out(error: requests.ConnectionError) -> bool:
    # A read timeout that exhausted the retries arrives wrapped: ConnectionError(MaxRetryError).
    wrapped = error.args[0] if error.args else None
    return isinstance(wrapped, MaxRetryError) and isinstance(wrapped.reason, ReadTimeoutError)


def _cause(error: BaseException) -> str:
    # requests nests the socket error a few levels deep; its "[Errno 111] Connection refused"
    # is the useful part of an otherwise long message.
    match = _ERRNO.search(str(error))
    if match is not None:
        return match.group(1).strip().lower()
    return type(error).__name__
