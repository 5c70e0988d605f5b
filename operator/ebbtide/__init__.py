"""ebbtide: capacity that follows load before it arrives, shared fairly.

The package is split by concept: ``api`` (the CRD models), ``scaling``, ``queueing`` and
``scoring`` (pure decision logic), ``kube`` and ``metrics`` (the only I/O), ``controllers`` and
``extender`` (wiring), and ``devcluster`` (the local real cluster used by the demo and the tests).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ebbtide")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
