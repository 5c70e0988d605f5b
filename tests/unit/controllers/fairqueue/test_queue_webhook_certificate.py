"""The webhook server: its self-signed certificate (what the API server needs to trust it), or
the certificate files it is given."""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ebbtide.controllers.fairqueue.controller import webhook_server
from ebbtide.controllers.fairqueue.webhook_serving import SelfSignedWebhookServer
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
