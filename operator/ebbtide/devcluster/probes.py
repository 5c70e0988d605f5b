"""Readiness probes for the local cluster's components (plain HTTP(S) GETs on loopback)."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass

from ebbtide.devcluster.pki import CertPair


@dataclass(frozen=True)
class HttpProbe:
    """A GET that counts as healthy when it answers 200 and the body contains ``expect``.

    HTTPS probes verify the server against ``ca`` and, when ``identity`` is given, present it as
    a client certificate.
    """

    url: str
    ca: CertPair | None = None
    identity: CertPair | None = None
    expect: str = ""

    def __call__(self) -> bool:
        context = None
        if self.url.startswith("https://"):
            context = ssl.create_default_context(cafile=str(self.ca.cert) if self.ca else None)
            if self.identity is not None:
                context.load_cert_chain(str(self.identity.cert), str(self.identity.key))
        try:
            with urllib.request.urlopen(self.url, timeout=2, context=context) as response:
                body = response.read().decode(errors="replace")
                return bool(response.status == 200 and self.expect in body)
        except (OSError, urllib.error.URLError, ssl.SSLError):
            return False
