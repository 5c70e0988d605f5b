"""The extender reads node load with the ``--prometheus-*`` credentials it was started with."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ebbtide.cli import main
from ebbtide.extender.load_board import PrometheusSources
from ebbtide.metrics.node_load import PrometheusNodeLoad, PrometheusSettings
from ebbtide.metrics.prometheus_access import TENANT_HEADER, PrometheusCredentials

pytestmark = pytest.mark.unit


def test_each_node_load_source_sends_the_credentials(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    sources = PrometheusSources(credentials=PrometheusCredentials(ca_file=ca, tenant="team-a"))
    source = sources.for_settings(PrometheusSettings(url="https://prometheus:9090"))
    assert isinstance(source, PrometheusNodeLoad)
    client = source._prometheus
    assert client.headers == {TENANT_HEADER: "team-a"}
    assert client._session.verify == str(ca)
    source.close()


def test_the_extender_refuses_contradicting_credentials_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["extender", f"--prometheus-bearer-token-file={tmp_path}/t", "--prometheus-username=u"]
    )
    assert result.exit_code == 2
    assert "a bearer token and basic auth cannot both be used" in result.output
    assert "Traceback" not in result.output
