"""The replica planner: observed load, a forecast and the policy's rules in, a decision out.

``desired = clamp(max(reactive, predictive))``: the HPA rule on the observed load (the reactive
floor, always) and the same rule on the load the forecast provisions for at ``now + horizon``
(see :mod:`.forecasting.sizing`), where the horizon is at least the pods' start-up time, so
replicas asked for now are ready when the load arrives. Sizing is by the load at the horizon,
not by the peak until then: replicas asked for now serve from then on, and the load before that
is what earlier decisions provided for (the peak of a noisy load over a whole horizon sits well
above any one moment of it, and sizing by it would buy that margin on every decision).

How the quantile maps to headroom: the point forecast is always carried at
``targetPerReplica``; above it the planner provisions for at most ``prediction.quantile`` of
the load at the horizon, the load that stays under it in that share of the policy's recent
past (see :mod:`.forecasting.calibration`). With quantile 0.95 that capacity is exceeded in
about one period in twenty *at the target utilisation*; a replica is only overloaded when it
carries more than its target allows for (at a 70 % target, 1/0.7 of it), which is far rarer.
Between the two, ``prediction.overload_weight`` decides: headroom is bought only where the
overload it prevents, weighed against the overload the HPA rule alone would suffer on this
load, is worth its replicas (0: always the full quantile). The weight does the work, the
quantile only bounds it: on the recorded traces, quantile 0.95 at weight 1 bought less headroom
where the load jumps often (where the HPA rule is overloaded often, a prevented overload is worth
less) and more where it rarely does, for less overload at lower cost than quantile 0.9 at weight
2.5, where the quantile bound nearly everywhere (see ``bench/backtest_traces.py``).

The tolerance (``tolerance``, the HPA's 10 %) holds the count while the observed load is within
it, so a noisy metric does not flap the count. The quantile is held to it only on the way up: it
moves smoothly already (its scale follows an hour of errors), and a count kept up to 10 % above
what the quantile asks for (a whole replica from ten replicas on) is paid for all the time the
load is steady. On the first eight days of the recorded traces, letting it go saved 0.5 % of the
replica-hours on average (up to 1.4 %) at the same overload.

While the load's history is young (a new workload, or one whose metrics only just appeared;
younger than ``YOUNG_HISTORY``, or than the policy's whole history window if that is shorter: see
:func:`_young_history`), the forecast's part scales up to at most ``YOUNG_HISTORY_MULTIPLE`` times
what the reactive rule asks for. Its headroom is calibrated on its own past errors, and a young
history has minutes of them, often of a flat start: the first step of the load then counts as a
surprise of dozens of error scales and sizes the capacity for hours (on one recorded trace, 200
replicas in the first 20 minutes where the load needed a few). A cap of 1.5 or 2 times made no
difference on the recorded traces, so it holds back only such bursts. Over the 14 recorded traces
it saved 0.13 % of the stock HPA's replica-hours on average (1.3 % on one), with the same overload
on every trace; over their first eight days, where the first hour weighs more, 0.5 % (2.9 % on
one). Nor does a young history confirm a scale-down: a high quantile of minutes of errors is no
evidence that the load stays low (on one recorded trace, a load that had been flat for three
minutes confirmed one that left it overloaded four rounds later). The stabilisation window,
what the HPA rule would wait, applies instead.

Scale-down: when the recommendation is below the current count, it goes no lower than the
highest recommendation of the reactive rule within the stabilisation window (the HPA's rule, on
observed load) nor than the forecast's quantile asks for now: a forecast looks ahead already,
so a rise it no longer expects is not held for a window. It goes lower at once
when the forecast confirms it: the ``prediction.scale_down_quantile`` of the peak
load over the whole period a removed replica would need to come back (the metrics lag, the
horizon - at least the start-up time - and the difference between them as margin) stays within
what the smaller count carries at target; or within its capacity (``targetPerReplica /
OVERLOAD_UTILISATION`` a replica), where the load's own history shows that after falling as it
has now it did not come back past that within the same period (:mod:`.rebound`: the peak
distribution pools the errors of every forecast, most made on a steady load, and says little
about a load that has just fallen; one that swings comes back within a start-up time again and
again, and only the stabilisation window would ride out its dips). Then the count goes down at
once (``ScaleDownOnForecast``). Then the scale-up cooldown, the rate limits and the min/max clamp
apply, in that order. The planner is pure: it reads nothing but its arguments, and what it must
remember comes back in a new :class:`~ebbtide.scaling.decision.PlannerState`.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.scaling.decision import Decision, PlannerState
from ebbtide.scaling.decision_message import describe
from ebbtide.scaling.fallback import on_failure, unusable
from ebbtide.scaling.forecasting import Forecast, Forecaster, Sizing
from ebbtide.scaling.forecasting.sizing import OVERLOAD_UTILISATION
from ebbtide.scaling.hpa import Recommendation, recommend, replicas_for_load
from ebbtide.scaling.limits import ScaleEvent, limited, recent_events
from ebbtide.scaling.prediction import forecast_ahead
from ebbtide.scaling.rebound import rebound
from ebbtide.scaling.series import LoadSeries, ReadFailure
from ebbtide.scaling.settings import PlannerSettings
from ebbtide.scaling.stabilisation import stabilise

YOUNG_HISTORY = 3600.0
"""Seconds of load history under which the forecast's part is capped, unless the policy's
``prediction.history`` is shorter (see :func:`_young_history`)."""
YOUNG_HISTORY_MULTIPLE = 2.0
"""With a younger history, the forecast's part asks for at most this many times the reactive
rule's count (and at least one replica)."""


def plan(
    *,
    settings: PlannerSettings,
    reading: LoadSeries | ReadFailure,
    current_replicas: int,
    ready_replicas: int,
    now: float,
    state: PlannerState,
    forecaster: Forecaster | None = None,
) -> tuple[Decision, PlannerState]:
    """Decide the replica count at Unix time ``now``.

    ``reading`` is the load history as read (its latest sample is the observed load; the
    forecaster sees its last ``prediction.history`` seconds, NaN and Inf samples left out) or the
    read's failure. ``current_replicas`` is the target's desired count now (its ``/scale`` spec)
    and ``ready_replicas`` how many of them are ready (reported in the message). ``forecaster``,
    if given, stands in for the model the settings name (unless that is None): a seam for tests
    and for measuring the planner with a perfect forecast.
    """
    problem = unusable(reading)
    if problem is not None or not isinstance(reading, LoadSeries):
        decision, state, change = on_failure(
            problem=problem or "no load", settings=settings, current=current_replicas, state=state
        )
        return decision, _remember(state, settings=settings, now=now, change=change)
    load = reading.last_value
    forecast, forecast_problem = forecast_ahead(
        settings=settings, history=reading, now=now, memo=state.forecast_memo, forecaster=forecaster
    )
    reactive = recommend(load=load, current=current_replicas, settings=settings)
    young = _young_history(reading, settings=settings, now=now)
    wanted = _combined(
        reactive=reactive, forecast=forecast, current=current_replicas, settings=settings, young=young
    )
    # Only the observed load's recommendations are stabilised: the forecast's look ahead already,
    # and holding the highest of them for a window would keep headroom for a rise the forecast
    # no longer expects.
    held, kept = stabilise(
        recommendation=reactive.replicas,
        current=current_replicas,
        now=now,
        window=settings.scale_down_window,
        seen=state.recommendations,
    )
    stabilised = max(held, wanted.replicas)
    confirmed = (
        None
        if young
        else _confirmed_scale_down(
            wanted, forecast=forecast, current=current_replicas, settings=settings, reading=reading, now=now
        )
    )
    if confirmed is not None and confirmed.replicas < stabilised:
        wanted = confirmed
    elif stabilised != wanted.replicas:
        reason = reasons.STABILISING if stabilised == current_replicas else wanted.reason
        wanted = Recommendation(stabilised, reason)
    desired = limited(wanted, current=current_replicas, now=now, state=state, settings=settings)
    state = replace(
        state,
        failures=0,
        recommendations=kept,
        forecast_memo=state.forecast_memo if forecast is None else forecast.memo,
    )
    decision = Decision(
        desired_replicas=desired.replicas,
        wanted_replicas=wanted.replicas,
        reason=desired.reason,
        message=describe(
            load=load,
            current=current_replicas,
            ready=ready_replicas,
            desired=desired,
            settings=settings,
            forecast=forecast,
            forecast_problem=forecast_problem,
        ),
        load=load,
        predicted_load=None if forecast is None else forecast.value,
        predicted_peak=None if forecast is None else provisioned_load(forecast, settings=settings),
        model_scores=() if forecast is None else forecast.scores,
        model=None if forecast is None else forecast.model,
        forecast_warnings=() if forecast is None else forecast.warnings,
    )
    change = desired.replicas - current_replicas
    return decision, _remember(state, settings=settings, now=now, change=change)


def _combined(
    *,
    reactive: Recommendation,
    forecast: Forecast | None,
    current: int,
    settings: PlannerSettings,
    young: bool = False,
) -> Recommendation:
    """``max(reactive, predictive)``; the predictive part is the HPA rule on
    :func:`provisioned_load`, capped by :func:`_young_history_cap` when the history is ``young``."""
    if forecast is None:
        return reactive
    # The quantile moves smoothly, so the tolerance holds it back only on the way up (see the
    # module docstring): holding it on the way down would keep a replica it no longer wants.
    predictive = recommend(
        load=provisioned_load(forecast, settings=settings),
        current=current,
        settings=settings,
        tolerate_excess=False,
    )
    if young:
        # The cap bounds how far the forecast scales up; like any forecast, it never takes
        # replicas away on its own.
        ceiling = max(current, _young_history_cap(reactive))
        predictive = replace(predictive, replicas=min(predictive.replicas, ceiling))
    if predictive.replicas <= reactive.replicas:
        return reactive
    if predictive.replicas > current:
        return Recommendation(predictive.replicas, reasons.SCALE_UP_ON_FORECAST)
    # The observed load would allow fewer replicas than the forecast does: go only as low as
    # the forecast allows (possibly not at all).
    reason = reasons.SCALE_DOWN_ON_LOAD if predictive.replicas < current else predictive.reason
    return Recommendation(predictive.replicas, reason)


def _young_history(reading: LoadSeries, *, settings: PlannerSettings, now: float) -> bool:
    """Whether ``reading`` reaches back from ``now`` less far than a full history:
    ``YOUNG_HISTORY``, or the policy's ``prediction.history`` (the window it reads) if that is
    shorter, less two intervals. Once full, a history stays full while samples keep coming: the
    window slides, its reach does not shrink."""
    # Against what the policy's window can ever hold, not an hour alone: a policy that reads half
    # an hour would otherwise stay young, and capped, for good. Measured from ``now`` like the
    # window itself (the metrics lag shortens what a read spans, not how far back it reaches);
    # the slack is for the window's first sample, which sits up to a sampling step (the interval,
    # rounded to whole seconds for Prometheus) after the window's start.
    full = min(YOUNG_HISTORY, settings.prediction.history)
    return now - reading.first_time < full - 2 * settings.interval


def _young_history_cap(reactive: Recommendation) -> int:
    """The most the forecast's part may ask for while the history is young:
    ``YOUNG_HISTORY_MULTIPLE`` times the reactive rule's count, at least one replica."""
    return max(1, math.floor(YOUNG_HISTORY_MULTIPLE * reactive.replicas))


def provisioned_load(forecast: Forecast, *, settings: PlannerSettings) -> float:
    """The load the predictive part provisions for: what the prediction step sized it at
    (:mod:`~ebbtide.scaling.forecasting.sizing`), else (a forecast made elsewhere) the
    quantile rule alone."""
    if forecast.provisioned is not None:
        return forecast.provisioned
    return Sizing(quantile=settings.prediction.quantile).provisioned(forecast)


def _confirmed_scale_down(
    wanted: Recommendation,
    *,
    forecast: Forecast | None,
    current: int,
    settings: PlannerSettings,
    reading: LoadSeries,
    now: float,
) -> Recommendation | None:
    """The scale-down the forecast confirms, or None. It goes no lower than ``wanted`` (which
    holds the reactive rule on observed load) nor than what carries the upper quantile of the
    peak load until a removed replica could be back: at target, or (:func:`_at_capacity`) within
    the smaller count's capacity when the load's own history shows it does not come back past
    that after falling as it has now."""
    if forecast is None or forecast.peak is None or wanted.replicas >= current:
        return None
    upper = forecast.peak.quantile(settings.prediction.scale_down_quantile)
    target = settings.target_per_replica
    floor = replicas_for_load(upper, target_per_replica=target)
    if max(wanted.replicas, floor) >= current:
        at_capacity = _at_capacity(upper, settings=settings, reading=reading, now=now)
        floor = floor if at_capacity is None else min(floor, at_capacity)
    replicas = max(wanted.replicas, floor)
    if replicas >= current:
        return None
    return Recommendation(replicas, reasons.SCALE_DOWN_ON_FORECAST)


def _at_capacity(upper: float, *, settings: PlannerSettings, reading: LoadSeries, now: float) -> int | None:
    """The fewest replicas whose capacity (``targetPerReplica / OVERLOAD_UTILISATION`` each)
    carries both ``upper`` and the latest load times its :func:`~ebbtide.scaling.rebound.rebound`
    over the period until a removed replica could be back; None without a rebound (too few
    moments like now in the history, or one from no load)."""
    window = reading.since(now - settings.prediction.history).finite()
    if len(window) == 0:
        return None
    period = now + settings.prediction.horizon - window.last_time
    quantile = settings.prediction.scale_down_quantile
    rise = rebound(window, period=period, step=settings.interval, quantile=quantile)
    returning = math.inf if rise is None else window.last_value * rise
    if not math.isfinite(returning):
        return None
    capacity = settings.target_per_replica / OVERLOAD_UTILISATION
    return max(
        replicas_for_load(upper, target_per_replica=capacity),
        replicas_for_load(returning, target_per_replica=capacity),
    )


def _remember(state: PlannerState, *, settings: PlannerSettings, now: float, change: int) -> PlannerState:
    """``state`` with a replica change made at ``now`` recorded for cooldown and rate limits."""
    events = state.events if change == 0 else (*state.events, ScaleEvent(now, change))
    up, down = settings.scale_up_limit, settings.scale_down_limit
    return replace(
        state,
        events=recent_events(events, now=now, up=up, down=down),
        last_scale_up=now if change > 0 else state.last_scale_up,
    )
