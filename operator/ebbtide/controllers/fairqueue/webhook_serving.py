"""How the admission webhook gets the certificate it serves.

* Files (``--webhook-cert-file``; the chart's ``helm`` and ``certManager`` sources mount them from
  a Secret): kopf's own :class:`kopf.WebhookServer` serves them and reloads them when they change.
* A Secret the operator keeps (``--webhook-cert-secret``; the chart's default ``operator``
  source): :class:`SecretWebhookServer` with a :class:`CertificateKeeper`. The operator keeps a
  CA and a serving certificate in the Secret and the CA in the configuration's ``caBundle``,
  renewing both before they expire (:mod:`ebbtide.controllers.fairqueue.webhook_certificate`
  decides when).
* Neither (``ebbtide operator`` outside the chart): :class:`SelfSignedWebhookServer`, a
  certificate made at every start, for kopf to put into the configuration it manages itself.

Every replica runs a keeper: each reads the Secret every ``interval`` seconds, and any replica may
write it, since every write is conditional on what was read (a replica that loses the race reads
again and finds the work done). No replica replaces a ``caBundle`` that holds a CA issued after
its own (it read the Secret before another replica rotated it), so replicas cannot undo each
other's rotation; nor does the keeper need the fair-queue Lease, so during a rolling upgrade from
another source the new replicas set up their certificate while an old replica still leads.
A renewed certificate is loaded into the server's one SSL context
in place, so new connections get it at once, without restarting the server or the pod; a
connection already open keeps the certificate it was made with.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import ssl
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import kopf

from ebbtide.certificates import certificate_pem, issued_at, key_pem, self_signed_server_certificate
from ebbtide.controllers.fairqueue.webhook_certificate import (
    RotationPolicy,
    ServingCertificates,
    Step,
    holds,
    newest_ca,
    next_step,
    take_step,
)
from ebbtide.kube.errors import ConflictError, NotFoundError
from ebbtide.kube.webhook_certificates import BundleVersion, WebhookCertificateObjects
from ebbtide.metrics import queue_metrics as metrics

logger = logging.getLogger(__name__)

_SELF_SIGNED_VALIDITY = dt.timedelta(days=365)
#: Conflicting writes tolerated in one refresh before it gives up until the next.
_MAX_CONFLICTS = 5


class SelfSignedWebhookServer(kopf.WebhookServer):
    """kopf's HTTPS webhook server, with its self-signed certificate made by ``cryptography``
    (an ebbtide dependency already) instead of kopf's optional ``certbuilder`` extra.

    kopf calls :meth:`build_certificate` at every start with the addresses the API server will
    use, and puts the certificate into the webhook configuration's ``caBundle``.
    """

    @staticmethod
    def build_certificate(hostnames: Collection[str], password: str | None = None) -> tuple[bytes, bytes]:
        """A self-signed ECDSA P-256 certificate for ``hostnames`` and its key, both PEM."""
        certificate, key = self_signed_server_certificate(hosts=hostnames, validity=_SELF_SIGNED_VALIDITY)
        return certificate_pem(certificate), key_pem(key, password)


class ServingTLS:
    """One server-side SSL context whose certificate can be replaced while it serves."""

    def __init__(self) -> None:
        self.context = ssl.create_default_context(purpose=ssl.Purpose.CLIENT_AUTH)
        self.pem: tuple[bytes, bytes] | None = None

    def load(self, certificate: bytes, key: bytes) -> bool:
        """Serve ``certificate`` with ``key`` (PEM) from the next handshake on; False if it is
        what is served already. Call it from the event loop's thread (handshakes run there)."""
        if self.pem == (certificate, key):
            return False
        # The ssl module loads a chain only from files: a private directory, gone at once.
        with tempfile.TemporaryDirectory(prefix="ebbtide-webhook-") as directory:
            cert_file, key_file = Path(directory, "tls.crt"), Path(directory, "tls.key")
            cert_file.write_bytes(certificate)
            key_file.touch(mode=0o600)
            key_file.write_bytes(key)
            self.context.load_cert_chain(cert_file, key_file)
        self.pem = (certificate, key)
        return True


class SecretWebhookServer(kopf.WebhookServer):
    """kopf's HTTPS webhook server serving the certificate of a :class:`ServingTLS`.

    kopf loads what :meth:`build_certificate` returns into the context it is given; here that is
    the :class:`ServingTLS`'s own context and certificate, which the keeper replaces in place.
    """

    def __init__(self, *, tls: ServingTLS, **options: Any) -> None:
        super().__init__(context=tls.context, **options)
        self.tls = tls

    def build_certificate(  # type: ignore[override]  # kopf's is a staticmethod; this reads self
        self, hostnames: Collection[str], password: str | None = None
    ) -> tuple[bytes, bytes]:
        """The certificate the keeper loaded, and its key (the names are the keeper's)."""
        if self.tls.pem is None:
            raise RuntimeError("the webhook certificate was not loaded before the server started")
        return self.tls.pem


class CertificateKeeper:
    """Keeps the webhook's certificate in a Secret current, its CA in the configuration's
    ``caBundle``, and the :class:`ServingTLS` serving it.

    ``clock`` tells the time (tests give their own).
    """

    def __init__(
        self,
        objects: WebhookCertificateObjects,
        *,
        policy: RotationPolicy,
        tls: ServingTLS,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.objects = objects
        self.policy = policy
        self.tls = tls
        self.clock = clock

    def refresh(self) -> ServingCertificates:
        """Read the Secret, take every step it needs now, and set ``caBundle``; returns what the
        Secret holds afterwards. Blocks (API calls); raises NotFoundError without the Secret."""
        for _ in range(_MAX_CONFLICTS):
            try:
                return self._refresh_once()
            except ConflictError as error:
                logger.debug("another replica wrote first (%s); reading again", error)
        return self._refresh_once()

    def _refresh_once(self) -> ServingCertificates:
        secret = self.objects.read_secret()
        current = ServingCertificates.from_data(secret.data)
        for _ in range(len(Step)):
            trusted = current is not None and self._trust(current)
            step = next_step(current, policy=self.policy, now=self.clock(), trusted=trusted)
            changed = take_step(step, current, policy=self.policy, now=self.clock())
            if changed is None:
                break
            secret = self.objects.replace_secret(changed.to_data(), seen=secret)
            logger.info("webhook certificate: %s (Secret %s)", step.value, self.objects.secret)
            current = changed
        if current is None:  # pragma: no cover - every pass without certificates bootstraps
            raise RuntimeError("no webhook certificate after a refresh")
        return current

    def _trust(self, current: ServingCertificates) -> bool:
        """Put ``current.bundle`` into the configuration's ``caBundle`` unless it is there, or a
        newer CA is (this replica read an older Secret); returns whether it trusts ``current.ca``."""
        try:
            seen = self.objects.read_bundles()
        except NotFoundError:
            logger.warning(
                "MutatingWebhookConfiguration %s not found: nothing trusts the webhook's CA",
                self.objects.configuration,
            )
            return False
        if seen.agreed != current.bundle and self._may_replace(seen, current):
            self.objects.set_bundle(current.bundle, seen=seen)
            logger.info("webhook certificate: caBundle of %s set", self.objects.configuration)
            return True
        return seen.agreed is not None and holds(seen.agreed, current.ca)

    @staticmethod
    def _may_replace(seen: BundleVersion, current: ServingCertificates) -> bool:
        newest = max(filter(None, map(newest_ca, seen.bundles.values())), default=None)
        return newest is None or newest <= issued_at(current.ca)

    async def start(self) -> None:
        """Refresh once and serve the result (before the webhook server starts)."""
        self._serve(await asyncio.to_thread(self.refresh))

    async def keep(self, *, interval: float) -> None:
        """Refresh every ``interval`` seconds until cancelled; a failed refresh is logged and the
        certificate in use is kept."""
        while True:
            await asyncio.sleep(interval)
            try:
                current = await asyncio.to_thread(self.refresh)
            except Exception as error:  # the next refresh tries again; serving goes on meanwhile
                metrics.WEBHOOK_CERTIFICATE_REFRESH_FAILURES.inc()
                logger.warning("webhook certificate: refresh failed, serving the current one: %s", error)
                continue
            self._serve(current)

    def _serve(self, current: ServingCertificates) -> None:
        expiry = metrics.WEBHOOK_CERTIFICATE_EXPIRY
        expiry.labels("serving").set(current.serving.not_valid_after_utc.timestamp())
        expiry.labels("ca").set(current.ca.not_valid_after_utc.timestamp())
        if self.tls.load(*current.serving_pem):
            logger.info(
                "webhook certificate: serving %s, valid until %s",
                format(current.serving.serial_number, "x"),
                current.serving.not_valid_after_utc.isoformat(),
            )
