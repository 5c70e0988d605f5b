"""A second, real Prometheus that wants TLS and basic auth, as users run it behind a gateway.

Prometheus's own web configuration (``--web.config.file``) serves HTTPS with a certificate from
a CA made for the test and refuses requests without the user and password. It scrapes one
target of its own (a test's load exporter), with the same 2-second interval as the test bed's.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from ebbtide.devcluster.pki import issue, make_ca

USER = "ebbtide"
PASSWORD = "ebbtide-e2e-password"
#: bcrypt of PASSWORD (cost 4: the web configuration accepts only bcrypt hashes).
PASSWORD_BCRYPT = "$2b$04$R2TZMIj4dpBXNN5KxBcvzO28uxhl27wCwS7RJ5KwZmULnnhHNg/PG"


@dataclass(frozen=True)
class SecuredPrometheus:
    url: str
    ca_file: Path
    password_file: Path


@contextmanager
def secured_prometheus(directory: Path, *, port: int, scrape: str, job: str) -> Iterator[SecuredPrometheus]:
    """Run Prometheus on ``https://127.0.0.1:port`` scraping ``scrape`` (host:port) as ``job``."""
    binary = shutil.which("prometheus")
    assert binary is not None, "the prometheus binary is not on PATH (make bootstrap installs it)"
    ca = make_ca(directory, name="prometheus-ca", common_name="ebbtide-e2e-prometheus-ca")
    serving = issue(
        ca, directory, name="prometheus", common_name="127.0.0.1", ip_addresses=("127.0.0.1",), server=True
    )
    web = directory / "web.yml"
    web.write_text(
        yaml.safe_dump(
            {
                "tls_server_config": {"cert_file": str(serving.cert), "key_file": str(serving.key)},
                "basic_auth_users": {USER: PASSWORD_BCRYPT},
            }
        )
    )
    config = directory / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
                "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [scrape]}]}],
            }
        )
    )
    password_file = directory / "password"
    password_file.write_text(PASSWORD + "\n")
    log = (directory / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--web.config.file={web}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = requests.get(f"{url}/-/ready", verify=str(ca.cert), auth=(USER, PASSWORD), timeout=2)
                if ready.ok:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None, (directory / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the secured Prometheus did not become ready"
            time.sleep(0.3)
        yield SecuredPrometheus(url=url, ca_file=ca.cert, password_file=password_file)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
