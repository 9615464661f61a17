"""The claim store of a run in units (issue #18): parts on disk read back whole, by key or
a part at a time; what a batch rule with keys is given."""

from __future__ import annotations

import dataclasses
import gc
import logging

import polars as pl
import pytest
from edi_builder import build, claim
from helpers import load_ruleset, write_edi
from polars.testing import assert_frame_equal

from validator.engine import Selection, check
from validator.engine.claim_store import ClaimStore
from validator.rules.api import RunOptions, rule
from validator.rules.registry import discover


def _part(lo: int, n: int, **extra) -> pl.DataFrame:
    return pl.DataFrame({"claim_key": pl.Series(range(lo, lo + n), dtype=pl.UInt32),
                         "claim_id": [f"C{k}" for k in range(lo, lo + n)], **extra})


def test_parts_read_back_whole_by_key_and_one_at_a_time():
    store = ClaimStore()
    a, b = _part(0, 3, kp=[1, 2, 3]), _part(3, 2)  # b lacks the annotator's column
    store.add(a, notes=["kp"])
    store.add(b.head(0))  # an empty part adds nothing
    store.add(b)
    assert store.rows == 5 and list(store.schema) == ["claim_key", "claim_id", "kp"]
    whole = store.frame(["claim_key", "claim_id", "kp"])
    assert whole["kp"].to_list() == [1, 2, 3, None, None]
    assert whole.n_chunks() == 1
    keys = pl.Series([4, 1, 99, 1], dtype=pl.UInt32)
    assert store.frame(["claim_id"], keys)["claim_id"].to_list() == ["C1", "C4"]  # store order
    assert [(o, f.height) for o, f in store.iter(["kp"])] == [(0, 3), (3, 2)]
    assert store.frame(["kp"], pl.Series([], dtype=pl.UInt32)).height == 0
    assert store.empty(["claim_id", "nothing"]).schema == {"claim_id": pl.String,
                                                           "nothing": pl.Null}


def test_parts_live_in_a_temporary_folder_removed_with_the_store():
    store = ClaimStore()
    store.add(_part(0, 2))
    folder = store.parts[0].source.parent  # type: ignore[union-attr]
    assert folder.is_dir() and folder.name.startswith("claims-validator-")
    del store
    gc.collect()
    assert not folder.exists()


def test_without_a_temporary_folder_parts_stay_in_memory(monkeypatch, caplog):
    def no_folder(**_):
        raise OSError("disk full")

    monkeypatch.setattr("tempfile.mkdtemp", no_folder)
    monkeypatch.setattr(logging.getLogger("claims_validator"), "propagate", True)
    caplog.set_level(logging.WARNING, logger="claims_validator")
    store = ClaimStore()
    store.add(_part(0, 2))
    assert isinstance(store.parts[0].source, bytes)
    assert_frame_equal(store.frame(["claim_key", "claim_id"]), _part(0, 2))
    assert "kept in memory" in caplog.text


def _spied(tmp_path, with_keyless: bool):
    """Three files, each a unit; PCN1 in two of them. Spy batch rules record the claims
    they are given."""
    paths = [write_edi(tmp_path, build("P", claims=[claim("P", f"PCN{i}"), claim("P", x)]),
                       f"{n}.837") for n, (i, x) in enumerate([(1, "A"), (1, "B"), (9, "C")])]
    seen: dict[str, list[str]] = {}

    def spy(code):
        def check_fn(ctx):
            seen[code] = sorted(ctx.claims["claim_id"].to_list())
        return check_fn

    reg = dataclasses.replace(discover())  # (a copy: discover()'s registry is shared)
    reg.rules = dict(reg.rules)
    reg.rules["ZZZ901"] = rule("ZZZ901", "keyed spy", severity="info", snip=4, family="test",
                               batch=True, batch_keys=lambda: [
                                   pl.col("claim_id"), pl.col("claim_id") == "PCN9"]
                               )(spy("ZZZ901"))
    if with_keyless:
        reg.rules["ZZZ902"] = rule("ZZZ902", "spy", severity="info", snip=4, family="test",
                                   batch=True)(spy("ZZZ902"))
    rs = load_ruleset("kp-cigna")
    sel = Selection.build(rs, select=["ZZZ", "KP"])  # (the shipped batch rules have keys too)
    res = check(paths, rs, sel, RunOptions(chunk_bytes=1), registry=reg)
    return res, seen


def test_a_batch_rule_with_keys_reads_only_the_claims_they_select(tmp_path):
    res, seen = _spied(tmp_path, with_keyless=False)
    # PCN1 twice (a shared key), PCN9 (a true Boolean); A, B and C are left on disk
    assert seen["ZZZ901"] == ["PCN1", "PCN1", "PCN9"]
    assert res.claims.height == 6 and res.batch.lines.height == 0
    assert sorted(res.claim_frame(["claim_id"])["claim_id"]) == ["A", "B", "C", "PCN1",
                                                                 "PCN1", "PCN9"]


def test_a_batch_rule_without_keys_reads_every_claim(tmp_path):
    res, seen = _spied(tmp_path, with_keyless=True)
    assert seen["ZZZ901"] == seen["ZZZ902"] == ["A", "B", "C", "PCN1", "PCN1", "PCN9"]
    assert "total_charge" in res.batch.claims.columns  # (the whole claims, as before)


@pytest.mark.parametrize("code", ["DUP401", "DUP402", "CODE513", "ENV160"])
def test_shipped_batch_rules_have_keys(code):
    r = discover().get(code)
    assert r is not None and r.batch and r.batch_keys is not None


def test_json_array_written_from_parts_equals_the_whole():
    import json

    from validator.output.json_report import _array, _pieces

    df = pl.DataFrame({"a": range(50), "b": [str(i) for i in range(50)]})
    whole = b"".join(_pieces(df, {}, rows=7))
    parts = b"".join(_pieces(iter([df.slice(0, 10), df.slice(10, 0), df.slice(10, 40)]), {},
                             rows=7))
    assert parts == whole == _array(df)
    assert json.loads(parts) == df.to_dicts()
    assert b"".join(_pieces(iter([]), {})) == b"[]"


def test_candidates_share_a_non_null_key_or_have_a_true_flag():
    from validator.engine.units import _candidates

    keys = pl.DataFrame({
        "claim_key": pl.Series(range(7), dtype=pl.UInt32),
        "_k0": pl.Series([1, 2, 1, None, None, 0, 0], dtype=pl.UInt64),  # nulls never match
        "_k1": pl.Series([7, None, 8, 9, None, None, 5], dtype=pl.UInt64),
        "_k2": [False, False, False, False, True, None, False],
    })
    assert _candidates(keys).to_list() == [0, 2, 4, 5, 6]
    assert _candidates(keys.select("claim_key")).len() == 0
