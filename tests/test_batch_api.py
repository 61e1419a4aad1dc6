"""fastfind.batch.find_many / afind_many end to end: real peers (wlmscpfs, Orthanc) and the
replay SCP of benchmarks/ (real sockets; scripted rejects, aborts, association limits).

What must hold (issue "Batch querying"): results tagged by query, as they arrive, with bounded
memory for a huge input; N associations, each reused for many queries; per-query errors as
results, never the end of the batch; transient failures retried with back-off, permanent ones
never; an archive's association limit answered with fewer associations, not failures.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import sys
from pathlib import Path
from typing import Any

import pytest

from fastfind.batch import QueryResult, RetryPolicy, afind_many, find_many
from fastfind.errors import AssociationRejected, PeerAborted

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import replay_scp  # noqa: E402

FAST = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05)


def study_queries(n: int) -> list[dict[str, Any]]:
    return [{"QueryRetrieveLevel": "STUDY", "PatientID": f"P{i}", "StudyInstanceUID": None} for i in range(n)]


@pytest.fixture
def replay() -> Any:
    started: list[replay_scp.ReplayServer] = []

    def make(**options: Any) -> replay_scp.ReplayServer:
        options.setdefault("responses", 3)
        options.setdefault("kind", "study")
        srv = replay_scp.start(**options)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


def by_index(results: list[QueryResult]) -> dict[int, QueryResult]:
    out = {r.index: r for r in results}
    assert len(out) == len(results), "a query was reported twice"
    return out


def test_every_query_answered_once_over_reused_associations(replay: Any) -> None:
    srv = replay(responses=4)
    results = by_index(list(find_many(study_queries(60), "127.0.0.1", srv.port, model="study",
                                      concurrency=4)))
    assert sorted(results) == list(range(60))
    assert all(r.ok and r.count == 4 and len(r.matches) == 4 for r in results.values())
    assert all(m.query == r.index for r in results.values() for m in r.matches)
    assert all([m.number for m in r.matches] == [1, 2, 3, 4] for r in results.values())  # per query
    assert len(srv.associations) == 4, "associations were not reused"
    assert all(a.released for a in srv.associations)
    assert sum(len(a.queries) for a in srv.associations) == 60


def test_input_is_read_lazily_memory_stays_bounded(replay: Any) -> None:
    """A million-row input: the engine never reads more than 2 x concurrency ahead."""
    srv = replay(responses=1)
    read = [0]

    def rows() -> Any:
        for i in range(1_000_000):
            read[0] += 1
            yield {"QueryRetrieveLevel": "STUDY", "PatientID": f"P{i}"}

    concurrency = 3
    gen = find_many(rows(), "127.0.0.1", srv.port, model="study", concurrency=concurrency,
                    keep_matches=False)
    seen = 0
    for _result in gen:
        seen += 1
        # in flight (2c) plus results waiting to be taken (2c): never more read ahead
        assert read[0] - seen <= 4 * concurrency + 1, (read[0], seen)
        if seen == 50:
            break
    gen.close()
    assert read[0] < 100


def test_association_limit_means_fewer_associations_not_failures(replay: Any) -> None:
    srv = replay(responses=2, max_associations=2, search_delay=0.005)
    results = list(find_many(study_queries(80), "127.0.0.1", srv.port, model="study",
                             concurrency=6, retry=FAST))
    assert len(results) == 80 and all(r.ok and r.count == 2 for r in results), [r.reason for r in results if not r.ok]
    assert srv.open_max <= 2
    assert srv.rejected >= 1, "the limit was never hit: the test proves nothing"


def test_transient_rejects_are_retried(replay: Any) -> None:
    srv = replay(on_associate=lambda n: "reject-transient" if n < 3 else None)
    results = list(find_many(study_queries(5), "127.0.0.1", srv.port, model="study",
                             concurrency=1, retry=FAST))
    assert all(r.ok for r in results)
    assert sum(r.attempts - 1 for r in results) == 3  # each reject cost one retry
    assert sum(a.rejected for a in srv.associations) == 3


def test_permanent_reject_is_each_querys_error_never_retried(replay: Any) -> None:
    srv = replay(on_associate=lambda n: "reject-permanent")
    results = list(find_many(study_queries(4), "127.0.0.1", srv.port, model="study",
                             concurrency=2, retry=FAST))
    assert len(results) == 4
    assert all(isinstance(r.error, AssociationRejected) and r.attempts == 1 for r in results)
    assert all(r.exit_code == 2 for r in results)
    assert len(srv.associations) == 4


def test_abort_before_the_first_response_is_retried_after_it_is_not(replay: Any) -> None:
    def script(n: int, _ds: Any) -> Any:
        return {0: "abort", 3: ("abort-after", 2)}.get(n)

    srv = replay(responses=3, on_query=script)
    results = by_index(list(find_many(study_queries(6), "127.0.0.1", srv.port, model="study",
                                      concurrency=1, retry=FAST)))
    assert results[0].ok and results[0].attempts == 2  # aborted before any response: retried
    failed = [r for r in results.values() if not r.ok]
    assert len(failed) == 1, [r.reason for r in results.values()]
    assert isinstance(failed[0].error, PeerAborted) and failed[0].count == 2  # kept, reported
    assert failed[0].attempts == 1 and failed[0].exit_code == 71
    assert sum(r.ok for r in results.values()) == 5  # the batch went on


def test_unknown_host_fails_each_query_at_once() -> None:
    results = list(find_many(study_queries(3), "no-such-host.invalid", 104, concurrency=2, retry=FAST))
    assert len(results) == 3 and all(not r.ok and r.attempts == 1 for r in results)


def test_sinks_get_every_response_tagged(replay: Any, tmp_path: Path) -> None:
    import json

    from fastfind.output.dicom_json import JsonSink

    srv = replay(responses=3)
    with JsonSink(str(tmp_path / "all.ndjson"), ndjson=True, batch=True) as sink:
        results = list(find_many(study_queries(10), "127.0.0.1", srv.port, model="study",
                                 concurrency=3, sinks=[sink], keep_matches=False))
    assert all(r.ok and r.count == 3 and r.matches == [] for r in results)
    lines = [json.loads(x) for x in (tmp_path / "all.ndjson").read_text().splitlines()]
    assert sorted(x["query"] for x in lines) == sorted(q for q in range(1, 11) for _ in range(3))
    assert all("00100010" in x["response"] for x in lines)


def test_progress_callback(replay: Any) -> None:
    srv = replay(responses=2)
    seen: list[tuple[int, int]] = []
    list(find_many(study_queries(12), "127.0.0.1", srv.port, model="study", concurrency=2,
                   total=12, progress=lambda p: seen.append((p.done, p.responses))))
    assert seen[-1] == (12, 24)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_executor_runs_chunks_and_reuses_associations(replay: Any) -> None:
    from fastfind.batch import pool

    srv = replay(responses=2)
    with cf.ThreadPoolExecutor(3) as ex:
        results = list(find_many(study_queries(30), "127.0.0.1", srv.port, model="study",
                                 executor=ex, chunk_size=4))
    pool.close_pool()
    assert sorted(r.index for r in results) == list(range(30))
    assert all(r.ok and r.count == 2 for r in results)
    assert len(srv.associations) <= 3 + 1


def test_against_wlmscpfs(wlmscpfs: Any) -> None:
    """A real archive: one query per patient, the answers are the records of each patient."""
    ids = sorted({str(r.PatientID) for r in wlmscpfs.records})[:8]
    queries = [{"PatientID": pid, "PatientName": None, "ScheduledProcedureStepSequence[0].Modality": None}
               for pid in ids]
    results = by_index(list(find_many(queries, "127.0.0.1", wlmscpfs.port, called_ae=wlmscpfs.aet,
                                      concurrency=3)))
    for i, pid in enumerate(ids):
        expected = sum(1 for r in wlmscpfs.records if str(r.PatientID) == pid)
        assert results[i].ok and results[i].count == expected
        assert all(str(m.dataset.PatientID) == pid for m in results[i].matches)


def test_against_orthanc(orthanc: Any) -> None:
    uids = orthanc.data.studies[:10]
    queries = [{"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": uid, "PatientName": None} for uid in uids]
    results = by_index(list(find_many(queries, "127.0.0.1", orthanc.port, model="study",
                                      called_ae=orthanc.aet, concurrency=4)))
    assert all(results[i].ok and results[i].count == 1 for i in range(len(uids)))
    assert [str(results[i].matches[0].dataset.StudyInstanceUID) for i in range(len(uids))] == uids


def test_asyncio_batch(replay: Any) -> None:
    srv = replay(responses=3)

    async def main() -> list[QueryResult]:
        return [r async for r in afind_many(study_queries(20), "127.0.0.1", srv.port, model="study",
                                            concurrency=5)]

    results = asyncio.run(main())
    assert sorted(r.index for r in results) == list(range(20)) and all(r.ok for r in results)
    assert len(srv.associations) == 5


@pytest.mark.timeout(180)
def test_dask_cluster_never_exceeds_the_association_cap(replay: Any) -> None:
    """Two worker processes x 3 threads, a cap of 2: the server never sees 3 open at once."""
    distributed = pytest.importorskip("distributed")
    from fastfind.batch.dask import find_many as dask_find_many

    srv = replay(responses=2, search_delay=0.01)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=3, processes=True,
                                  dashboard_address=None, silence_logs=50) as cluster, \
            distributed.Client(cluster) as client:
        results = list(dask_find_many(client, study_queries(48), "127.0.0.1", srv.port,
                                      model="study", max_associations=2, chunk_size=3))
    assert sorted(r.index for r in results) == list(range(48))
    assert all(r.ok and r.count == 2 for r in results), [r.reason for r in results if not r.ok]
    assert 1 <= srv.open_max <= 2
    assert srv.rejected == 0
