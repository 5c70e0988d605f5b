"""Predictive autoscaling as pure logic: plain values in, decisions out, no I/O.

* :mod:`.planner` - :func:`~.planner.plan`, the replica decision the controller and the backtest
  both run; its inputs and outputs are in :mod:`.settings` and :mod:`.decision`, its reasons in
  :mod:`ebbtide.api.scalingpolicy_vocabulary`;
* the rules it combines: :mod:`.hpa` (the reactive HPA formula), :mod:`.prediction` and
  :mod:`.forecasting` (the forecast for now + horizon), :mod:`.stabilisation`, :mod:`.limits`
  (cooldown, rate limits, min/max) and :mod:`.fallback` (what a failed load read means);
* the backtest: :mod:`.backtest` replays a :class:`~.series.LoadSeries` (from :mod:`.trace_csv`
  or a :class:`~.load_source.LoadSource`) and summarises it (:mod:`.backtest_summary`).
"""
