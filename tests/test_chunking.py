"""A batch read in chunks of files gives the result of a single pass (same tables, same
findings, same JSON), batch-wide rules still see every claim, and chunks are planned from
the files' sizes."""

from __future__ import annotations

import gzip
import json

import pytest
from edi_builder import build, claim
from helpers import REPO, SAMPLE_CLAIMS, doc_without_run, load_ruleset, run_cli, write_edi
from polars.testing import assert_frame_equal

from validator.engine import Selection, check, collect_inputs
from validator.engine.claim_store import KEY_COLUMNS
from validator.engine.units import CLIENT_CLAIMS
from validator.model.chunking import parse_size, plan
from validator.output.json_report import chunks as json_chunks
from validator.rules.api import RunOptions


def _run(paths, chunk_bytes, **options):
    rs = load_ruleset("kp-cigna")
    return check(paths, rs, Selection.build(rs), RunOptions(chunk_bytes=chunk_bytes,
                                                             **options))


def _assert_same(paths, chunk_bytes):
    whole, parts = _run(paths, 0), _run(paths, chunk_bytes)
    assert len(plan(paths, chunk_bytes)) > 1
    for name in ("files", "transactions"):
        assert_frame_equal(getattr(parts.batch, name), getattr(whole.batch, name))
    # A run in units keeps in memory only its claims' key columns; the other columns the
    # reports, tools and batch rules read are in its store (claim_frame), as in one pass.
    assert parts.batch.claims.columns == list(KEY_COLUMNS)
    assert_frame_equal(parts.batch.claims, whole.batch.claims.select(KEY_COLUMNS))
    assert parts.claims.columns == [*KEY_COLUMNS, "status"]
    kept = [c for c in whole.claims.columns if c in CLIENT_CLAIMS or c == "status"
            or c in whole.annotator_columns()]
    assert parts.annotator_columns() == whole.annotator_columns()
    assert_frame_equal(parts.claim_frame(kept), whole.claims.select(kept))
    assert parts.batch.lines.height == 0
    doc = lambda r: {k: v for k, v in json.loads(b"".join(json_chunks(r))).items()  # noqa: E731
                     if k != "run"}  # (when and how long: the rest must be equal)
    assert doc(parts) == doc(whole)
    assert parts.failed == whole.failed == []
    return parts


def test_sample_folder_file_by_file_equals_one_pass(tmp_path):
    junk = write_edi(tmp_path, "not an EDI file\n", "junk.837")
    samples = collect_inputs([str(REPO / "sample_edi")])
    again = write_edi(tmp_path, (REPO / "sample_edi" / "clean-837p.edi").read_text(),
                      "resent.837")  # a file sent twice: the batch rules compare chunks
    paths = [*samples[:3], junk, *samples[3:], again]
    parts = _assert_same(paths, 1)  # every file a chunk of its own
    # a unit's segments are not kept: only its envelope rows (for the trailer rules)
    assert set(parts.batch.segments["seg_id"]) <= {"ISA", "GS", "ST", "GE", "IEA"}
    assert {"DUP401", "KP100", "FILE001"} <= set(parts.findings["rule"])
    assert parts.batch.files["status"][3] == "unreadable"


@pytest.mark.parametrize("chunk_bytes", [pytest.param(1, marks=pytest.mark.slow), 64 << 10])
def test_corpus_in_chunks_equals_one_pass(corpus, chunk_bytes):
    # 104 real files: 837P/I/D, 4010, non-837 and malformed ones.
    paths = collect_inputs([str(corpus)])
    parts = _assert_same(paths, chunk_bytes)
    assert parts.claims.height == parts.batch.claims.height > 80


def test_batch_rules_compare_claims_across_chunks(tmp_path):
    a = write_edi(tmp_path, build("P", claims=[claim("P", "PCN7")]), "a.837")
    b = write_edi(tmp_path, build("P", claims=[claim("P", "PCN7", total="90")]), "b.837")
    res = _run([a, b], 1)
    dup = res.findings.filter(res.findings["rule"] == "DUP401")
    assert dup.height == 1 and dup["file_id"].to_list() == [1]
    assert "a.837" in dup["message"][0]


def test_plan_keeps_file_order_and_whole_files(tmp_path):
    sizes = [400, 300, 500, 2000, 100, 100]
    paths = []
    for i, n in enumerate(sizes):
        p = tmp_path / f"f{i}.837"
        p.write_bytes(b"x" * n)
        paths.append(p)
    got = [(first, [p.name for p in chunk]) for first, chunk in plan(paths, 1000)]
    assert got == [(0, ["f0.837", "f1.837"]), (2, ["f2.837"]), (3, ["f3.837"]),
                   (4, ["f4.837", "f5.837"])]
    assert plan(paths, 0) == [(0, paths)]
    assert plan(paths[:1], 1) == [(0, paths[:1])]
    missing = tmp_path / "gone.837"  # the reader reports it; planning must not fail
    assert plan([missing, *paths[:1]], 1000) == [(0, [missing, paths[0]])]


def test_plan_counts_gzip_files_unpacked(tmp_path):
    big = tmp_path / "big.837.gz"
    big.write_bytes(gzip.compress(b"ISA" + b" " * 5000))  # compresses to a few dozen bytes
    small = tmp_path / "small.837"
    small.write_bytes(b"x" * 10)
    assert len(plan([big, small], 1000)) == 2


@pytest.mark.parametrize(("text", "size"), [("0", 0), ("512", 512), ("64K", 65536),
                                            ("128M", 128 << 20), ("2g", 2 << 30),
                                            ("1.5GB", 3 << 29), ("10 MiB", 10 << 20)])
def test_parse_size(text, size):
    assert parse_size(text) == size


def test_cli_chunk_size(tmp_path):
    code, out, _ = run_cli(["check", str(REPO / "sample_edi"), "--no-ig", "--format", "json",
                            "-q", "--chunk-size", "20K"])
    whole = run_cli(["check", str(REPO / "sample_edi"), "--no-ig", "--format", "json", "-q",
                     "--chunk-size", "0"])
    assert code == whole[0] and doc_without_run(out) == doc_without_run(whole[1])
    assert json.loads(out)["summary"]["claims"] == SAMPLE_CLAIMS
    code, out, err = run_cli(["check", str(REPO / "sample_edi"), "--chunk-size", "lots"])
    assert code == 2 and "not a size" in err and not out


def _boom_on(monkeypatch, marker: str):
    """Make loop annotation (a whole-batch step) fail on any batch holding ``marker``."""
    from validator.engine import read as engine
    real = engine.annotate

    def annotate(segs):
        if segs["raw"].str.contains(marker, literal=True).any():
            raise RuntimeError("annotation broke")
        return real(segs)

    monkeypatch.setattr(engine, "annotate", annotate)


@pytest.mark.parametrize("chunk_bytes", [0, 1, "two files"])
def test_a_failing_batch_step_costs_only_the_file_at_fault(tmp_path, monkeypatch, chunk_bytes):
    paths = [write_edi(tmp_path, build("P", claims=[claim("P", pcn)]), f"{pcn}.837")
             for pcn in ("PCNA", "BOOM1", "PCNC")]
    if chunk_bytes == "two files":  # a chunk of a and b, then c
        chunk_bytes = 2 * paths[0].stat().st_size + 8
    _boom_on(monkeypatch, "BOOM1")
    res = _run(paths, chunk_bytes)
    assert res.batch.files["status"].to_list() == ["parsed", "unreadable", "parsed"]
    assert res.batch.files["error"][1].startswith("internal error while reading the file: "
                                                  "RuntimeError: annotation broke")
    assert res.claim_frame(["claim_id"])["claim_id"].to_list() == ["PCNA", "PCNC"]
    assert res.claims["file_id"].to_list() == [0, 2]
    f = res.findings.filter(res.findings["file_id"] == 1)
    assert f["rule"].to_list() == ["FILE001"]
    assert res.failed == []


def test_a_failing_batch_step_through_the_cli(tmp_path, monkeypatch):
    for pcn in ("PCNA", "BOOM1"):
        write_edi(tmp_path, build("P", claims=[claim("P", pcn)]), f"{pcn}.837")
    _boom_on(monkeypatch, "BOOM1")
    code, out, err = run_cli(["check", str(tmp_path), "--no-ig", "--format", "json"])
    assert code == 1 and "Traceback" not in err
    assert "reading it again file by file" in err
    doc = json.loads(out)
    assert doc["summary"]["files_unreadable"] == 1 and doc["summary"]["claims"] == 1


def test_a_usage_error_in_a_chunk_stops_the_run(tmp_path):
    roster = tmp_path / "roster.csv"  # a region that does not exist: a usage error
    roster.write_text("member_id,product,region,funding\nA1,HMO,ATLANTIS,insured\n")
    for size in ("0", "1"):
        code, out, err = run_cli(["check", str(REPO / "sample_edi"), "--no-ig", "--format",
                                  "json", "--members", str(roster), "--chunk-size", size])
        assert code == 2 and not out and "column region" in err and "file by file" not in err
