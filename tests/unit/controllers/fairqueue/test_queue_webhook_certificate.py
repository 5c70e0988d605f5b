"""The webhook server: its self-signed certificate (what the API server needs to trust it), the
certificate files it is given, or the certificate the operator keeps in a Secret."""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ebbtide.controllers.fairqueue.controller import certificate_keeper, webhook_server
from ebbtide.controllers.fairqueue.webhook_serving import (
    SecretWebhookServer,
    SelfSignedWebhookServer,
    ServingTLS,
)
from ebbtide.controllers.runtime import OperatorConfig


def test_the_certificate_names_every_reachable_host_and_is_its_own_ca(tmp_path: Path) -> None:
    cert_pem, key_pem = SelfSignedWebhookServer.build_certificate(["127.0.0.1", "0.0.0.0", "webhook.local"])
    certificate = x509.load_pem_x509_certificate(cert_pem)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert names.get_values_for_type(x509.DNSName) == ["webhook.local"]
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usages
    (tmp_path / "tls.crt").write_bytes(cert_pem)
    (tmp_path / "tls.key").write_bytes(key_pem)
    context = ssl.create_default_context(purpose=ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")  # the key matches


def test_a_password_encrypts_the_key(tmp_path: Path) -> None:
    cert_pem, key_pem = SelfSignedWebhookServer.build_certificate(["127.0.0.1"], "secret")
    assert b"ENCRYPTED" in key_pem
    (tmp_path / "tls.crt").write_bytes(cert_pem)
    (tmp_path / "tls.key").write_bytes(key_pem)
    context = ssl.create_default_context(purpose=ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key", password="secret")


def test_given_certificate_files_are_served_as_they_are(tmp_path: Path) -> None:
    config = OperatorConfig(
        webhook_host="127.0.0.1",
        webhook_port=9443,
        webhook_cert_file=tmp_path / "tls.crt",
        webhook_key_file=tmp_path / "tls.key",
    )
    server = webhook_server(config)
    assert not isinstance(server, SelfSignedWebhookServer)
    assert (server.certfile, server.pkeyfile) == (tmp_path / "tls.crt", tmp_path / "tls.key")
    assert (server.addr, server.port) == ("127.0.0.1", 9443)


def test_without_certificate_files_the_server_makes_its_own() -> None:
    server = webhook_server(OperatorConfig(webhook_host="127.0.0.1", webhook_port=9443))
    assert isinstance(server, SelfSignedWebhookServer)
    assert server.certfile is None


def test_a_kept_certificate_is_served_from_the_context_the_keeper_reloads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POD_NAMESPACE", "ebbtide-system")
    config = OperatorConfig(
        webhook_host="127.0.0.1",
        webhook_cert_secret="rel-ebbtide-webhook-certs",
        webhook_configuration="rel-ebbtide-fairqueue",
        webhook_cert_hosts=("rel-ebbtide-webhook.ebbtide-system.svc",),
        webhook_cert_refresh=30,
    )
    keeper = certificate_keeper(config, api_client=None)  # type: ignore[arg-type]  # no request made
    assert keeper is not None
    assert (keeper.objects.namespace, keeper.objects.secret) == (
        "ebbtide-system",
        "rel-ebbtide-webhook-certs",
    )
    assert keeper.objects.configuration == "rel-ebbtide-fairqueue"
    assert keeper.policy.hosts == config.webhook_cert_hosts
    assert keeper.policy.overlap.total_seconds() == 150  # five refresh intervals
    server = webhook_server(config, keeper.tls)
    assert isinstance(server, SecretWebhookServer)
    assert server.context is keeper.tls.context and server.certfile is None
    with pytest.raises(RuntimeError, match="not loaded"):
        server.build_certificate([])
    cert_pem, key_pem = SelfSignedWebhookServer.build_certificate(["127.0.0.1"])
    assert keeper.tls.load(cert_pem, key_pem) and not keeper.tls.load(cert_pem, key_pem)
    assert server.build_certificate([]) == (cert_pem, key_pem)


def test_without_a_secret_there_is_no_keeper() -> None:
    assert certificate_keeper(OperatorConfig(), api_client=None) is None  # type: ignore[arg-type]
    assert isinstance(ServingTLS().context, ssl.SSLContext)
