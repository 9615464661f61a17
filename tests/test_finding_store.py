"""The finding store of a run in units (issue #18): parts on disk and loose findings read
back in one pass's order (run.finish: file, segment with a file's own findings first, rule;
ties in the order the sources gave them), whole or a slice at a time."""

from __future__ import annotations

import random

import polars as pl
import pytest
from helpers import REPO, load_ruleset
from polars.testing import assert_frame_equal

from validator.engine import Selection, check
from validator.engine.finding_store import TIE, FindingStore, tagged
from validator.engine.run import ORDER
from validator.rules import findings as F
from validator.rules.api import RunOptions


def _findings(rng: random.Random, n: int, file_id: int, segs: range, rules: list[str],
              extra: str | None = None) -> pl.DataFrame:
    rows = {"rule": [rng.choice(rules) for _ in range(n)],
            "severity": [rng.choice(["error", "warning", "info"]) for _ in range(n)],
            "file_id": [file_id] * n,
            "segment_index": [rng.choice([None, *segs]) if not segs.start else rng.choice(segs)
                              for _ in range(n)],
            "claim_key": [rng.randrange(50) for _ in range(n)],
            "message": [f"m{rng.randrange(1000)}" for _ in range(n)]}
    if extra:
        rows[extra] = [rng.random() for _ in range(n)]
    return F.conform(pl.DataFrame(rows))


@pytest.mark.parametrize("seed", range(6))
def test_parts_and_loose_findings_come_back_in_one_pass_order(seed):
    """Units cover disjoint ranges (whole files, or a file's pieces); loose findings (no
    segment, headers, late rules) fall anywhere: the store's order is that of a stable sort
    of everything concatenated by source, unit and row."""
    rng = random.Random(seed)
    rules = ["B1", "A2", "C3", "A1"]
    store, everything = FindingStore(), []
    ranges = [(0, range(1, 50)), (1, range(1, 40)), (1, range(40, 90)), (2, range(1, 30))]
    for unit, (file_id, segs) in enumerate(ranges):
        for src in (0, 1, 2):
            f = tagged(_findings(rng, rng.randrange(0, 30), file_id, segs, rules,
                                 extra="x" if src == 2 and unit == 1 else None), src, unit)
            everything.append(f)
            loose = pl.col("segment_index").is_null() | (pl.col("segment_index") < 3)
            store.add(f.filter(~loose), f.filter(loose))
    late = tagged(_findings(rng, 25, rng.randrange(3), range(0, 90), rules), 3)
    everything.append(late)
    store.close(F.concat([*store.loose, late]))
    expect = (F.concat(everything).sort(["_src", "_unit", "_row"])
              .sort(list(ORDER), nulls_last=False, maintain_order=True).drop(TIE))
    assert store.columns == [*F.SCHEMA, "x"]
    assert_frame_equal(store.frame(), expect.select(store.columns))
    sliced = pl.concat(list(store.slices(7)))
    assert_frame_equal(sliced, expect.select(store.columns))
    keys = store.keys(["file_id", "segment_index", "rule", "severity", "claim_key"])
    assert_frame_equal(keys, expect.select(keys.columns))
    assert store.worst() == F.worst(expect)


def test_rollback_forgets_the_parts_of_a_failed_file():
    rng = random.Random(1)
    store = FindingStore()
    first = tagged(_findings(rng, 5, 0, range(1, 9), ["A"]), 0, 0)
    store.add(first, first.head(0))
    mark = store.checkpoint()
    later = tagged(_findings(rng, 5, 1, range(1, 9), ["A"]), 0, 1)
    store.add(later.head(3), later.tail(2))
    store.rollback(mark)
    store.close(tagged(F.empty(), 0))
    assert store.height == 5
    assert_frame_equal(store.frame(), first.sort(list(ORDER), nulls_last=False,
                                                 maintain_order=True).drop(TIE))


def test_no_findings():
    store = FindingStore()
    store.close(tagged(F.empty(), 0))
    assert store.height == 0 and store.worst() == -1
    assert store.frame().columns == list(F.SCHEMA)
    assert list(store.slices(10)) == []


def test_a_run_in_units_reads_its_findings_from_disk(tmp_path):
    """A run in pieces keeps its findings in the store until they are asked for whole; the
    summary, the status of claims and the JSON read the index or slices only."""
    import sys

    sys.path.insert(0, str(REPO))
    from bench.generate import write

    path = tmp_path / "a.837"
    write("P", 400, str(path), seed=3, claims_per_st=40)
    rs = load_ruleset()
    one = check([path], rs, Selection.build(rs), RunOptions(chunk_bytes=0))
    units = check([path], rs, Selection.build(rs), RunOptions(chunk_bytes=20_000))
    assert units.finding_store is not None and units._findings is None
    assert len(units.finding_store.parts.parts) > 3 and one.findings.height > 50
    assert units.worst() == one.worst() and units.finding_count == one.findings.height
    assert units._findings is None  # (the index answered)
    keep = (pl.col("severity") == "error") & pl.col("segment_index").is_not_null()
    assert_frame_equal(units.findings_where(keep, rows=7), one.findings.filter(keep))
    assert units.findings_where(pl.col("rule") == "NONE").height == 0
    assert units._findings is None  # (read a slice at a time, not whole)
    assert_frame_equal(units.findings, one.findings)


def test_claim_status_a_slice_of_claims_at_a_time(monkeypatch):
    """Claims get their status a slice at a time: the same as all at once, whatever the
    slice (own findings, the transaction set's and the file's)."""
    from validator.engine import run

    rng = random.Random(5)
    n = 40
    claims = pl.DataFrame({"claim_key": range(n), "st_key": [k // 4 for k in range(n)],
                           "file_id": [k // 16 for k in range(n)]},
                          schema={"claim_key": pl.UInt32, "st_key": pl.UInt32,
                                  "file_id": pl.UInt32})
    rows = [(rng.choice([None, rng.randrange(n)]), rng.randrange(10), rng.randrange(3),
             rng.choice(["error", "warning", "info"])) for _ in range(25)]
    found = pl.DataFrame(
        [(c, None if c is None and rng.random() < .3 else s, f, sev) for c, s, f, sev in rows],
        schema={"claim_key": pl.UInt32, "st_key": pl.UInt32, "file_id": pl.UInt32,
                "severity": pl.String}, orient="row")
    whole = run.claim_status(claims, found)
    assert set(whole["status"]) == {"pass", "warning", "error"}
    for rows_at_a_time in (1, 7, n):
        monkeypatch.setattr(run, "STATUS_ROWS", rows_at_a_time)
        assert_frame_equal(run.claim_status(claims, found), whole)
    assert run.claim_status(claims.head(0), found)["status"].dtype == pl.String
