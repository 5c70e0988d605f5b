"""What every policy's loop shares: the load source, the target resolver, the port to
Kubernetes (:class:`~ebbtide.controllers.scaling.cluster.ScalingCluster`), and a bounded thread
pool for the blocking Kubernetes client.

The load source queries Prometheus from the event loop itself (at most
``prometheus_concurrency`` queries in flight). The kubernetes client is synchronous: its calls
run in a dedicated thread pool (:data:`KUBE_CONCURRENCY` threads), so the event loop that runs
hundreds of policy loops never blocks on the network, and the number of requests in flight stays
bounded.

The Kubernetes pool is sized for latency, not CPU: a round makes one or two short calls, and
with 500 policies at 15 s that is 35-70 calls a second. Each waits on the API server far longer
than it computes, so the pool must hold enough calls in flight to cover the API server's latency
(32 calls at 0.5 s each is 64 calls a second); fewer threads and the rounds queue behind each
other and start late (``ebbtide_scaling_pool_wait_seconds`` shows it). The scaling controller
gets its own API client whose connection pool matches, so no connection is opened and thrown
away per call.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from kubernetes import client

from ebbtide.controllers.runtime import OperatorConfig
from ebbtide.controllers.scaling.cluster import KubeScalingCluster, ScalingCluster
from ebbtide.controllers.scaling.ownership import GROUP, Ownership, ShardedOwnership, SoleOwner
from ebbtide.kube.discovery import ScaleResolver
from ebbtide.kube.leases import default_namespace
from ebbtide.kube.membership import ShardMembership
from ebbtide.metrics import scaling_metrics
from ebbtide.metrics.prometheus_source import PrometheusLoadSource

#: Kubernetes calls in flight at most (and the size of the API client's connection pool).
KUBE_CONCURRENCY = 32

P = ParamSpec("P")
T = TypeVar("T")


def pooled_client(
    api_client: client.ApiClient, *, connections: int, user_agent: str | None = None
) -> client.ApiClient:
    """A new API client with ``api_client``'s server and credentials and a connection pool of
    ``connections`` (the client's default is 5 per CPU), sending ``user_agent`` if given."""
    configuration = copy.copy(api_client.configuration)
    configuration.connection_pool_maxsize = connections
    pooled = client.ApiClient(configuration)
    if user_agent is not None:
        pooled.user_agent = user_agent
    return pooled


@dataclass
class ScalingServices:
    """Clients and pools made once per operator process."""

    api_client: client.ApiClient
    source: PrometheusLoadSource
    resolver: ScaleResolver
    cluster: ScalingCluster
    #: Which policies this replica decides (all of them, unless the services are sharded).
    ownership: Ownership = field(default_factory=SoleOwner)
    kube_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(
            max_workers=KUBE_CONCURRENCY, thread_name_prefix="ebbtide-kube"
        )
    )

    @classmethod
    def from_config(cls, config: OperatorConfig, *, api_client: client.ApiClient) -> ScalingServices:
        """The services of one replica among the ``scaling`` members. Its requests carry the
        replica's identity in their User-Agent, so that the API server's audit log tells the
        replicas' writes apart."""
        ownership = ShardedOwnership(
            ShardMembership(api_client, group=GROUP, namespace=default_namespace(config.cluster_access))
        )
        pooled = pooled_client(
            api_client,
            connections=KUBE_CONCURRENCY,
            user_agent=f"{api_client.user_agent} ebbtide-replica/{ownership.identity}",
        )
        return cls(
            ownership=ownership,
            api_client=pooled,
            source=PrometheusLoadSource(
                url=config.prometheus_url,
                concurrency=config.prometheus_concurrency,
                credentials=config.prometheus_credentials,
            ),
            resolver=ScaleResolver(pooled),
            cluster=KubeScalingCluster(pooled, namespaces=config.namespaces),
        )

    async def kube(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``call(*args, **kwargs)`` (a blocking Kubernetes call) in the Kubernetes pool; the
        time it waited for a thread and the time it took are recorded."""
        submitted = time.perf_counter()
        name = getattr(call, "__name__", "call")

        def timed() -> T:
            started = time.perf_counter()
            scaling_metrics.POOL_WAIT_SECONDS.labels(pool="kube").observe(started - submitted)
            try:
                return call(*args, **kwargs)
            finally:
                scaling_metrics.KUBE_CALL_SECONDS.labels(call=name).observe(time.perf_counter() - started)

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.kube_pool, functools.partial(timed))

    async def close(self) -> None:
        """Leave the members, stop the pool and close the connections this controller opened."""
        await self.source.close()
        await asyncio.to_thread(self._close_blocking)

    def _close_blocking(self) -> None:
        if isinstance(self.ownership, ShardedOwnership):
            self.ownership.membership.stop()
        self.kube_pool.shutdown(wait=True, cancel_futures=True)
        self.cluster.close()
        self.api_client.close()
