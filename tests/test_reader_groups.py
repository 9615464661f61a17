"""Several files tokenised together equal the files tokenised one by one, and a failure of
the grouped pass loses nothing but the file at fault."""

from __future__ import annotations

import contextlib

import polars as pl
import pytest
from edi_builder import edi, interchange, transaction
from helpers import write_edi
from polars.testing import assert_frame_equal

from validator.engine import read as engine
from validator.engine import read_batch
from validator.x12.load import LoadError
from validator.x12.load import load as load_file
from validator.x12.segments import tokenize, tokenize_files


def _loaded(paths):
    out = []
    for i, p in enumerate(paths):
        with contextlib.suppress(LoadError):
            out.append((i, load_file(p, str(p))))
    return out


def _awkward_files(tmp_path):
    segs = interchange(transaction(claim="A1"))
    texts = {
        "plain.edi": edi(segs),
        "no_final_terminator.edi": edi(segs).rstrip("\n").rstrip("~"),
        "blanks_and_indent.edi": "  " + "~\n   ".join(segs[:5]) + "~~ ~\t" + "~\n".join(segs[5:]),
        "trailing_spaces.edi": edi(segs) + "   \t",
        "newline_terminated.edi": "\n".join(segs) + "\n",
        "bare_segments.edi": edi([*segs[:6], "N3", "REF*", *segs[6:]]),
    }
    return [write_edi(tmp_path, t, name) for name, t in texts.items()]


def test_grouped_tokens_equal_file_by_file(tmp_path):
    files = _loaded(_awkward_files(tmp_path))
    assert len(files) == 6
    one_by_one = pl.concat([tokenize(f, i) for i, f in files])
    assert_frame_equal(tokenize_files(files), one_by_one)
    assert tokenize_files(files)["file_id"].unique().len() == 6


def test_grouped_tokens_equal_file_by_file_on_the_corpus(corpus):
    files = _loaded(sorted(p for p in corpus.rglob("*") if p.is_file()))
    assert len(files) > 50
    assert_frame_equal(tokenize_files(files), pl.concat([tokenize(f, i) for i, f in files]))


def test_grouped_pass_failure_falls_back_file_by_file(tmp_path, monkeypatch):
    paths = _awkward_files(tmp_path)
    expected = read_batch(paths)

    def broken_group(files):
        raise RuntimeError("grouped pass failed")

    real = engine.tokenize

    def broken_on_third(loaded, file_id):
        if file_id == 2:
            raise RuntimeError("tokenizer defect")
        return real(loaded, file_id)

    monkeypatch.setattr(engine, "tokenize_files", broken_group)
    assert_frame_equal(read_batch(paths).claims, expected.claims)
    monkeypatch.setattr(engine, "tokenize", broken_on_third)
    batch = read_batch(paths)
    status = batch.files["status"].to_list()
    assert status == ["parsed", "parsed", "unreadable", "parsed", "parsed", "parsed"]
    assert "tokenizer defect" in batch.files["error"][2]
    assert batch.claims.height == expected.claims.height - 1
    assert batch.load_findings.filter(pl.col("file_id") == 2)["rule"].to_list() == ["FILE001"]


def test_groups_are_cut_by_size(tmp_path, monkeypatch):
    paths = _awkward_files(tmp_path)
    sizes = []
    real = engine.tokenize_files
    monkeypatch.setattr(engine, "tokenize_files", lambda g: sizes.append(len(g)) or real(g))
    monkeypatch.setattr(engine, "GROUP_BYTES", 1)  # every file makes its own group
    single = read_batch(paths)
    assert sizes == [1] * 6
    sizes.clear()
    monkeypatch.setattr(engine, "GROUP_BYTES", 32 << 20)
    grouped = read_batch(paths)
    assert sizes == [6]
    assert_frame_equal(grouped.segments, single.segments)
    assert_frame_equal(grouped.claims, single.claims)


def test_segment_ids_keep_apart_across_groups(tmp_path, monkeypatch):
    # The files meet their IDs in different orders (file b has an extra segment early), and
    # each is tokenised as its own group: rows of one ID must never pick up another's.
    a = interchange(transaction(claim="A1"))
    b = [*a[:2], "XX*1", *a[2:]]
    paths = [write_edi(tmp_path, edi(a), "a.edi"), write_edi(tmp_path, edi(b), "b.edi"),
             write_edi(tmp_path, "  " + "~\n  ".join(b) + "~", "c.edi")]
    monkeypatch.setattr(engine, "GROUP_BYTES", 1)
    batch = read_batch(paths)
    split = batch.split_segments()
    for seg_id in split.ids():
        assert set(split.rows([seg_id])["seg_id"]) == {seg_id}
        assert set(split[seg_id]["seg_id"]) == {seg_id}
    assert batch.claims["claim_id"].to_list() == ["A1", "A1", "A1"]
    assert split.rows(["XX"]).height == 2


def test_corpus_tables_do_not_depend_on_grouping(corpus, monkeypatch):
    paths = sorted(p for p in corpus.rglob("*") if p.is_file())
    together = read_batch(paths)
    monkeypatch.setattr(engine, "GROUP_BYTES", 1)  # every file its own group
    apart = read_batch(paths)
    assert_frame_equal(apart.segments, together.segments)
    assert_frame_equal(apart.claims, together.claims)
    assert_frame_equal(apart.lines, together.lines)


def test_claim_table_failure_loses_only_the_file_at_fault(tmp_path, monkeypatch):
    from helpers import run_cli

    from validator.model import tables

    paths = [write_edi(tmp_path, edi(interchange(transaction(claim=c), isa13=f"00000000{i}")),
                       f"{c}.edi") for i, c in enumerate(("A1", "BOOM", "C3"), 1)]
    real = tables.claims

    def fragile(segs, txns, split=None):
        if segs.filter(pl.col("raw").str.contains("BOOM", literal=True)).height:
            raise ValueError("simulated table defect")
        return real(segs, txns, split)

    monkeypatch.setattr(tables, "claims", fragile)
    batch = read_batch(paths)
    assert batch.files["status"].to_list() == ["parsed", "unreadable", "parsed"]
    assert "simulated table defect" in batch.files["error"][1]
    assert batch.claims["claim_id"].to_list() == ["A1", "C3"]
    assert batch.lines["claim_key"].is_in(batch.claims["claim_key"].implode()).all()
    assert 1 not in batch.segments["file_id"].to_list()
    code, out, err = run_cli(["check", "--format", "json", "--no-ig", *map(str, paths)])
    assert code == 1 and "Traceback" not in err
    import json

    doc = json.loads(out)
    assert doc["summary"]["files_unreadable"] == 1
    assert [c["claim_id"] for c in doc["claims"]] == ["A1", "C3"]
    assert [f["rule"] for f in doc["findings"] if f["file"].endswith("BOOM.edi")] == ["FILE001"]


@pytest.mark.parametrize("fails_on", ["batch", "always"])
def test_claim_table_fallback_file_by_file(tmp_path, monkeypatch, fails_on):
    from validator.model import tables

    paths = [write_edi(tmp_path, edi(interchange(transaction(claim=c))), f"{c}.edi")
             for c in ("A1", "B2")]
    expected = read_batch(paths)
    real = tables.claims

    def fragile(segs, txns, split=None):
        if (fails_on == "always" and segs.height) or segs["file_id"].n_unique() > 1:
            raise ValueError("simulated table defect")
        return real(segs, txns, split)

    monkeypatch.setattr(tables, "claims", fragile)
    batch = read_batch(paths)
    if fails_on == "batch":  # only the whole batch trips it: file by file, nothing is lost
        assert batch.files["status"].to_list() == ["parsed", "parsed"]
        assert_frame_equal(batch.claims, expected.claims)
        assert_frame_equal(batch.lines, expected.lines)
    else:
        assert batch.files["status"].to_list() == ["unreadable", "unreadable"]
        assert batch.claims.height == 0 and batch.segments.height == 0
        assert batch.load_findings["rule"].to_list() == ["FILE001", "FILE001"]
