"""The tally of admitted Jobs, which outlives the Jobs (finished ones are deleted by their TTL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ebbtide.demo.ledger import JobLedger, JobTally

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_finished_job_counts_its_cpu_from_admission_to_its_end() -> None:
    ledger = JobLedger()
    ledger.record(name="a", queue="q", cpu=2.0, admitted_at=at(0), ended_at=at(10), seen_at=at(12))
    assert ledger.tallies(now=at(100)) == {"q": JobTally(admitted=1, cpu_seconds=20.0)}


def test_a_running_job_counts_up_to_now() -> None:
    ledger = JobLedger()
    ledger.record(name="a", queue="q", cpu=1.0, admitted_at=at(0), ended_at=None, seen_at=at(4))
    assert ledger.tallies(now=at(6), present={"a"})["q"].cpu_seconds == pytest.approx(6)


def test_a_job_gone_before_its_end_was_seen_counts_up_to_when_it_was_last_seen() -> None:
    ledger = JobLedger()
    ledger.record(name="a", queue="q", cpu=1.0, admitted_at=at(0), ended_at=None, seen_at=at(8))
    assert ledger.tallies(now=at(60), present=set())["q"].cpu_seconds == pytest.approx(8)


def test_seeing_a_job_again_records_its_end_and_never_counts_it_twice() -> None:
    ledger = JobLedger()
    ledger.record(name="a", queue="q", cpu=1.0, admitted_at=at(0), ended_at=None, seen_at=at(2))
    ledger.record(name="a", queue="q", cpu=1.0, admitted_at=at(0), ended_at=at(10), seen_at=at(12))
    ledger.record(name="a", queue="q", cpu=1.0, admitted_at=at(0), ended_at=None, seen_at=at(14))
    assert ledger.tallies(now=at(30), present=set()) == {"q": JobTally(admitted=1, cpu_seconds=10.0)}


def test_jobs_are_tallied_per_queue() -> None:
    ledger = JobLedger()
    for index, queue in enumerate(["low", "high", "high", "high"]):
        name = f"{queue}-{index}"
        ledger.record(name=name, queue=queue, cpu=1.0, admitted_at=at(0), ended_at=at(10), seen_at=at(10))
    tallies = ledger.tallies(now=at(20))
    assert tallies["low"] == JobTally(1, 10.0)
    assert tallies["high"] == JobTally(3, 30.0)


def test_an_empty_ledger_has_no_tallies() -> None:
    assert JobLedger().tallies(now=T0) == {}
