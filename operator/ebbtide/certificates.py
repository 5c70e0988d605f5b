"""X.509 in one place: keys, CAs, leaf certificates and their PEM forms for every ebbtide certificate.

The operator's webhook serves a certificate it makes at start-up or one it keeps in a Secret
(:mod:`ebbtide.controllers.fairqueue.webhook_certificate`), and the local cluster makes its own CAs
and leaf certificates; all of them come from here. Keys are ECDSA P-256 (quick to make and
accepted everywhere in Kubernetes), signatures SHA-256, and a certificate is valid from
:data:`BACKDATE` before it was made, so a clock a little behind still accepts it.

Every builder takes ``now`` (default: the current time), so rotation decisions can be tested with
a clock of their own.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: How far back a new certificate's validity starts (clock skew between machines).
BACKDATE = dt.timedelta(minutes=5)

_CA_USAGE = x509.KeyUsage(
    digital_signature=True,
    key_cert_sign=True,
    crl_sign=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    encipher_only=False,
    decipher_only=False,
)


def new_key() -> ec.EllipticCurvePrivateKey:
    """A new ECDSA P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC)


def certificate_builder(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    validity: dt.timedelta,
    now: dt.datetime | None = None,
) -> x509.CertificateBuilder:
    """A builder for a certificate of ``key``'s public key, valid for ``validity`` from ``now``
    (and :data:`BACKDATE` back), with a random serial number; extensions are the caller's."""
    start = _now(now)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - BACKDATE)
        .not_valid_after(start + validity)
    )


def name(common_name: str, organisations: Iterable[str] = ()) -> x509.Name:
    """A subject of ``organisations`` (Kubernetes groups, for a client) and ``common_name``."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organisations]
    return x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def alternative_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    """Subject alternative names for ``hosts``: an IP address for each that parses as one, a DNS
    name for the others; duplicates and unspecified addresses (``0.0.0.0`` can be listened on,
    never reached) are left out."""
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            names.append(x509.DNSName(host))
            continue
        if not address.is_unspecified:
            names.append(x509.IPAddress(address))
    return names


def ca_certificate(
    *, common_name: str, validity: dt.timedelta, now: dt.datetime | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A new self-signed CA valid for ``validity`` from ``now``, and its key."""
    key = new_key()
    subject = name(common_name)
    certificate = (
        certificate_builder(subject=subject, issuer=subject, key=key, validity=validity, now=now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def leaf_certificate(
    *,
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    common_name: str,
    validity: dt.timedelta,
    organisations: Iterable[str] = (),
    hosts: Iterable[str] = (),
    server: bool = False,
    client: bool = False,
    now: dt.datetime | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A new certificate signed by ``issuer`` for ``hosts`` (see :func:`alternative_names`), and its key.

    It is valid for ``validity`` from ``now``, but never beyond the issuer: a chain is only as
    valid as its CA. ``server`` and ``client`` choose the extended key usages.
    """
    start = _now(now)
    key = new_key()
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] * server + [ExtendedKeyUsageOID.CLIENT_AUTH] * client
    builder = (
        certificate_builder(
            subject=name(common_name, organisations),
            issuer=issuer.subject,
            key=key,
            validity=min(validity, issuer.not_valid_after_utc - start),
            now=start,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    if names := alternative_names(hosts):
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def self_signed_server_certificate(
    *, hosts: Iterable[str], validity: dt.timedelta, now: dt.datetime | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A server certificate for ``hosts`` that is its own CA (the first host is its common name)."""
    hosts = list(hosts)
    key = new_key()
    subject = name(next(iter(hosts), "localhost"))
    certificate = (
        certificate_builder(subject=subject, issuer=subject, key=key, validity=validity, now=now)
        .add_extension(x509.SubjectAlternativeName(alternative_names(hosts)), critical=False)
        # Its own CA: the caBundle the API server trusts is this very certificate.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def key_pem(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
    """``key`` as PKCS#8 PEM, encrypted with ``password`` when one is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def certificate_pem(*certificates: x509.Certificate) -> bytes:
    """``certificates`` as one PEM bundle, in the order given."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def load_certificates(pem: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle; raises ValueError if there is none or one is malformed."""
    return x509.load_pem_x509_certificates(pem)


def load_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    """An unencrypted PEM private key; raises ValueError if it is malformed or no ECDSA key."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"expected an ECDSA key, found {type(key).__name__}")
    return key


def issued_at(certificate: x509.Certificate) -> dt.datetime:
    """When ``certificate`` was made by :func:`certificate_builder` (its start, :data:`BACKDATE` on)."""
    return certificate.not_valid_before_utc + BACKDATE


def signed_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether ``ca`` issued ``certificate`` (its name and its signature, not the dates)."""
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def matches(certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    """Whether ``key`` is the private key of ``certificate``."""
    return certificate.public_key() == key.public_key()
