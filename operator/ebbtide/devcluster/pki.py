"""The local cluster's certificates: its own CAs, serving certificates and client identities.

As in a production cluster there are three trust roots: the cluster CA (API serving and client
certificates), the etcd CA (etcd is reachable only with a client certificate it issued) and the
front-proxy CA (aggregated APIs trust requests forwarded by the apiserver). Service-account
tokens are signed with a key pair of their own. Keys and certificates are built by
:mod:`ebbtide.certificates`; this module keeps them in files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ebbtide.certificates import (
    ca_certificate,
    certificate_pem,
    key_pem,
    leaf_certificate,
    load_certificates,
    load_key,
    new_key,
)

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


def make_ca(directory: Path, *, name: str, common_name: str) -> CertPair:
    """Create a self-signed CA as ``<name>.crt``/``<name>.key``, unless it already exists."""
    pair = CertPair(directory / f"{name}.crt", directory / f"{name}.key")
    if pair.exists():
        return pair
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = ca_certificate(common_name=common_name, validity=10 * _VALIDITY)
    _write_key(pair.key, key)
    pair.cert.write_bytes(certificate_pem(cert))
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
    [ca_cert] = load_certificates(ca.cert.read_bytes())
    cert, key = leaf_certificate(
        issuer=ca_cert,
        issuer_key=load_key(ca.key.read_bytes()),
        common_name=common_name,
        organisations=organisations,
        hosts=(*dns_names, *ip_addresses),
        server=server,
        client=client,
        validity=_VALIDITY,
    )
    _write_key(pair.key, key)
    pair.cert.write_bytes(certificate_pem(cert))
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
