"""``--log-level`` and ``--log-format``: how the long-running commands (operator, extender) log.

Both go to stderr through the standard library's logging. ``text`` is one line per record for
people; ``json`` is one JSON object per line for log collectors (python-json-logger, which kopf
already depends on). kopf's per-object log records carry the object they are about: text lines
are prefixed with ``[namespace/name]`` and JSON records get an ``object`` field, as kopf's own
formatters do.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, Final, TypeVar

import click
from pythonjsonlogger.json import JsonFormatter

LEVELS: Final = ("debug", "info", "warning", "error")
FORMATS: Final = ("text", "json")
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Chatty libraries kept at warning unless the level is debug.
QUIET_LOGGERS: Final = ("asyncio", "urllib3", "kubernetes.client.rest", "aiohttp.access")

F = TypeVar("F", bound=Callable[..., Any])


def logging_options(command: F) -> F:
    """Add ``--log-level`` and ``--log-format`` to a click command."""
    command = click.option(
        "--log-format", type=click.Choice(FORMATS), default="text", show_default=True, help="Log line format."
    )(command)
    return click.option(
        "--log-level",
        type=click.Choice(LEVELS),
        default="info",
        show_default=True,
        help="Lowest level logged.",
    )(command)


class _ObjectTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ref = _object_ref(record)
        return f"[{ref}] {line}" if ref else line


class _ObjectJsonFormatter(JsonFormatter):
    def add_fields(
        self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record.pop("k8s_ref", None)
        log_record.pop("k8s_skip", None)
        if ref := _object_ref(record):
            log_record["object"] = ref


def _object_ref(record: logging.LogRecord) -> str | None:
    ref = getattr(record, "k8s_ref", None)
    if not isinstance(ref, dict) or not ref.get("name"):
        return None
    namespace = ref.get("namespace")
    return f"{namespace}/{ref['name']}" if namespace else str(ref["name"])


def make_formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``--log-format`` (``text`` or ``json``)."""
    if log_format == "json":
        return _ObjectJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    return _ObjectTextFormatter(TEXT_FORMAT)


def configure_logging(*, level: str, log_format: str) -> None:
    """Log records at ``level`` and above to stderr in ``log_format``, replacing any handler of
    the root logger (a second call reconfigures)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
