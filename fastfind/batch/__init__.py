"""Batch querying: many C-FIND queries, many associations, complete answers.

:func:`find_many` (synchronous) and :func:`afind_many` (asyncio) run an iterable of queries over
a pool of associations and yield one :class:`QueryResult` per query as it ends::

    from fastfind.batch import find_many

    rows = ({"QueryRetrieveLevel": "STUDY", "AccessionNumber": a, "StudyInstanceUID": None}
            for a in accession_numbers)
    for result in find_many(rows, "pacs.example", 104, model="study", concurrency=8):
        if result.ok:
            print(result.index, [r.dataset.StudyInstanceUID for r in result.matches])
        else:
            print(result.index, "failed:", result.reason)

``executor=`` runs the queries on any :class:`concurrent.futures.Executor`;
:func:`fastfind.batch.dask.find_many` on a Dask cluster with a cluster-wide cap on associations.

Planned batches (:mod:`fastfind.batch.plan`) complete capped answers, crawl and resume::

    for result in find_many(rows, "pacs.example", 104, model="study", split_by="StudyDate",
                            crawl="SERIES", checkpoint="run.ckpt",
                            outputs=OutputOptions(ndjson="all.ndjson")):
        print(result.id, result.parent, result.count, result.notes)

:class:`QueryRows` reads queries from a CSV file whose header row names ``-k`` keys.
"""

from .engine import BatchProgress, QueryResult, afind_many
from .policy import Governor, RetryPolicy, is_transient
from .rows import QueryRows
from .sync import find_many

__all__ = [
    "BatchProgress",
    "Governor",
    "QueryResult",
    "QueryRows",
    "RetryPolicy",
    "afind_many",
    "find_many",
    "is_transient",
]
