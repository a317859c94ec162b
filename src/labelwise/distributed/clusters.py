"""Clients for the ``cluster:`` section of benchmark configs, opened once per process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labelwise.errors import ConfigError

_OPEN: dict[tuple, Any] = {}


def open_cluster(spec: Mapping[str, Any]) -> Any:
    """A ``dask.distributed.Client`` for ``{address}`` (an existing scheduler) or
    ``{n_workers, threads_per_worker}`` (a local cluster of worker processes); the same
    spec returns the same client for the life of the process."""
    key = tuple(sorted(spec.items()))
    client = _OPEN.get(key)
    if client is not None and client.status == "running":
        return client
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover
        raise ConfigError("cluster: needs dask.distributed: pip install 'labelwise[distributed]'.") from None
    if "address" in spec:
        client = Client(spec["address"])
    else:
        cluster = LocalCluster(n_workers=int(spec.get("n_workers", 2)),
                               threads_per_worker=int(spec.get("threads_per_worker", 1)),
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    _OPEN[key] = client
    return client


def close_clusters() -> None:
    """Close every client (and local cluster) :func:`open_cluster` opened."""
    for client in _OPEN.values():
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()
    _OPEN.clear()
