"""A batch read in chunks of files gives the result of a single pass (same tables, same
findings, same JSON), batch-wide rules still see every claim, and chunks are planned from
the files' sizes."""

from __future__ import annotations

import gzip
import json

import pytest
from generic_helpers import build, claim
from helpers import CORPUS, REPO, run_cli, write_edi
from polars.testing import assert_frame_equal

from validator.chunking import parse_size, plan
from validator.engine import Selection, check, collect_inputs
from validator.output.json_report import chunks as json_chunks
from validator.ruleset import load as load_ruleset


def _run(paths, chunk_bytes, **options):
    rs = load_ruleset("kp-cigna")
    return check(paths, rs, Selection.build(rs), {"ig": False, "chunk_bytes": chunk_bytes,
                                                   **options})


def _assert_same(paths, chunk_bytes):
    whole, parts = _run(paths, 0), _run(paths, chunk_bytes)
    assert len(plan(paths, chunk_bytes)) > 1
    for name in ("files", "transactions", "claims", "lines"):
        assert_frame_equal(getattr(parts.batch, name), getattr(whole.batch, name))
    assert_frame_equal(parts.findings, whole.findings)
    assert_frame_equal(parts.claims, whole.claims)  # status and the kp annotation
    assert b"".join(json_chunks(parts)) == b"".join(json_chunks(whole))
    assert parts.failed == whole.failed == []
    return parts


def test_sample_folder_file_by_file_equals_one_pass(tmp_path):
    junk = write_edi(tmp_path, "not an EDI file\n", "junk.837")
    samples = collect_inputs([str(REPO / "sample_edi")])
    paths = [*samples[:3], junk, *samples[3:]]
    parts = _assert_same(paths, 1)  # every file a chunk of its own
    assert parts.batch.segments.height == 0  # a chunk's segments are not kept
    assert {"DUP402", "KP100", "FILE001"} <= set(parts.findings["rule"])
    assert parts.batch.files["status"][3] == "unreadable"


@pytest.mark.skipif(CORPUS is None, reason="../shared/corpus not present")
@pytest.mark.parametrize("chunk_bytes", [1, 64 << 10])
def test_corpus_in_chunks_equals_one_pass(chunk_bytes):
    # 104 real files: 837P/I/D, 4010, non-837 and malformed ones.
    paths = collect_inputs([str(CORPUS)])
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
    assert (code, out) == whole[:2] and json.loads(out)["summary"]["claims"] == 70
    code, out, err = run_cli(["check", str(REPO / "sample_edi"), "--chunk-size", "lots"])
    assert code == 2 and "not a size" in err and not out
