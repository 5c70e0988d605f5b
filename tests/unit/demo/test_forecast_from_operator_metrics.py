"""The live view's forecast comes from the operator's /metrics, per policy."""

from __future__ import annotations

from ebbtide.demo.observe import predicted_load

EXPOSITION = """\
# HELP ebbtide_scaling_predicted_load The load last forecast for now + prediction.horizon.
# TYPE ebbtide_scaling_predicted_load gauge
ebbtide_scaling_predicted_load{name="web",namespace="demo"} 512.5
ebbtide_scaling_predicted_load{name="web",namespace="other"} 7.0
# HELP ebbtide_scaling_load The load last read by the policy's query.
# TYPE ebbtide_scaling_load gauge
ebbtide_scaling_load{name="web",namespace="demo"} 437.0
"""


def test_the_policys_own_series_is_read() -> None:
    assert predicted_load(EXPOSITION, namespace="demo", name="web") == 512.5
    assert predicted_load(EXPOSITION, namespace="other", name="web") == 7.0


def test_a_policy_without_a_forecast_has_none() -> None:
    assert predicted_load(EXPOSITION, namespace="demo", name="api") is None
    assert predicted_load("", namespace="demo", name="web") is None
