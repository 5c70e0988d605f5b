"""Starting, finding and stopping the local cluster's processes.

Each component runs in a session of its own, re-parented to init (so it outlives the
``ebbtide dev up`` that started it, and so ``down`` can signal its whole process group), logs to
its own file, and is recorded in a pid file. A pid is trusted only while ``/proc/<pid>/cmdline``
still names the binary that was started, so a recycled pid is never mistaken for a component.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Running:
    """A started component: its pid and the log it writes."""

    pid: int
    log: Path


def start(*, argv: list[str], log: Path, pid_file: Path, env: dict[str, str] | None = None) -> Running:
    """Start ``argv`` detached, appending its output to ``log``; record its pid in ``pid_file``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n===== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
    # A throw-away shell starts the component in the background and exits at once, so the
    # component is re-parented to init: nothing here has to reap it, and it outlives this process.
    # `setsid` gives it a session and process group of its own (pgid == pid) for `stop`.
    launcher = subprocess.run(
        [
            "/bin/sh",
            "-c",
            'log="$1"; shift; setsid "$@" >>"$log" 2>&1 </dev/null & echo $!',
            "launch",
            str(log),
            *argv,
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    pid = int(launcher.stdout.strip())
    pid_file.write_text(f"{pid}\n{argv[0]}\n")
    # Until the shell's child has exec'd, its command line is still the shell's.
    deadline = time.monotonic() + 5
    while find(pid_file) is None and time.monotonic() < deadline and _alive(pid):
        time.sleep(0.01)
    return Running(pid=pid, log=log)


def find(pid_file: Path) -> int | None:
    """The pid recorded in ``pid_file`` if that process is alive and still runs the same binary."""
    try:
        pid_text, binary = pid_file.read_text().splitlines()[:2]
        pid = int(pid_text)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError):
        return None
    if state == "Z" or not cmdline or cmdline[0].decode(errors="replace") != binary:
        return None
    return pid


def stop(pid_file: Path, *, grace_seconds: float = 10.0) -> bool:
    """Stop the recorded process group: SIGTERM, then SIGKILL after the grace period.

    Returns True if something was running. The pid file is removed either way.
    """
    pid = find(pid_file)
    pid_file.unlink(missing_ok=True)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def log_tail(log: Path, *, lines: int = 25) -> str:
    """The last ``lines`` lines of a component's log, for error messages."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"
