"""Finding a load's season in its own history: the lag of the strongest autocorrelation peak.

The history is averaged into at most ``MAX_BINS`` bins (so the cost does not grow with the
sampling rate), its autocorrelation computed by FFT, and the season is the lag of the highest
local maximum of the autocorrelation between ``MIN_SEASON`` and half the history (two cycles must
be seen), if that maximum is at least ``MIN_CORRELATION``. A spike or a level shift makes the
autocorrelation of a short lag high everywhere, not a peak, so it is not mistaken for a season.

A season is a cycle: the load half a season on is on the other side of it, so the load is
markedly less alike half a season apart than a whole season apart. A load that wanders slowly
(a busy spell, a level drifting for hours) has an autocorrelation that decays with the lag, with
small wiggles on it that are local maxima too, often above ``MIN_CORRELATION`` at lags of an hour
or two; but there the correlation at half the lag is as high or higher. A peak therefore counts
only if the correlation at half its lag is at most half its own (:func:`cycles`): on recorded
traces this dropped the 1-2 hour "seasons" found in bursty loads (tweet volumes, CPU of a busy
service) and let the daily season under them be found.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ebbtide.scaling.grid import complete_bins
from ebbtide.scaling.series import FloatArray, LoadSeries

MAX_BINS = 2048
MIN_SEASON = 3600.0
MIN_CORRELATION = 0.3


def detect_season(history: LoadSeries, *, step: float) -> float | None:
    """The season in seconds, or None when the history shows none."""
    usable = history.finite()
    if len(usable) < 8:
        return None
    span = usable.last_time - usable.first_time
    width = max(step, span / MAX_BINS)
    bins = complete_bins(usable, width=width)
    if bins is None or bins.values.size < 8:
        return None
    values = bins.values - float(np.mean(bins.values))
    size = values.size
    spectrum = np.fft.rfft(values, 2 * size)
    correlation = np.fft.irfft(np.abs(spectrum) ** 2)[:size]
    if not correlation[0] > 0:
        return None
    correlation = correlation / correlation[0]
    lowest = max(2, int(np.ceil(MIN_SEASON / width)))
    highest = size // 2
    if highest <= lowest + 1:
        return None
    lags = np.arange(lowest, highest)
    inner = correlation[lags]
    peaks = (inner > correlation[lags - 1]) & (inner >= correlation[lags + 1])
    if not bool(np.any(peaks)):
        return None
    candidates = lags[peaks]
    candidates = candidates[cycles(correlation, candidates)]
    if candidates.size == 0:
        return None
    best = int(candidates[np.argmax(correlation[candidates])])
    if correlation[best] < MIN_CORRELATION:
        return None
    return float(best * width)


def cycles(correlation: FloatArray, lags: NDArray[np.intp]) -> NDArray[np.bool_]:
    """Which of ``lags`` (local maxima of the normalised autocorrelation ``correlation``) are
    cycles: the correlation at half the lag is at most half the correlation at the lag."""
    return np.asarray(correlation[lags // 2] <= correlation[lags] / 2, dtype=np.bool_)
