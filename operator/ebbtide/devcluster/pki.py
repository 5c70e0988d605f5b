"""The local cluster's certificates: its own CAs, serving certificates and client identities.

As in a production cluster there are three trust roots: the cluster CA (API serving and client
certificates), the etcd CA (etcd is reachable only with a client certificate it issued) and the
front-proxy CA (aggregated APIs trust requests forwarded by the apiserver). Service-account
tokens are signed with a key pair of their own. Keys and the certificate builder are
:mod:`ebbtide.certificates`'.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ebbtide.certificates import certificate_builder, key_pem, new_key

_VALIDITY = dt.timedelta(days=365)


@dataclass(frozen=True)
class CertPair:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path

    def exists(self) -> bool:
        return self.cert.is_file() and self.key.is_file()


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key_pem(key))
    path.chmod(0o600)


def _name(common_name: str, organisations: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organisations]
    return x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(directory: Path, *, name: str, common_name: str) -> CertPair:
    """Create a self-signed CA as ``<name>.crt``/``<name>.key``, unless it already exists."""
    pair = CertPair(directory / f"{name}.crt", directory / f"{name}.key")
    if pair.exists():
        return pair
    directory.mkdir(parents=True, exist_ok=True)
    key = new_key()
    subject = _name(common_name)
    cert = (
        certificate_builder(subject=subject, issuer=subject, key=key, validity=10 * _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(pair.key, key)
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pair


def issue(
    ca: CertPair,
    directory: Path,
    *,
    name: str,
    common_name: str,
    organisations: tuple[str, ...] = (),
    dns_names: tuple[str, ...] = (),
    ip_addresses: tuple[str, ...] = (),
    server: bool = False,
    client: bool = False,
) -> CertPair:
    """Issue a leaf certificate signed by ``ca`` as ``<name>.crt``/``<name>.key``, unless it exists.

    ``common_name`` and ``organisations`` become the Kubernetes user and groups when the
    certificate authenticates a client.
    """
    pair = CertPair(directory / f"{name}.crt", directory / f"{name}.key")
    if pair.exists():
        return pair
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = new_key()
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] * server + [ExtendedKeyUsageOID.CLIENT_AUTH] * client
    builder = (
        certificate_builder(
            subject=_name(common_name, organisations), issuer=ca_cert.subject, key=key, validity=_VALIDITY
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write_key(pair.key, key)
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pair


def make_signing_key(directory: Path, *, name: str) -> CertPair:
    """A key pair for signing service-account tokens: ``<name>.pub`` (in ``cert``) and ``<name>.key``."""
    pair = CertPair(directory / f"{name}.pub", directory / f"{name}.key")
    if pair.exists():
        return pair
    directory.mkdir(parents=True, exist_ok=True)
    key = new_key()
    _write_key(pair.key, key)
    pair.cert.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pair
