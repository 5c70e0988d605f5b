"""When the operator renews the webhook's CA and serving certificate, on a clock of the test's own:
the serving certificate before it expires, the CA with an overlap during which the API server
trusts both CAs, and never a serving certificate the API server does not trust yet."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from ebbtide.certificates import load_certificates, signed_by
from ebbtide.controllers.fairqueue.webhook_certificate import (
    CA_CERT,
    SERVING_KEY,
    RotationPolicy,
    ServingCertificates,
    Step,
    holds,
    newest_ca,
    next_step,
    take_step,
)

START = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
POLICY = RotationPolicy(
    hosts=("webhook.ebbtide-system.svc", "10.0.0.7"),
    ca_validity=300 * DAY,
    serving_validity=90 * DAY,
    overlap=dt.timedelta(minutes=10),
)


def bootstrapped(policy: RotationPolicy = POLICY, now: dt.datetime = START) -> ServingCertificates:
    step = next_step(None, policy=policy, now=now, trusted=False)
    assert step is Step.BOOTSTRAP
    certificates = take_step(step, None, policy=policy, now=now)
    assert certificates is not None
    return certificates


def step_at(current: ServingCertificates, when: dt.datetime, *, trusted: bool = True) -> Step:
    return next_step(current, policy=POLICY, now=when, trusted=trusted)


def taken(current: ServingCertificates, step: Step, when: dt.datetime) -> ServingCertificates:
    changed = take_step(step, current, policy=POLICY, now=when)
    assert changed is not None
    return changed


def test_an_empty_secret_gets_a_ca_and_a_serving_certificate_for_the_hosts() -> None:
    certificates = bootstrapped()
    assert signed_by(certificates.serving, certificates.ca)
    names = certificates.serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["webhook.ebbtide-system.svc"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["10.0.0.7"]
    assert certificates.previous_ca is None
    assert load_certificates(certificates.bundle) == [certificates.ca]
    assert step_at(certificates, START) is Step.NONE


def test_what_the_secret_holds_reads_back_and_inconsistent_content_reads_as_nothing() -> None:
    certificates = bootstrapped()
    data = certificates.to_data()
    assert ServingCertificates.from_data(data) == certificates
    assert ServingCertificates.from_data({}) is None
    assert ServingCertificates.from_data({**data, CA_CERT: b"not a certificate"}) is None
    other = bootstrapped()
    assert ServingCertificates.from_data({**data, SERVING_KEY: other.to_data()[SERVING_KEY]}) is None


def test_the_serving_certificate_is_renewed_once_less_than_a_third_of_it_remains() -> None:
    certificates = bootstrapped()
    assert step_at(certificates, START + 59 * DAY) is Step.NONE
    assert step_at(certificates, START + 61 * DAY) is Step.RENEW_SERVING
    renewed = taken(certificates, Step.RENEW_SERVING, START + 61 * DAY)
    assert renewed.ca == certificates.ca and renewed.serving != certificates.serving
    assert signed_by(renewed.serving, renewed.ca)
    assert renewed.serving.not_valid_after_utc == START + 151 * DAY
    assert step_at(renewed, START + 61 * DAY) is Step.NONE


def test_other_hosts_get_a_new_serving_certificate_under_the_same_ca() -> None:
    certificates = bootstrapped(
        RotationPolicy(hosts=("old.example",), ca_validity=300 * DAY, serving_validity=90 * DAY)
    )
    assert step_at(certificates, START) is Step.RENEW_SERVING


def test_a_ca_rotation_keeps_the_old_ca_trusted_until_the_new_serving_certificate_is_everywhere() -> None:
    certificates = bootstrapped()
    when = START + 201 * DAY  # less than a third of the CA's 300 days remains
    assert step_at(certificates, when) is Step.ROTATE_CA
    rotated = taken(certificates, Step.ROTATE_CA, when)
    # The new CA signs nothing yet: the served certificate is the old CA's, and both are trusted.
    assert rotated.previous_ca == certificates.ca and rotated.ca != certificates.ca
    assert rotated.serving == certificates.serving
    assert load_certificates(rotated.bundle) == [rotated.ca, certificates.ca]
    # No serving certificate of the new CA before the API server trusts it.
    assert step_at(rotated, when, trusted=False) is Step.NONE
    assert step_at(rotated, when, trusted=True) is Step.RENEW_SERVING
    renewed = taken(rotated, Step.RENEW_SERVING, when)
    assert signed_by(renewed.serving, renewed.ca)
    # Both CAs stay trusted while replicas may still serve the old certificate.
    assert step_at(renewed, when + POLICY.overlap - dt.timedelta(seconds=1)) is Step.NONE
    assert step_at(renewed, when + POLICY.overlap) is Step.DROP_PREVIOUS_CA
    dropped = taken(renewed, Step.DROP_PREVIOUS_CA, when + POLICY.overlap)
    assert load_certificates(dropped.bundle) == [renewed.ca]
    assert step_at(dropped, when + POLICY.overlap) is Step.NONE


def test_a_previous_ca_that_expired_is_dropped_at_once() -> None:
    policy = RotationPolicy(hosts=("w",), ca_validity=30 * DAY, serving_validity=30 * DAY, overlap=40 * DAY)
    certificates = bootstrapped(policy)
    when = START + 21 * DAY
    assert next_step(certificates, policy=policy, now=when, trusted=True) is Step.ROTATE_CA
    rotated = take_step(Step.ROTATE_CA, certificates, policy=policy, now=when)
    assert rotated is not None
    renewed = take_step(Step.RENEW_SERVING, rotated, policy=policy, now=when)
    assert renewed is not None
    assert next_step(renewed, policy=policy, now=when + 8 * DAY, trusted=True) is Step.NONE
    assert next_step(renewed, policy=policy, now=when + 10 * DAY, trusted=True) is Step.DROP_PREVIOUS_CA


def test_the_ca_is_rotated_before_a_certificate_capped_by_it_would_be_renewed_again_and_again() -> None:
    policy = RotationPolicy(hosts=("w",), ca_validity=30 * DAY, serving_validity=30 * DAY)
    certificates = bootstrapped(policy)
    assert next_step(certificates, policy=policy, now=START + 19 * DAY, trusted=True) is Step.NONE
    assert next_step(certificates, policy=policy, now=START + 21 * DAY, trusted=True) is Step.ROTATE_CA


def test_an_expired_ca_is_replaced_with_everything_else() -> None:
    certificates = bootstrapped()
    assert step_at(certificates, START + 301 * DAY) is Step.BOOTSTRAP


def test_a_serving_certificate_cannot_outlive_its_ca() -> None:
    with pytest.raises(ValueError, match="outlive"):
        RotationPolicy(hosts=("w",), ca_validity=DAY, serving_validity=2 * DAY)
    with pytest.raises(ValueError, match="host"):
        RotationPolicy(hosts=())


def test_a_bundle_tells_its_newest_ca_and_whether_it_holds_one() -> None:
    first = bootstrapped()
    later = bootstrapped(now=START + DAY)
    both = later.bundle + first.bundle
    assert newest_ca(both) == START + DAY
    assert holds(both, first.ca) and holds(both, later.ca)
    assert not holds(first.bundle, later.ca)
    assert newest_ca(b"") is None and not holds(b"", first.ca)
