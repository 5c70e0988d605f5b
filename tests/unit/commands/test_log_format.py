"""``--log-format text|json`` and ``--log-level``: what a log line looks like."""

from __future__ import annotations

import json
import logging

import pytest

from ebbtide.commands.logging_options import configure_logging, make_formatter

pytestmark = pytest.mark.unit


def record(message: str, **extra: object) -> logging.LogRecord:
    item = logging.LogRecord("ebbtide.controllers", logging.INFO, __file__, 1, message, None, None)
    item.__dict__.update(extra)
    return item


def test_text_is_one_line_with_level_and_logger() -> None:
    line = make_formatter("text").format(record("became leader"))
    assert "INFO ebbtide.controllers: became leader" in line
    assert "\n" not in line


def test_text_names_the_object_a_kopf_record_is_about() -> None:
    ref = {"namespace": "shop", "name": "web", "kind": "ScalingPolicy"}
    line = make_formatter("text").format(record("scaled", k8s_ref=ref, k8s_skip=False))
    assert line.startswith("[shop/web] ")


def test_json_is_one_object_per_line_with_the_object() -> None:
    ref = {"name": "batch", "kind": "FairQueue"}
    line = make_formatter("json").format(record("admitted 3", k8s_ref=ref, k8s_skip=False))
    parsed = json.loads(line)
    assert parsed["message"] == "admitted 3"
    assert parsed["level"] == "INFO"
    assert parsed["logger"] == "ebbtide.controllers"
    assert parsed["object"] == "batch"
    assert "time" in parsed
    assert "k8s_ref" not in parsed


def test_level_filters_and_a_second_call_reconfigures(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging(level="warning", log_format="text")
        logging.getLogger("ebbtide.x").info("hidden")
        logging.getLogger("ebbtide.x").warning("shown")
        configure_logging(level="debug", log_format="json")
        logging.getLogger("ebbtide.x").debug("detail")
        lines = capsys.readouterr().err.splitlines()
    finally:
        root.handlers[:], root.level = saved
    assert len(lines) == 2
    assert lines[0].endswith("WARNING ebbtide.x: shown")
    assert json.loads(lines[1])["message"] == "detail"
