"""A configuration mistake ends ``ebbtide operator`` / ``ebbtide extender`` with one line that
says which, a non-zero status, and no traceback: no cluster, a malformed Prometheus URL or
credentials Prometheus refuses, a bad configuration file, an unknown controller name. A Prometheus
that does not answer is no mistake: the operator says so in one line and starts."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ebbtide.cli import main
from ebbtide.errors import PrometheusUnusableError
from ebbtide.metrics.prometheus_probe import check_url, probe_prometheus

pytestmark = pytest.mark.unit


@pytest.fixture
def no_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return {"HOME": str(tmp_path), "KUBECONFIG": ""}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_line_error(result: Result, *, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_operator_without_any_cluster(no_cluster: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["operator"], env=no_cluster)
    line = one_line_error(result, code=1)
    assert "no Kubernetes cluster configured" in line
    assert "KUBECONFIG" in line


def test_extender_without_any_cluster(no_cluster: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["extender"], env=no_cluster)
    assert "no Kubernetes cluster configured" in one_line_error(result, code=1)


def test_unknown_controller_name(no_cluster: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["operator", "--controllers=scaling,autoscaling"], env=no_cluster)
    line = one_line_error(result, code=2)
    assert "'autoscaling'" in line
    assert "known: queueing, scaling" in line


def test_unknown_controller_name_from_the_environment(no_cluster: dict[str, str]) -> None:
    env = {**no_cluster, "EBBTIDE_CONTROLLERS": "queues"}
    assert "'queues'" in one_line_error(CliRunner().invoke(main, ["operator"], env=env), code=2)


def test_extender_configuration_that_is_not_yaml(no_cluster: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "extender.yaml"
    config.write_text("weights: [unclosed")
    result = CliRunner().invoke(main, ["extender", f"--config={config}"], env=no_cluster)
    one_line_error(result, code=1)


def test_extender_configuration_that_does_not_exist(no_cluster: dict[str, str], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["extender", f"--config={tmp_path / 'missing.yaml'}"], env=no_cluster)
    assert "cannot read" in one_line_error(result, code=1)


@pytest.mark.parametrize("url", ["localhost:9090", "ftp://prometheus", "http://", "prometheus"])
def test_a_prometheus_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(PrometheusUnusableError, match="is not an http:// or https:// URL"):
        check_url(url)


def test_a_prometheus_nobody_listens_on_is_reported_after_the_patience() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    naps: list[float] = []
    times = iter([0.0, 0.0, 5.0, 11.0])
    problem = probe_prometheus(url, patience=10, sleep=naps.append, clock=lambda: next(times))
    assert problem is not None and problem.kind == "unreachable"
    assert problem.message.startswith(f"cannot reach Prometheus at {url}: ")
    assert naps == [1.0, 1.0]


@pytest.mark.parametrize("status", [401, 403])
def test_credentials_prometheus_refuses_are_a_mistake_at_once(status: int) -> None:
    naps: list[float] = []
    with (
        answering(status) as url,
        pytest.raises(PrometheusUnusableError, match=f"HTTP {status}.*credentials"),
    ):
        probe_prometheus(url, patience=10, sleep=naps.append)
    assert naps == []


def test_operator_with_an_unreachable_prometheus_starts_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ebbtide.commands import run_operator

    started: list[object] = []
    monkeypatch.setattr(run_operator, "run", started.append)
    monkeypatch.setattr(run_operator, "connect", lambda access, **_: None)
    monkeypatch.setattr(
        run_operator,
        "probe_prometheus",
        lambda url, **options: probe_prometheus(url, patience=0, sleep=lambda s: None, **options),
    )
    url = f"http://127.0.0.1:{closed_port()}"
    result = CliRunner().invoke(main, ["operator", f"--prometheus-url={url}"])
    assert result.exit_code == 0, result.output
    assert len(started) == 1
    said = [line for line in result.output.splitlines() if "Prometheus" in line]
    assert len(said) == 1, result.output
    assert f"cannot reach Prometheus at {url}" in said[0]
    assert "starting anyway" in said[0]


def test_operator_whose_prometheus_refuses_its_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from ebbtide.commands import run_operator

    monkeypatch.setattr(run_operator, "connect", lambda access, **_: None)
    with answering(401) as url:
        result = CliRunner().invoke(main, ["operator", f"--prometheus-url={url}"])
    assert "HTTP 401" in one_line_error(result, code=1)


@contextmanager
def answering(status: int) -> Iterator[str]:
    """An HTTP server on localhost that answers every request with ``status``; its URL."""

    class Refusing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._refuse()

        def do_POST(self) -> None:
            self._refuse()

        def _refuse(self) -> None:
            body = b'{"status":"error","errorType":"unauthorized","error":"who are you"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
