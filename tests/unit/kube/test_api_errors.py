"""API errors become exception classes by status, keep the API server's message, and still
read as the client's ApiException."""

import json

import pytest
from kubernetes.client.exceptions import ApiException

from ebbtide.errors import EbbtideError, KubeError
from ebbtide.kube.errors import (
    ApiError,
    ClientRequestError,
    ConflictError,
    ForbiddenError,
    GoneError,
    NotFoundError,
    ServerError,
    api_error,
    status_error,
    translated,
)
from ebbtide.kube.retrying import with_retries

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (410, GoneError),
        (418, ClientRequestError),
        (503, ServerError),
        (0, ServerError),
    ],
)
def test_each_status_has_its_class(status: int, expected: type[ApiError]) -> None:
    error = api_error(ApiException(status=status, reason="why"))
    assert type(error) is expected
    assert (
        isinstance(error, ApiException) and isinstance(error, KubeError) and isinstance(error, EbbtideError)
    )
    assert (error.status, error.reason) == (status, "why")


def test_the_api_servers_message_is_kept() -> None:
    raw = ApiException(status=422, reason="Unprocessable Entity")
    raw.body = json.dumps({"kind": "Status", "message": "spec.weight: must be > 0"})
    error = api_error(raw)
    assert error.message == "spec.weight: must be > 0"
    assert str(error) == "422 Unprocessable Entity: spec.weight: must be > 0"


def test_a_watch_error_event_is_an_api_error_of_its_code() -> None:
    error = status_error({"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"})
    assert isinstance(error, GoneError)
    assert error.message == "too old"


def test_requests_raise_the_class_of_their_status_with_the_original_as_cause() -> None:
    raw = ApiException(status=404, reason="Not Found")

    def call() -> None:
        raise raw

    with pytest.raises(NotFoundError) as raised:
        with_retries(call)
    assert raised.value.__cause__ is raw
    with pytest.raises(NotFoundError), translated():
        call()
