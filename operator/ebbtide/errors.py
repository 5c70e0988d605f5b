"""Every exception ebbtide raises, in one tree.

    EbbtideError
    ├── InvalidInputError (ValueError): values handed over that the rules cannot be applied to
    │   ├── MalformedObjectError: a Kubernetes object lacks the shape its API defines
    │   ├── InvalidQuantityError: not a Kubernetes quantity, or beyond the int64 it must fit
    │   ├── InvalidDurationError: not a duration such as 90s, 5m or 1h30m
    │   ├── TransitionError: a spec update breaks a transition rule of the CRD
    │   ├── TraceFormatError: a recorded load trace cannot be read
    │   ├── InvalidConfigError: the extender's configuration does not validate
    │   ├── CredentialsError: the Prometheus credentials options contradict each other
    │   ├── BadRequestError: a scheduler request is not a valid ExtenderArgs
    │   └── QueueingError: values the fair-queue rules cannot be applied to
    │       └── InvalidSnapshotError: an amount, a weight or a name breaks an invariant
    ├── KubeError: a Kubernetes API request failed
    │   ├── ClusterConfigError: no cluster configuration can be used, or its API does not answer
    │   ├── ApiError (also the client's ApiException; ebbtide.kube.errors): an error status
    │   │   ├── ClientRequestError: 4xx
    │   │   │   └── BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Gone, Invalid
    │   │   │       and TooManyRequests (each ...Error): 400, 401, 403, 404, 409, 410, 422, 429
    │   │   └── ServerError: 5xx, or no answer the client could read
    │   ├── TargetKindError: a scale target's kind is not served or has no /scale
    │   ├── LeaseRequestError: a Lease request was refused
    │   └── NotOwnerError: a fenced write was not sent: this replica does not own its object now
    ├── MetricsError: Prometheus could not answer a query
    │   ├── NodeLoadError: the nodes' load figures could not be read
    │   ├── PrometheusUnusableError: --prometheus-url is malformed, or refuses the credentials
    │   └── RangeReadError (RuntimeError): a range query failed or was not one series
    ├── NotReadyError: the extender has not listed the cluster's nodes yet
    └── LocalClusterError (RuntimeError): the local cluster, or the demo on it, failed
        ├── BuildError: a Go build of the pinned binaries failed
        ├── ComponentFailedError: a component exited or never became ready
        ├── PrometheusMissingError: the Prometheus server is not installed
        ├── OperatorFailedError: the demo's operator exited or never became ready
        ├── FilesMissingError: the demo's manifests are not where it looks
        ├── KubectlError: a kubectl command of the demo failed
        └── KindTestBedError: the kind test bed (ebbtide.kind) could not be built or run
            ├── DockerError: a docker command failed
            ├── RootfsError: debootstrap is missing or failed
            ├── NodeImageError: the kind node image could not be built
            ├── CheckoutMissingError: the images are built from a checkout, and none was found
            └── KindError: a kind command failed or the cluster did not become ready

Each class keeps the built-in base its callers relied on before there was a tree (ValueError
for bad input, RuntimeError for a failed run), so ``except ValueError`` still catches bad input.
The API error classes are defined in :mod:`ebbtide.kube.errors`, because they are also the
Kubernetes client's ``ApiException`` (and this module imports nothing, so every layer may use it).
"""

from __future__ import annotations


class EbbtideError(Exception):
    """Base class of every exception ebbtide defines."""


# -- bad input ---------------------------------------------------------------------------------


class InvalidInputError(EbbtideError, ValueError):
    """Values handed over that the rules cannot be applied to; nothing was changed."""


class MalformedObjectError(InvalidInputError):
    """A Kubernetes object does not have the shape its API defines; the message names the field."""


class InvalidQuantityError(InvalidInputError):
    """The text is not a Kubernetes quantity, or its amount is out of range."""


class InvalidDurationError(InvalidInputError):
    """A duration string (a spec field, the ``ebbtide.io/expected-duration`` annotation) does
    not parse, or is longer than the longest duration."""


class TransitionError(InvalidInputError):
    """An update breaks one or more transition rules; ``messages`` holds ``path: message`` lines."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


class TraceFormatError(InvalidInputError):
    """A trace that cannot be read; the message names the source and the line."""


class InvalidConfigError(InvalidInputError):
    """The extender's configuration file cannot be read or does not validate."""


class CredentialsError(InvalidInputError):
    """Prometheus credentials that contradict each other (a token and basic auth, a user
    without a password file); the message says how."""


class BadRequestError(InvalidInputError):
    """A scheduler request is not a valid ``ExtenderArgs``; the message says why."""


class QueueingError(InvalidInputError):
    """Values the fair-queue rules cannot be applied to. The planner never raises for a
    situation that can happen in a healthy cluster (an unknown queue, a workload too big for
    its queue, an empty cohort): those become wait reasons instead."""


class InvalidSnapshotError(QueueingError):
    """The snapshot breaks an invariant: a negative amount, a bad weight, a duplicate name."""


# -- Kubernetes --------------------------------------------------------------------------------


class KubeError(EbbtideError):
    """A Kubernetes API request failed. The classes that answer an HTTP status are in
    :mod:`ebbtide.kube.errors` (they are also the client's ``ApiException``)."""


class ClusterConfigError(KubeError):
    """No cluster configuration can be used (no kubeconfig, a bad one, an unknown context), or
    the API server it names does not answer; the message says which, for the user as it is."""


class TargetKindError(KubeError):
    """The target's kind is not served, or it has no /scale subresource; the message says which."""


class LeaseRequestError(KubeError):
    """A Lease request the API server refused or failed, said in one line."""


class NotOwnerError(KubeError):
    """A write was not sent because its fence refused it: another replica owns the object now,
    or this one cannot tell (see :mod:`ebbtide.sharding.ownership`)."""


# -- Prometheus --------------------------------------------------------------------------------


class MetricsError(EbbtideError):
    """Prometheus could not answer a query (unreachable, an error, an answer of the wrong shape)."""


class NodeLoadError(MetricsError):
    """The nodes' load figures could not be read (Prometheus unreachable, an error, a bad answer)."""


class PrometheusUnusableError(MetricsError):
    """``--prometheus-url`` is not an http(s) URL, or the Prometheus there refuses the credentials
    (or its certificate is not trusted): a configuration mistake, unlike one that does not answer."""


class RangeReadError(MetricsError, RuntimeError):
    """A range query failed or did not return exactly one series."""


# -- the extender ------------------------------------------------------------------------------


class NotReadyError(EbbtideError):
    """The extender's node cache has not listed the cluster yet."""


# -- the local cluster and the demo ------------------------------------------------------------


class LocalClusterError(EbbtideError, RuntimeError):
    """The local cluster, or the demo running on it, failed; the message says what and where."""


class BuildError(LocalClusterError):
    """A Go build failed; the message carries the tail of its output."""


class ComponentFailedError(LocalClusterError):
    """A component exited or never became ready; the message names it and quotes its log."""

    def __init__(self, component: str, message: str) -> None:
        self.component = component
        super().__init__(message)


class PrometheusMissingError(LocalClusterError):
    """The Prometheus server binary is not installed."""


class OperatorFailedError(LocalClusterError):
    """The demo's operator exited or did not become ready; the message quotes its log."""


class FilesMissingError(LocalClusterError):
    """Neither the working directory nor the package's checkout holds ``crds/`` and ``examples/``."""


class KubectlError(LocalClusterError):
    """kubectl failed; the message quotes the command and what kubectl said."""


# -- the kind test bed ---------------------------------------------------------------------------


class KindTestBedError(LocalClusterError):
    """The kind test bed (:mod:`ebbtide.kind`) could not be built or run."""


class DockerError(KindTestBedError):
    """A docker command failed; the message names the command and carries its error output."""


class RootfsError(KindTestBedError):
    """debootstrap is missing or failed; the message carries the tail of its log."""


class NodeImageError(KindTestBedError):
    """The kind node image could not be built; the message says which step failed."""


class CheckoutMissingError(KindTestBedError):
    """The images are built from a checkout of the repository, and none was found."""


class KindError(KindTestBedError):
    """A kind command failed or the cluster did not become ready; the message says which."""
