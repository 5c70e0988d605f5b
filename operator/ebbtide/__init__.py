"""ebbtide: capacity that follows load before it arrives, shared fairly.

The package is split by concept, in layers that import only downwards (an import-linter
contract in pyproject.toml keeps them so):

* ``api``: the CRD models with their vocabulary, Kubernetes amounts and objects as plain values;
* ``scaling``, ``queueing``, ``scoring``: pure decision logic, no I/O;
* ``kube`` and ``metrics``: the clients of the Kubernetes API and of Prometheus;
* ``controllers`` (a package per custom resource) and ``extender``: the running services, which
  wire the logic to those clients (and serve HTTP);
* ``commands``, ``demo`` and ``devcluster``: the ``ebbtide`` command, the demo and the local
  real cluster it and the tests run on.

``errors`` holds every exception, in one tree.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ebbtide")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
