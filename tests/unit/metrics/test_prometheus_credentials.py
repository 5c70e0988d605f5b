"""Credentials for a Prometheus behind authentication: from files only, read for every request."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from ebbtide.cli import main
from ebbtide.errors import CredentialsError
from ebbtide.metrics.prometheus_access import TENANT_HEADER, PrometheusCredentials

pytestmark = pytest.mark.unit


def prepared(credentials: PrometheusCredentials) -> requests.PreparedRequest:
    request = requests.Request("GET", "https://prometheus:9090/api/v1/query", auth=credentials.auth())
    request.headers.update(credentials.all_headers())
    return request.prepare()


def test_a_rotated_bearer_token_applies_to_the_next_request(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    credentials = PrometheusCredentials(bearer_token_file=token)
    assert prepared(credentials).headers["Authorization"] == "Bearer first"
    token.write_text("second")
    assert prepared(credentials).headers["Authorization"] == "Bearer second"


def test_basic_auth_reads_the_password_file(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    header = prepared(PrometheusCredentials(username="ebbtide", password_file=password)).headers[
        "Authorization"
    ]
    assert header == "Basic " + base64.b64encode(b"ebbtide:s3cret").decode()


def test_headers_and_the_tenant_go_with_every_request() -> None:
    credentials = PrometheusCredentials(headers=(("X-Team", "capacity"),), tenant="team-a")
    headers = prepared(credentials).headers
    assert (headers["X-Team"], headers[TENANT_HEADER]) == ("capacity", "team-a")
    assert "Authorization" not in headers


def test_a_ca_file_is_what_the_session_trusts(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    assert PrometheusCredentials(ca_file=ca).client_options()["session"].verify == str(ca)
    assert PrometheusCredentials().client_options()["session"].verify is True


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"bearer_token_file": Path("t"), "username": "u", "password_file": Path("p")}, "choose one"),
        ({"username": "u"}, "both a username and a password file"),
        ({"password_file": Path("p")}, "both a username and a password file"),
    ],
)
def test_contradicting_credentials_are_refused(options: dict[str, object], problem: str) -> None:
    with pytest.raises(CredentialsError, match=problem):
        PrometheusCredentials(**options)  # type: ignore[arg-type]


def test_the_operator_refuses_an_unreadable_secret_file_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["operator", "--prometheus-username=u", f"--prometheus-password-file={tmp_path / 'missing'}"],
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"Error: cannot read the Prometheus password file {tmp_path / 'missing'}" in result.output


def test_a_header_must_be_name_equals_value() -> None:
    result = CliRunner().invoke(main, ["backtest", "--prometheus-header=novalue", "t.csv", "-f", "p.yaml"])
    assert result.exit_code == 2
    assert "'novalue' is not NAME=VALUE" in result.output
