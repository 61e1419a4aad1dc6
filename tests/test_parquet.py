"""``--extract-parquet`` and the Arrow API against real peers started by the suite (scripted
pynetdicom SCP, wlmscpfs), read back with pyarrow; and the one-line exit 1 without pyarrow."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fastfind.output.csv_table import cell, parse_field

import servers
from servers import FindScript, match_datasets

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

STUDY = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName", "-k", "PatientID",
         "-k", "StudyInstanceUID", "-k", "StudyDate"]


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    if env is None:
        return servers.run_fastfind(args, cwd=cwd, timeout=60)
    full = dict(os.environ)
    full.update(env)
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(servers.REPO_ROOT)]))
    return subprocess.run([sys.executable, "-m", "fastfind", *args], cwd=cwd, env=full,
                          capture_output=True, encoding="latin-1", timeout=60, stdin=subprocess.DEVNULL)


def test_extract_parquet_equals_csv(scripted_scp, tmp_path: Path) -> None:
    matches = match_datasets(5, charset="ISO_IR 100")
    matches[0].PatientName = "M\u00fcller^J\u00fcrgen"
    for i, m in enumerate(matches):
        if i != 1:  # match 1 has none: null in Parquet, empty in CSV
            m.StudyDate = f"2024010{i}"
    scp = scripted_scp(FindScript(matches=matches))
    got = run([scp.host, str(scp.port), *STUDY, "--extract-parquet", "a.parquet",
               "--extract-csv", "a.csv"], tmp_path)
    assert got.returncode == 0, got.stderr
    table = pq.read_table(tmp_path / "a.parquet")
    names = ["StudyDate", "QueryRetrieveLevel", "PatientName", "PatientID", "StudyInstanceUID"]
    assert table.column_names == names
    assert all(t == pa.string() for t in table.schema.types)
    rows = list(csv.reader((tmp_path / "a.csv").open(encoding="utf-8", newline="")))
    assert rows[0] == names
    assert [[v or "" for v in r.values()] for r in table.to_pylist()] == rows[1:]
    assert table.column("StudyDate").to_pylist()[1] is None
    assert table.column("PatientName").to_pylist()[0] == "M\u00fcller^J\u00fcrgen"
    for m, r in zip(matches, table.to_pylist(), strict=True):
        assert r["PatientID"] == cell(m, parse_field("PatientID"))
    assert not list(tmp_path.glob(".*part"))  # nothing temporary left


def test_extract_parquet_row_groups_and_fields(scripted_scp, tmp_path: Path, monkeypatch) -> None:
    """Bounded row groups (a small group size through the sink's parameter, via the API)."""
    from fastfind import FindClient
    from fastfind.output.parquet import ParquetSink

    scp = scripted_scp(FindScript(matches=match_datasets(7)))
    path = tmp_path / "g.parquet"
    with FindClient(scp.host, scp.port, model="study") as client, \
            ParquetSink(str(path), ["PatientID", "(0010,0010)"], row_group_size=3) as sink:
        client.run({"QueryRetrieveLevel": "STUDY", "PatientID": None, "PatientName": None}, [sink])
    meta = pq.ParquetFile(path).metadata
    assert meta.num_rows == 7 and [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3, 3, 1]
    assert pq.read_table(path).column_names == ["PatientID", "(0010,0010)"]


def test_extract_parquet_empty_result_and_symlink(scripted_scp, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "e.parquet").symlink_to(victim)
    scp = scripted_scp(FindScript(matches=[]))
    got = run([scp.host, str(scp.port), *STUDY, "--extract-parquet", "e.parquet",
               "--csv-fields", "PatientID,ScheduledProcedureStepSequence[0].Modality"], tmp_path)
    assert got.returncode == 0, got.stderr
    assert victim.read_text() == "keep"  # replaced, never written through
    table = pq.read_table(tmp_path / "e.parquet")
    assert table.num_rows == 0
    assert table.column_names == ["PatientID", "ScheduledProcedureStepSequence[0].Modality"]


def test_extract_parquet_worklist(wlmscpfs, tmp_path: Path) -> None:
    got = run([wlmscpfs.host, str(wlmscpfs.port), "-aec", wlmscpfs.aet, "-W", "-k", "PatientName",
               "-k", "PatientID", "-k", "ScheduledProcedureStepSequence[0].Modality",
               "--extract-parquet", "w.parquet", "--extract-csv", "w.csv", "--csv-fields",
               "PatientName,PatientID,ScheduledProcedureStepSequence[0].Modality,"
               "ScheduledProcedureStepSequence"], tmp_path)
    assert got.returncode == 0, got.stderr
    table = pq.read_table(tmp_path / "w.parquet")
    rows = list(csv.reader((tmp_path / "w.csv").open(encoding="utf-8", newline="")))
    assert table.num_rows == len(rows) - 1 > 0
    assert [[v or "" for v in r.values()] for r in table.to_pylist()] == rows[1:]
    assert set(table.column("ScheduledProcedureStepSequence").to_pylist()) == {"1"}


def test_batch_query_column(scripted_scp, tmp_path: Path) -> None:
    from fastfind import FindClient
    from fastfind.arrow import ArrowSink

    scp = scripted_scp(FindScript(matches=match_datasets(2)))
    sink = ArrowSink(["PatientID"], batch_size=3, query_column=True)
    with FindClient(scp.host, scp.port, model="study") as client:
        for q in range(2):
            for rsp in client.find({"QueryRetrieveLevel": "STUDY", "PatientID": None}):
                rsp.query = q
                sink.add(rsp)
    sink.close()
    table = pa.Table.from_batches(sink.take())
    assert table.column("query").type == pa.int32()
    assert table.column("query").to_pylist() == [1, 1, 2, 2]


def test_record_batches_and_to_table(scripted_scp) -> None:
    from fastfind.arrow import record_batches, to_table

    scp = scripted_scp(FindScript(matches=match_datasets(5)))
    query = {"QueryRetrieveLevel": "STUDY", "PatientID": None, "PatientName": None}
    batches = list(record_batches(scp.host, scp.port, query, batch_size=2, model="study"))
    assert [b.num_rows for b in batches] == [2, 2, 1]
    table = to_table(scp.host, scp.port, query, model="study")
    assert table.column_names == ["QueryRetrieveLevel", "PatientName", "PatientID"]  # tag order
    assert table.num_rows == 5
    assert pa.Table.from_batches(batches).select(["PatientID"]) == table.select(["PatientID"])


def test_without_pyarrow_exits_1(tmp_path: Path) -> None:
    """A sitecustomize that blocks ``import pyarrow``: one clear line, exit 1, no network."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pyarrow' or name.startswith('pyarrow.'):\n"
        "            raise ImportError('blocked for the test')\n"
        "sys.meta_path.insert(0, _Block())\n")
    got = run(["127.0.0.1", "9", *STUDY, "--extract-parquet", "x.parquet"], tmp_path,
              env={"PYTHONPATH": str(tmp_path)})
    assert got.returncode == 1, got.stderr
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and "pyarrow" in lines[0] and "fastfind[arrow]" in lines[0]
    assert not (tmp_path / "x.parquet").exists()
