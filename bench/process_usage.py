"""What a process and the machine use, read from /proc, for the benchmarks that run real processes.

CPU time is the process's own (user + system, all threads, children not included), so it is
not inflated when the machine is busy; the machine's load average is recorded beside it to say
how busy the machine was.
"""

from __future__ import annotations

import os
import re
import statistics
import threading
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) the process has used since it started."""
    # The command name in parentheses may hold spaces: the fields are counted after its ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def rss_bytes(pid: int) -> int:
    """The process's resident set size now."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def high_water_mark_bytes(pid: int) -> int:
    """The largest resident set size the process has had (``VmHWM``); 0 if the kernel gives none."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else 0


class LoadSampler:
    """The machine's 1-minute load average, sampled every second while the ``with`` block runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.at_start: tuple[float, float, float] = os.getloadavg()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LoadSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.at_start = os.getloadavg()
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(1.0):
                return

    def summary(self) -> dict[str, object]:
        """Mean and peak of the 1-minute figure during the block, and the three figures (1, 5
        and 15 minutes) at its start and at its end."""
        return {
            "mean_1m": round(statistics.fmean(self.samples), 2),
            "max_1m": round(max(self.samples), 2),
            "at_start": [round(value, 2) for value in self.at_start],
            "at_end": [round(value, 2) for value in os.getloadavg()],
        }
