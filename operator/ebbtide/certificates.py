"""X.509 in one place: the keys and certificate builders every ebbtide certificate starts from.

The operator's webhook serves with a self-signed certificate it makes at start-up, and the
local cluster makes its own CAs and leaf certificates; both use these. Keys are ECDSA P-256
(quick to make and accepted everywhere in Kubernetes), signatures SHA-256, and a certificate is
valid from five minutes before it was made, so a clock a little behind still accepts it.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

#: How far back a new certificate's validity starts (clock skew between machines).
_BACKDATE = dt.timedelta(minutes=5)


def new_key() -> ec.EllipticCurvePrivateKey:
    """A new ECDSA P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def certificate_builder(
    *, subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, validity: dt.timedelta
) -> x509.CertificateBuilder:
    """A builder for a certificate of ``key``'s public key, valid for ``validity`` from now (and
    five minutes back), with a random serial number; extensions are the caller's."""
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + validity)
    )


def key_pem(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
    """``key`` as PKCS#8 PEM, encrypted with ``password`` when one is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
