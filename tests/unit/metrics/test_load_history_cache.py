"""The per-policy history cache: read the whole window once, then only the tail."""

from __future__ import annotations

import pytest

from ebbtide.metrics.load_history import LoadHistoryCache, RangeRead, grid_step
from ebbtide.scaling.series import LoadSeries

pytestmark = pytest.mark.unit

KEY = "policy-uid"
QUERY = "sum(load)"


def grid(read: RangeRead, value: float = 1.0) -> LoadSeries:
    return LoadSeries.from_pairs((read.start + i * read.step, value) for i in range(read.points))


def test_the_first_read_covers_the_whole_history_and_ends_now() -> None:
    cache = LoadHistoryCache()
    read = cache.next_read(KEY, query=QUERY, step=15.0, history=3600.0, now=10_000.7)
    assert read == RangeRead(start=10_000.0 - 3600.0, end=10_000.0, step=15.0)
    assert read.points == 241


def test_later_reads_ask_only_for_samples_after_the_newest_one_kept() -> None:
    cache = LoadHistoryCache()
    first = cache.next_read(KEY, query=QUERY, step=15.0, history=3600.0, now=10_000.0)
    assert first is not None
    cache.store(KEY, query=QUERY, step=15.0, history=3600.0, end=first.end, fresh=grid(first))

    # The grid ends now and reaches back to just after the newest sample kept.
    soon = cache.next_read(KEY, query=QUERY, step=15.0, history=3600.0, now=10_010.2)
    assert soon == RangeRead(start=10_010.0, end=10_010.0, step=15.0)
    tail = cache.next_read(KEY, query=QUERY, step=15.0, history=3600.0, now=10_016.2)
    assert tail == RangeRead(start=10_001.0, end=10_016.0, step=15.0)
    late = cache.next_read(KEY, query=QUERY, step=15.0, history=3600.0, now=10_050.0)
    assert late == RangeRead(start=10_005.0, end=10_050.0, step=15.0)
    assert late.points == 4


def test_no_read_when_the_cache_already_holds_this_second() -> None:
    cache = LoadHistoryCache()
    first = cache.next_read(KEY, query=QUERY, step=2.0, history=60.0, now=500.0)
    assert first is not None
    cache.store(KEY, query=QUERY, step=2.0, history=60.0, end=first.end, fresh=grid(first))
    assert cache.next_read(KEY, query=QUERY, step=2.0, history=60.0, now=500.9) is None


def test_stored_history_is_merged_and_trimmed_to_the_window() -> None:
    cache = LoadHistoryCache()
    first = cache.next_read(KEY, query=QUERY, step=10.0, history=100.0, now=1000.0)
    assert first is not None
    cache.store(KEY, query=QUERY, step=10.0, history=100.0, end=1000.0, fresh=grid(first, 1.0))
    tail = cache.next_read(KEY, query=QUERY, step=10.0, history=100.0, now=1030.0)
    assert tail is not None
    series = cache.store(KEY, query=QUERY, step=10.0, history=100.0, end=1030.0, fresh=grid(tail, 2.0))
    assert series.first_time >= 930.0
    assert series.last_time == 1030.0
    assert series.values[-3:].tolist() == [2.0, 2.0, 2.0]


def test_a_changed_query_step_or_history_starts_afresh() -> None:
    cache = LoadHistoryCache()
    first = cache.next_read(KEY, query=QUERY, step=10.0, history=100.0, now=1000.0)
    assert first is not None
    cache.store(KEY, query=QUERY, step=10.0, history=100.0, end=1000.0, fresh=grid(first))
    for query, step, history in (("other", 10.0, 100.0), (QUERY, 5.0, 100.0), (QUERY, 10.0, 200.0)):
        read = cache.next_read(KEY, query=query, step=step, history=history, now=1001.0)
        assert read is not None and read.start == 1001.0 - history
    cache.forget(KEY)
    assert len(cache) == 0


def test_a_long_outage_reads_at_most_the_history_window() -> None:
    cache = LoadHistoryCache()
    first = cache.next_read(KEY, query=QUERY, step=10.0, history=100.0, now=1000.0)
    assert first is not None
    cache.store(KEY, query=QUERY, step=10.0, history=100.0, end=1000.0, fresh=grid(first))
    read = cache.next_read(KEY, query=QUERY, step=10.0, history=100.0, now=5000.0)
    assert read == RangeRead(start=4900.0, end=5000.0, step=10.0)


@pytest.mark.parametrize(("interval", "step"), [(15.0, 15.0), (2.5, 2.0), (0.5, 1.0), (1.6, 2.0)])
def test_the_grid_step_is_whole_seconds(interval: float, step: float) -> None:
    assert grid_step(interval) == step
