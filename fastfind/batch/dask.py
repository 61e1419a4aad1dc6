"""Batches on a Dask ``distributed`` cluster, with a cluster-wide cap on associations.

    from distributed import Client
    from fastfind.batch.dask import find_many

    with Client("scheduler:8786") as dask_client:
        for result in find_many(dask_client, queries, "pacs.example", 104, model="study",
                                max_associations=8):
            ...

Chunks of queries run as Dask tasks (:func:`fastfind.batch.pool.run_chunk`); each worker process
keeps its associations open across tasks and releases them when idle. Every open association
holds one lease of a ``distributed.Semaphore`` named after the archive, so however many
workers and threads there are, never more than ``max_associations`` are open to that archive
at once. Results (and the sinks) come back to the calling process as chunks finish.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..client import Query
from ..options import FindOptions
from .engine import QueryResult
from .pool import find_many_on


def find_many(
    client: Any,
    queries: Iterable[Query],
    host: str,
    port: int,
    options: FindOptions | None = None,
    *,
    max_associations: int = 4,
    chunk_size: int = 16,
    **kwargs: Any,
) -> Iterator[QueryResult]:
    """Run ``queries`` on the cluster of the Dask ``client`` (see the module docstring)."""
    executor = client.get_executor(pure=False)
    lease = (f"fastfind-associations-{host}:{port}", max_associations)
    kwargs.setdefault("concurrency", max_associations)
    return find_many_on(executor, queries, host, port, options, chunk_size=chunk_size, lease=lease,
                        **kwargs)


__all__ = ["find_many"]
