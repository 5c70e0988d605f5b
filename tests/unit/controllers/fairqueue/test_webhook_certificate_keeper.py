"""Replicas keeping the webhook's certificate in one Secret: whichever writes first wins and the
others find the work done, a replica that read an older Secret never takes a newer CA out of
``caBundle``, every replica always serves a certificate the API server trusts, and a renewed
certificate is served to new connections without restarting the server.

The Secret and the webhook configuration are an in-memory stand-in with the API server's
optimistic concurrency (a write at another resourceVersion is a 409); the clock is the test's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from cryptography import x509

from ebbtide.certificates import load_certificates, signed_by
from ebbtide.controllers.fairqueue.webhook_certificate import RotationPolicy, ServingCertificates
from ebbtide.controllers.fairqueue.webhook_serving import CertificateKeeper, ServingTLS
from ebbtide.kube.errors import ConflictError
from ebbtide.kube.webhook_certificates import BundleVersion, SecretVersion
from ebbtide.metrics import queue_metrics as metrics

START = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
POLICY = RotationPolicy(
    hosts=("127.0.0.1",), ca_validity=60 * DAY, serving_validity=15 * DAY, overlap=2 * DAY
)
WEBHOOKS = ("gate-queued-pods.fairqueue.ebbtide.io", "suspend-queued-jobs.fairqueue.ebbtide.io")


def conflict() -> ConflictError:
    return ConflictError(status=409, reason="Conflict")


@dataclass
class FakeObjects:
    """The Secret and the configuration, with resourceVersions."""

    namespace: str = "ebbtide-system"
    secret: str = "webhook-certificates"
    configuration: str = "fairqueue"
    data: dict[str, bytes] = field(default_factory=dict)
    secret_version: int = 1
    bundle: bytes = b""
    configuration_version: int = 1
    secret_writes: int = 0
    #: Called once before the next Secret write is applied (another replica's turn).
    interleave: Callable[[], object] | None = None
    #: Data the next read returns, at a resourceVersion long gone (a read that lags behind).
    lagging: dict[str, bytes] | None = None
    bundles_set: list[bytes] = field(default_factory=list)

    def read_secret(self) -> SecretVersion:
        if self.lagging is not None:
            data, self.lagging = self.lagging, None
            return SecretVersion(data=data, resource_version="0")
        return SecretVersion(data=dict(self.data), resource_version=str(self.secret_version))

    def replace_secret(self, data: Mapping[str, bytes], *, seen: SecretVersion) -> SecretVersion:
        if self.interleave is not None:
            interleave, self.interleave = self.interleave, None
            interleave()
        if seen.resource_version != str(self.secret_version):
            raise conflict()
        self.data, self.secret_version = dict(data), self.secret_version + 1
        self.secret_writes += 1
        return self.read_secret()

    def read_bundles(self) -> BundleVersion:
        return BundleVersion(
            bundles=dict.fromkeys(WEBHOOKS, self.bundle), resource_version=str(self.configuration_version)
        )

    def set_bundle(self, bundle: bytes, *, seen: BundleVersion) -> None:
        if seen.resource_version != str(self.configuration_version):
            raise conflict()
        self.bundle, self.configuration_version = bundle, self.configuration_version + 1
        self.bundles_set.append(bundle)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


def keeper(objects: FakeObjects, clock: Clock) -> CertificateKeeper:
    return CertificateKeeper(objects, policy=POLICY, tls=ServingTLS(), clock=clock)  # type: ignore[arg-type]


def served(replica: CertificateKeeper) -> x509.Certificate:
    assert replica.tls.pem is not None
    [certificate] = load_certificates(replica.tls.pem[0])
    return certificate


def refresh_and_serve(replica: CertificateKeeper) -> None:
    current = replica.refresh()
    replica.tls.load(*current.serving_pem)


def test_replicas_that_bootstrap_at_once_write_one_certificate() -> None:
    objects, clock = FakeObjects(), Clock()
    first, second = keeper(objects, clock), keeper(objects, clock)
    # The second replica bootstraps between the first one's read and its write.
    objects.interleave = second.refresh
    from_first = first.refresh()
    assert objects.secret_writes == 1
    assert from_first == ServingCertificates.from_data(objects.data) == second.refresh()
    assert objects.bundle == from_first.bundle


def test_a_replica_that_read_an_older_secret_leaves_a_newer_ca_in_the_bundle() -> None:
    objects, clock = FakeObjects(), Clock()
    first = keeper(objects, clock).refresh()
    clock.now = START + 41 * DAY  # the CA is due
    rotated = keeper(objects, clock).refresh()
    assert rotated.previous_ca == first.ca and objects.bundle == rotated.bundle
    # A replica whose read lags behind the rotation: it must not put the old bundle back, and its
    # own rotation, decided on the old Secret, is refused; it reads again and finds the work done.
    objects.lagging, objects.bundles_set, writes = first.to_data(), [], objects.secret_writes
    assert keeper(objects, clock).refresh() == rotated
    assert objects.bundles_set == [] and objects.secret_writes == writes


def test_every_replica_serves_a_certificate_the_api_server_trusts_through_every_rotation() -> None:
    objects, clock = FakeObjects(), Clock()
    replicas = [keeper(objects, clock) for _ in range(3)]
    cas = set()
    for hour in range(0, 200 * 24, 6):
        clock.now = START + dt.timedelta(hours=hour)
        # One replica a turn: the others serve what they loaded at their own last turn.
        refresh_and_serve(replicas[(hour // 6) % len(replicas)])
        trusted = load_certificates(objects.bundle)
        for replica in replicas:
            if replica.tls.pem is not None:
                assert any(signed_by(served(replica), ca) for ca in trusted), f"hour {hour}"
        cas.update(trusted)
    assert len(cas) >= 3  # the CA was rotated at least twice
    assert len(load_certificates(objects.bundle)) == 1  # and the previous one dropped each time


def test_a_renewed_certificate_is_served_to_new_connections_without_restarting_the_server() -> None:
    objects, clock = FakeObjects(), Clock()
    clock.now = dt.datetime.now(dt.UTC)
    replica = keeper(objects, clock)
    refresh_and_serve(replica)
    first = served(replica)

    async def peer_certificate(port: int) -> x509.Certificate:
        client = ssl.create_default_context(cadata=objects.bundle.decode())
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        await writer.wait_closed()
        return x509.load_der_x509_certificate(der)

    async def scenario() -> tuple[x509.Certificate, x509.Certificate]:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=replica.tls.context)
        port = server.sockets[0].getsockname()[1]
        async with server:
            before = await peer_certificate(port)
            # Another host to name: a new serving certificate (real time: the client checks dates).
            replica.policy = replace(POLICY, hosts=("127.0.0.1", "localhost"))
            refresh_and_serve(replica)
            after = await peer_certificate(port)
        return before, after

    before, after = asyncio.run(scenario())
    assert before == first
    assert after == served(replica) != first


def test_the_served_certificate_s_expiry_is_exported_and_a_failed_refresh_is_counted() -> None:
    objects, clock = FakeObjects(), Clock()
    replica = keeper(objects, clock)
    asyncio.run(replica.start())
    expiry = metrics.WEBHOOK_CERTIFICATE_EXPIRY
    assert expiry.labels("serving")._value.get() == served(replica).not_valid_after_utc.timestamp()
    assert expiry.labels("ca")._value.get() == (START + POLICY.ca_validity).timestamp()

    def unreadable() -> SecretVersion:
        raise ConnectionError("the API server does not answer")

    objects.read_secret = unreadable  # type: ignore[method-assign]
    failures = metrics.WEBHOOK_CERTIFICATE_REFRESH_FAILURES
    before = failures._value.get()

    async def keep_until_a_failure_is_counted() -> None:
        task = asyncio.create_task(replica.keep(interval=0))
        while failures._value.get() == before:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(keep_until_a_failure_is_counted())
    assert replica.tls.pem is not None  # still serving what it had
