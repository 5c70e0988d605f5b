"""When to renew the webhook's CA and serving certificate, decided from what a Secret holds.

With ``webhook.certificate.source: operator`` the operator keeps its own CA and serving certificate
in one Secret, as Kueue and KEDA do (through open-policy-agent's cert-controller), so no install
tool has to generate them: ``helm template | kubectl apply`` and GitOps work as ``helm install``
does. This module is the pure half: the Secret's content as :class:`ServingCertificates`, and
:func:`next_step` deciding, for a moment ``now``, which single change it needs next.
:mod:`ebbtide.controllers.fairqueue.webhook_serving` applies the steps, writes the Secret and the
webhook configuration's ``caBundle``, and serves the certificate.

The rules, in order (a certificate is due when less than a third of its validity remains, the
rule cert-manager's ``renewBefore`` defaults to):

1. Nothing usable (an empty Secret, a CA that has expired, a key that does not match):
   **bootstrap** a new CA and a serving certificate.
2. The CA is due: **rotate the CA**. The new CA signs nothing yet; the old one becomes the
   previous CA and stays in ``caBundle``, because every replica still serves a certificate it signed.
3. The serving certificate is not the current CA's (after 2): **renew the serving certificate**,
   but only once the API server trusts the current CA (``caBundle`` holds it); until then, wait.
4. The serving certificate is due, or names other hosts than wanted: **renew** it.
5. A previous CA remains and either it has expired or the current CA's serving certificate has
   been in the Secret for ``policy.overlap`` (every replica has loaded it by then): **drop** it.

Each step changes one thing, so a replica that applies one, writes the Secret and updates
``caBundle`` before deciding again never serves a certificate the API server does not yet trust.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from ebbtide.certificates import (
    alternative_names,
    ca_certificate,
    certificate_pem,
    issued_at,
    key_pem,
    leaf_certificate,
    load_certificates,
    load_key,
    matches,
    signed_by,
)

#: The Secret's keys. ``ca.crt`` and ``tls.*`` read as cert-manager's do.
CA_CERT = "ca.crt"
CA_KEY = "ca.key"
SERVING_CERT = "tls.crt"
SERVING_KEY = "tls.key"
PREVIOUS_CA_CERT = "previous-ca.crt"

#: A certificate is renewed once less than this share of its validity remains.
RENEW_WHEN_REMAINING = 1 / 3


class Step(StrEnum):
    """The one change :func:`next_step` asks for."""

    NONE = "None"
    BOOTSTRAP = "Bootstrap"
    ROTATE_CA = "RotateCA"
    RENEW_SERVING = "RenewServingCertificate"
    DROP_PREVIOUS_CA = "DropPreviousCA"


@dataclass(frozen=True)
class RotationPolicy:
    """How long certificates live and which hosts the serving certificate names.

    ``overlap``: how long the previous CA stays trusted after the current CA's serving certificate
    was written; longer than a replica takes to load it (its refresh interval, with margin).
    """

    hosts: tuple[str, ...]
    ca_validity: dt.timedelta = dt.timedelta(days=3650)
    serving_validity: dt.timedelta = dt.timedelta(days=365)
    overlap: dt.timedelta = dt.timedelta(minutes=10)
    ca_name: str = "ebbtide-webhook-ca"

    def __post_init__(self) -> None:
        if not self.hosts:
            raise ValueError("the serving certificate needs at least one host")
        if self.serving_validity > self.ca_validity:
            raise ValueError("the serving certificate cannot outlive its CA: shorten it or lengthen the CA's")


@dataclass(frozen=True)
class ServingCertificates:
    """A CA with its key, the serving certificate it signed (or the previous CA signed, while a
    CA rotation is under way) with its key, and the previous CA while it is still trusted.

    Two are equal when their certificates are (each key is its certificate's, see :meth:`from_data`).
    """

    ca: x509.Certificate
    ca_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)
    serving: x509.Certificate
    serving_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)
    previous_ca: x509.Certificate | None = None

    @property
    def bundle(self) -> bytes:
        """The ``caBundle`` the API server must trust: the current CA, then the previous one."""
        return certificate_pem(self.ca, *([self.previous_ca] if self.previous_ca else []))

    @property
    def serving_pem(self) -> tuple[bytes, bytes]:
        """The serving certificate and its key, PEM, as the webhook server loads them."""
        return certificate_pem(self.serving), key_pem(self.serving_key)

    def to_data(self) -> dict[str, bytes]:
        """The Secret's ``data`` (raw bytes; the caller base64-encodes)."""
        data = {
            CA_CERT: certificate_pem(self.ca),
            CA_KEY: key_pem(self.ca_key),
            SERVING_CERT: certificate_pem(self.serving),
            SERVING_KEY: key_pem(self.serving_key),
        }
        if self.previous_ca is not None:
            data[PREVIOUS_CA_CERT] = certificate_pem(self.previous_ca)
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, bytes]) -> ServingCertificates | None:
        """What a Secret's ``data`` holds; None when it is empty, incomplete or inconsistent
        (a key that is not its certificate's, a serving certificate neither CA signed)."""
        try:
            [ca] = load_certificates(data[CA_CERT])
            [serving] = load_certificates(data[SERVING_CERT])
            ca_key, serving_key = load_key(data[CA_KEY]), load_key(data[SERVING_KEY])
            previous = load_certificates(data[PREVIOUS_CA_CERT]) if data.get(PREVIOUS_CA_CERT) else []
        except (KeyError, ValueError):
            return None
        certificates = cls(
            ca=ca,
            ca_key=ca_key,
            serving=serving,
            serving_key=serving_key,
            previous_ca=previous[0] if previous else None,
        )
        issuers = [ca, *previous]
        if not (matches(ca, ca_key) and matches(serving, serving_key)):
            return None
        if not any(signed_by(serving, issuer) for issuer in issuers):
            return None
        return certificates


def is_due(certificate: x509.Certificate, *, now: dt.datetime) -> bool:
    """Whether less than :data:`RENEW_WHEN_REMAINING` of ``certificate``'s validity remains at ``now``."""
    lifetime = certificate.not_valid_after_utc - issued_at(certificate)
    return certificate.not_valid_after_utc - now < lifetime * RENEW_WHEN_REMAINING


def _names_hosts(certificate: x509.Certificate, hosts: tuple[str, ...]) -> bool:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return set(names) == set(alternative_names(hosts))


def next_step(
    current: ServingCertificates | None, *, policy: RotationPolicy, now: dt.datetime, trusted: bool
) -> Step:
    """The one change ``current`` needs at ``now`` (see the module docstring for the rules).

    ``trusted``: whether the webhook configuration's ``caBundle`` holds ``current.ca``.
    """
    if current is None or current.ca.not_valid_after_utc <= now:
        return Step.BOOTSTRAP
    if is_due(current.ca, now=now):
        return Step.ROTATE_CA
    serving_is_current = signed_by(current.serving, current.ca)
    if not serving_is_current:
        return Step.RENEW_SERVING if trusted else Step.NONE
    if is_due(current.serving, now=now) or not _names_hosts(current.serving, policy.hosts):
        return Step.RENEW_SERVING
    previous = current.previous_ca
    if previous is not None and (
        previous.not_valid_after_utc <= now or now - issued_at(current.serving) >= policy.overlap
    ):
        return Step.DROP_PREVIOUS_CA
    return Step.NONE


def take_step(
    step: Step, current: ServingCertificates | None, *, policy: RotationPolicy, now: dt.datetime
) -> ServingCertificates | None:
    """``current`` changed by ``step``; None for :attr:`Step.NONE` (nothing to write)."""
    if step is Step.NONE:
        return None
    if step is Step.BOOTSTRAP or current is None:
        ca, ca_key = ca_certificate(common_name=policy.ca_name, validity=policy.ca_validity, now=now)
        serving, serving_key = _serving(policy, ca=ca, ca_key=ca_key, now=now)
        return ServingCertificates(ca=ca, ca_key=ca_key, serving=serving, serving_key=serving_key)
    if step is Step.ROTATE_CA:
        ca, ca_key = ca_certificate(common_name=policy.ca_name, validity=policy.ca_validity, now=now)
        return replace(current, ca=ca, ca_key=ca_key, previous_ca=current.ca)
    if step is Step.RENEW_SERVING:
        serving, serving_key = _serving(policy, ca=current.ca, ca_key=current.ca_key, now=now)
        return replace(current, serving=serving, serving_key=serving_key)
    return replace(current, previous_ca=None)


def _serving(
    policy: RotationPolicy, *, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    return leaf_certificate(
        issuer=ca,
        issuer_key=ca_key,
        common_name=policy.hosts[0],
        hosts=policy.hosts,
        server=True,
        validity=policy.serving_validity,
        now=now,
    )


def newest_ca(bundle: bytes) -> dt.datetime | None:
    """When the most recently issued certificate of a ``caBundle`` was issued; None if it holds none."""
    try:
        certificates = load_certificates(bundle)
    except ValueError:
        return None
    return max((issued_at(c) for c in certificates), default=None)


def holds(bundle: bytes, ca: x509.Certificate) -> bool:
    """Whether ``bundle`` (PEM) holds ``ca``."""
    try:
        return ca in load_certificates(bundle)
    except ValueError:
        return False
