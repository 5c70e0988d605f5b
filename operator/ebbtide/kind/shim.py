"""kind's docker calls on an engine that cannot start privileged containers.

kind starts every node with ``docker run --privileged``. Where the engine's own capability
bounding set lacks one that ``--privileged`` asks for, that call fails; :func:`kind_environment`
then puts ``files/docker-shim`` first on PATH for kind, which grants the node every capability the
engine can give instead. On a stock engine kind's calls go through unchanged.
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from ebbtide.devcluster.paths import cache_root
from ebbtide.errors import DockerError
from ebbtide.kind import docker

#: Every capability Docker 20.10 knows except SYS_RESOURCE, the one such engines cannot grant.
NODE_CAPABILITIES = (
    "AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER "
    "FSETID IPC_LOCK IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN "
    "NET_BIND_SERVICE NET_BROADCAST NET_RAW SETFCAP SETGID SETPCAP SETUID SYS_ADMIN SYS_BOOT "
    "SYS_CHROOT SYS_MODULE SYS_NICE SYS_PACCT SYS_PTRACE SYS_RAWIO SYS_TIME SYS_TTY_CONFIG SYSLOG "
    "WAKE_ALARM"
)


def privileged_refused(image: str) -> bool:
    """Whether the engine refuses ``docker run --privileged`` (tried with ``image``'s ``true``, as
    root: a process of another user gets no capabilities, so its start proves nothing)."""
    try:
        docker.docker("run", "--rm", "--privileged", "--user=0", "--entrypoint=true", image, timeout=120)
    except DockerError as error:
        if "unable to apply caps" in str(error) or "operation not permitted" in str(error):
            return True
        raise
    return False


def kind_environment(*, use_shim: bool) -> dict[str, str]:
    """The environment for running kind: this process's, with the shim first on PATH if asked."""
    env = dict(os.environ)
    if not use_shim:
        return env
    engine = shutil.which("docker")
    if engine is None:
        raise DockerError("docker is not on PATH: `make bootstrap` installs and starts the engine")
    folder = cache_root() / "docker-shim"
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "docker"
    source = (resources.files("ebbtide.kind") / "files" / "docker-shim").read_bytes()
    if not shim.is_file() or shim.read_bytes() != source:
        shim.write_bytes(source)
        shim.chmod(0o755)
    env["PATH"] = f"{folder}{os.pathsep}{env.get('PATH', '')}"
    env["EBBTIDE_REAL_DOCKER"] = str(Path(engine).resolve())
    env["EBBTIDE_NODE_CAPABILITIES"] = NODE_CAPABILITIES
    return env
