"""Hot reload of the configuration file.

The file is checked in the background every ``interval`` seconds: when its modification time, size
or inode changes (a ConfigMap update swaps a symlink, which changes the inode), it is read and
validated off the event loop. A valid file replaces the configuration in use as a whole; an
invalid one is logged and counted, and the last good configuration stays in force until a valid
file appears. ``cache`` and ``server`` settings only take effect at the next start, and so does
turning the filter on or off: the scheduler's configuration names the filter verb only when the
configuration has a ceiling, and the scheduler reads its configuration once.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from ebbtide.errors import InvalidConfigError
from ebbtide.extender.config import ExtenderConfig, ScoringSettings, load_config
from ebbtide.extender.telemetry import Telemetry

logger = logging.getLogger(__name__)

DEFAULT_CHECK_INTERVAL = 2.0

_Signature = tuple[int, int, int, int] | None


class ConfigHolder:
    """The configuration in use; call it to read the current one."""

    def __init__(
        self,
        *,
        initial: ExtenderConfig,
        path: Path | None = None,
        prometheus_url: str | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        """``prometheus_url`` (the command-line flag) overrides the file's on every reload."""
        self.path = path
        self.prometheus_url = prometheus_url
        self.current = initial.with_prometheus_url(prometheus_url)
        self.settings = self.current.scoring_settings()
        self.last_error: str | None = None
        self._telemetry = telemetry
        self._signature = _signature(path) if path is not None else None

    def __call__(self) -> ExtenderConfig:
        return self.current

    def scoring(self) -> ScoringSettings:
        """The request-side settings of the configuration in use."""
        return self.settings

    async def check(self) -> bool:
        """Reload if the file changed; True when a new configuration came into force."""
        if self.path is None:
            return False
        path = self.path
        signature = await asyncio.to_thread(_signature, path)
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            loaded = await asyncio.to_thread(load_config, path)
        except InvalidConfigError as error:
            self._rejected(str(error))
            return False
        self._accepted(loaded.with_prometheus_url(self.prometheus_url))
        return True

    async def watch_forever(self, *, interval: float = DEFAULT_CHECK_INTERVAL) -> None:
        """Check the file every ``interval`` seconds until cancelled; never raises otherwise."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check()
            except Exception:  # a surprise must not stop future reloads
                logger.exception("checking the configuration file failed")

    def _accepted(self, config: ExtenderConfig) -> None:
        if config.cache != self.current.cache or config.server != self.current.server:
            logger.warning("cache and server settings change only when the extender restarts")
        if config.filter.enabled != self.current.filter.enabled:
            logger.warning(
                "the filter was turned %s: the scheduler calls the filter verb only if its own"
                " configuration names it, which changes when the scheduler is installed again",
                "on" if config.filter.enabled else "off",
            )
        self.settings = config.scoring_settings()
        self.current = config
        self.last_error = None
        logger.info("configuration reloaded from %s", self.path)
        if self._telemetry is not None:
            self._telemetry.config_reloads.labels("ok").inc()
            self._telemetry.config_valid.set(1)

    def _rejected(self, message: str) -> None:
        self.last_error = message
        logger.error("keeping the previous configuration; %s is invalid: %s", self.path, message)
        if self._telemetry is not None:
            self._telemetry.config_reloads.labels("error").inc()
            self._telemetry.config_valid.set(0)


def _signature(path: Path) -> _Signature:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_dev)
