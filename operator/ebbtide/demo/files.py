"""Where the demo finds the repository's CRDs and examples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ebbtide
from ebbtide.errors import FilesMissingError


@dataclass(frozen=True)
class DemoFiles:
    """The manifests the demo applies, all from one checkout of the repository."""

    root: Path

    @property
    def crds(self) -> Path:
        return self.root / "crds"

    @property
    def web_deployment(self) -> Path:
        return self.root / "examples" / "web-deployment.yaml"

    def demo(self, name: str) -> Path:
        """``examples/demo/<name>``."""
        return self.root / "examples" / "demo" / name

    @classmethod
    def locate(cls) -> DemoFiles:
        """The working directory if it is a checkout, else the checkout the package runs from
        (an editable install, as ``make demo`` makes); raises :class:`FilesMissingError`."""
        package_checkout = Path(ebbtide.__file__).resolve().parents[2]
        for root in (Path.cwd(), package_checkout):
            if (root / "crds").is_dir() and (root / "examples" / "demo").is_dir():
                return cls(root)
        raise FilesMissingError(
            "ebbtide demo applies the repository's crds/ and examples/: run it from a checkout "
            "of ebbtide (e.g. `make demo`)"
        )
