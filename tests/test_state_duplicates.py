"""``check --state`` keeps the keys of the claims a run passed, so DUP401/DUP402 name a claim
sent on an earlier night: expiry, a changed file, replacements, privacy of the key store,
chunked runs, a damaged store."""

from __future__ import annotations

import json
import os
import shutil
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from edi_builder import build, claim, subscriber
from helpers import SAMPLES, load_ruleset

from validator.cli import main
from validator.engine import Selection, check
from validator.output.json_report import chunks as json_chunks
from validator.rules.api import Context, RunOptions
from validator.rules.earlier import KEY_SCHEMA, EarlierClaims, empty_keys
from validator.tools import nightly

# PHI that must never reach the state files in clear.
MEMBER, LAST, FIRST, BIRTH = "ZQ98765432", "XANTHOPOULOS", "PERPETUA", "19710923"
SUB = subscriber(member=MEMBER, name=(LAST, FIRST), birth=BIRTH)


def _file(folder: Path, name: str, *claims: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(build("P", claims=list(claims), subscriber_segs=SUB))
    return path


def _night(state: Path, *inputs: Path, extra: tuple[str, ...] = ()) -> tuple[int, list[dict], str]:
    res = CliRunner().invoke(main, ["check", "--no-ig", *map(str, inputs), "--state", str(state),
                                    "--format", "json", *extra])
    assert "Traceback" not in res.stderr
    doc = json.loads(res.stdout) if res.stdout.startswith("{") else {"findings": []}
    dups = [f for f in doc["findings"] if f["rule"] in ("DUP401", "DUP402")]
    return res.exit_code, dups, res.stderr


def _store(state: Path) -> pl.DataFrame:
    return pl.read_parquet(state.with_name(state.name + nightly.KEYS_SUFFIX))


def _age(state: Path, days: int) -> None:
    """Make every stored key ``days`` days older (as if recorded on an earlier night)."""
    path = state.with_name(state.name + nightly.KEYS_SUFFIX)
    e = nightly.load_keys(path, 10_000, nightly._utc_today())
    keys = e.keys.with_columns(pl.col("sent") - timedelta(days=days))
    nightly.write_keys(path, EarlierClaims(e.salt, keys), 10_000)


def test_a_claim_id_sent_on_an_earlier_night_names_the_earlier_file(tmp_path):
    state = tmp_path / "state" / "validator.json"
    a = _file(tmp_path / "night1", "a.edi", claim("P", "PCN001"))
    assert _night(state, a.parent)[:2] == (0, [])
    _age(state, 2)
    sent = (nightly._utc_today() - timedelta(days=2)).isoformat()
    b = _file(tmp_path / "night2", "b.edi", claim("P", "PCN001"), claim("P", "PCN009", date="20240201"))
    code, dups, _ = _night(state, b.parent)
    assert code == 1 and [(f["rule"], f["claim_id"]) for f in dups] == [("DUP401", "PCN001")]
    msg = dups[0]["message"]
    assert f"claim ID PCN001 was already sent on {sent} in {os.path.realpath(a)}" in msg
    assert "(an earlier run)" in msg and dups[0]["severity"] == "error"
    # b.edi was held (an error): its claims are not "sent", a third night still names a.edi.
    assert set(_store(state)["path"]) == {os.path.realpath(a)}
    c = _file(tmp_path / "night3", "c.edi", claim("P", "PCN001"))
    assert os.path.realpath(a) in _night(state, c.parent)[1][0]["message"]


def test_a_probable_duplicate_of_an_earlier_night(tmp_path):
    state = tmp_path / "state.json"
    a = _file(tmp_path / "n1", "a.edi", claim("P", "PCN001"))
    _night(state, a)
    b = _file(tmp_path / "n2", "b.edi", claim("P", "PCN002"))
    code, dups, _ = _night(state, b)
    assert code == 0 and [(f["rule"], f["claim_id"]) for f in dups] == [("DUP402", "PCN002")]
    assert dups[0]["message"].startswith(
        f"probable duplicate of claim PCN001 sent on {nightly._utc_today().isoformat()} in "
        f"{os.path.realpath(a)} (an earlier run): same billing NPI")
    assert "(36415 99213)" in dups[0]["message"]  # the service codes
    # Another date of service is another encounter.
    c = _file(tmp_path / "n3", "c.edi", claim("P", "PCN003", date="20240301"))
    assert _night(state, c)[1] == []


def test_within_the_batch_and_earlier_nights_one_finding_per_claim(tmp_path):
    state = tmp_path / "state.json"
    _night(state, _file(tmp_path / "n1", "a.edi", claim("P", "PCN001")))
    n2 = tmp_path / "n2"
    _file(n2, "b.edi", claim("P", "PCN001"))
    _file(n2, "c.edi", claim("P", "PCN001"))
    _, dups, _ = _night(state, n2)
    assert [f["rule"] for f in dups] == ["DUP401", "DUP401"]  # both name a.edi, once each
    assert all("a.edi (an earlier run)" in f["message"] for f in dups)


def test_replacement_and_void_claims_are_not_duplicates_of_an_earlier_night(tmp_path):
    state = tmp_path / "state.json"
    _night(state, _file(tmp_path / "n1", "a.edi", claim("P", "PCN001")))
    for freq in ("7", "8"):
        fix = claim("P", "PCN001", clm=f"CLM*PCN001*150***11:B:{freq}*Y*A*Y*Y",
                    head=["REF*F8*PAYERICN0001"])
        b = _file(tmp_path / f"n{freq}", "b.edi", fix)
        assert _night(state, b)[1] == [], freq


def test_keys_expire_after_state_days(tmp_path):
    state = tmp_path / "state.json"
    _night(state, _file(tmp_path / "n1", "a.edi", claim("P", "PCN001")))
    _age(state, nightly.DEFAULT_STATE_DAYS)  # recorded 120 days ago: expired
    b = _file(tmp_path / "n2", "b.edi", claim("P", "PCN001"))
    assert _night(state, b, extra=("--state-days", "121"))[1] != []  # kept 121 days: still there
    assert _store(state).height == 1  # (b.edi held: not added)
    c = _file(tmp_path / "n3", "c.edi", claim("P", "PCN001"))
    code, dups, _ = _night(state, c)  # the default, 120 days
    assert (code, dups) == (0, [])
    store = _store(state)  # a.edi's key is dropped, c.edi's recorded
    assert store["path"].to_list() == [os.path.realpath(c)] * 1
    # --state-days 0: no keys are compared or kept.
    d = _file(tmp_path / "n4", "d.edi", claim("P", "PCN001"))
    assert _night(state, d, extra=("--state-days", "0"))[:2] == (0, [])
    assert not state.with_name(state.name + nightly.KEYS_SUFFIX).exists()


def test_a_changed_file_is_not_a_duplicate_of_its_earlier_version(tmp_path):
    state = tmp_path / "state.json"
    inbox = tmp_path / "inbox"
    a = _file(inbox, "a.edi", claim("P", "PCN001"))
    _night(state, inbox)
    _file(inbox, "a.edi", claim("P", "PCN001"), claim("P", "PCN002", date="20240301"))
    code, dups, _ = _night(state, inbox)  # re-checked: changed
    assert (code, dups) == (0, [])
    store = _store(state)  # the earlier version's keys are replaced by the new version's
    assert sorted(store["claim_id"]) == ["PCN001", "PCN002"]
    assert set(store["path"]) == {os.path.realpath(a)}
    # Another file with the same claim is still a duplicate of it.
    b = _file(tmp_path / "other", "b.edi", claim("P", "PCN002", date="20240301"))
    assert [f["rule"] for f in _night(state, b)[1]] == ["DUP401"]


def test_moved_files_are_remembered_where_they_went(tmp_path):
    """With --move-to, an exporter may write the same file name every night: a new file at
    that path is compared with the one moved away."""
    state, inbox, archive = tmp_path / "state.json", tmp_path / "inbox", tmp_path / "archive"
    _file(inbox, "daily.edi", claim("P", "PCN001"))
    code, _, _ = _night(state, inbox, extra=("--move-to", str(archive)))
    assert code == 0 and (archive / "ready" / "daily.edi").is_file()
    assert set(_store(state)["path"]) == {os.path.realpath(archive / "ready" / "daily.edi")}
    _file(inbox, "daily.edi", claim("P", "PCN001"))  # the same bytes again: checked
    code, dups, _ = _night(state, inbox, extra=("--move-to", str(archive)))
    assert code == 1 and str(archive / "ready" / "daily.edi") in dups[0]["message"]
    assert (archive / "held" / "daily.edi").is_file()


def test_the_state_files_hold_no_phi_in_clear(tmp_path):
    state = tmp_path / "state.json"
    _night(state, _file(tmp_path / "n1", "a.edi", claim("P", "PCN001")))
    keys = state.with_name(state.name + nightly.KEYS_SUFFIX)
    store = pl.read_parquet(keys)
    assert dict(store.schema) == KEY_SCHEMA and store["claim_id"].to_list() == ["PCN001"]
    text = store.with_columns(pl.all().cast(pl.String)).write_csv()  # every stored value
    meta = json.dumps(pl.read_parquet_metadata(keys))
    for phi in (MEMBER, LAST, FIRST, BIRTH, "1971-09-23"):
        for where in (state.read_bytes(), keys.read_bytes(), text.encode(), meta.encode()):
            assert phi.encode() not in where, phi
    assert keys.stat().st_mode & 0o077 == 0  # private to the owner


def test_the_hash_is_stable_and_salted(tmp_path):
    from validator.rules.earlier import digest

    s = pl.Series(["a\x1fb", None])
    assert digest(s, b"0" * 16).to_list() == digest(s, b"0" * 16).to_list()
    assert digest(s, b"0" * 16)[0] != digest(s, b"1" * 16)[0] and digest(s, b"0" * 16)[1] is None
    # A fixed value: BLAKE2b, not polars' hash (which may change between versions).
    assert digest(pl.Series(["PCN001"]), bytes(16))[0] == int.from_bytes(
        __import__("hashlib").blake2b(b"PCN001", key=bytes(16), digest_size=8).digest(), "big")


def test_a_chunked_night_equals_one_pass(tmp_path):
    first = tmp_path / "first.json"
    _night(first, _file(tmp_path / "n1", "a.edi", claim("P", "PCN001"), claim("P", "PCN005")))
    n2 = tmp_path / "n2"
    _file(n2, "b.edi", claim("P", "PCN001"))
    _file(n2, "c.edi", claim("P", "PCN002"), claim("P", "PCN003", date="20240301"))
    _file(n2, "d.edi", claim("P", "PCN003", date="20240301"))
    got = []
    for chunk in ("0", "1"):
        state = tmp_path / f"s{chunk}.json"
        shutil.copy(first, state)
        shutil.copy(first.with_name(first.name + nightly.KEYS_SUFFIX),
                    state.with_name(state.name + nightly.KEYS_SUFFIX))
        got.append(_night(state, n2, extra=("--chunk-size", chunk))[:2])
    assert got[0] == got[1]
    assert sorted((f["rule"], f["claim_id"]) for f in got[0][1]) == [
        ("DUP401", "PCN001"), ("DUP401", "PCN003"), ("DUP402", "PCN002")]
    stores = [_store(tmp_path / f"s{chunk}.json").sort("claim_id", "path") for chunk in "01"]
    assert stores[0].height >= 2 and stores[0].equals(stores[1])


def test_a_night_in_units_keeps_only_the_claims_keys(tmp_path):
    """A ``--state`` run in units no longer reads every claim for DUP401/DUP402: each unit's
    claims are hashed as they come, those an earlier run passed are read with those the
    batch shares a key with, and the record of the claims passed is made from the hashes.
    Findings, JSON and record equal a single pass."""
    import sys

    from helpers import REPO

    from validator.rules.generic.duplicates import claim_keys

    sys.path.insert(0, str(REPO))
    from bench.generate import write

    path = tmp_path / "today.837"
    write("P", 600, str(path), seed=11, claims_per_st=40)
    rs, salt = load_ruleset(), bytes(range(16))
    one = check([path], rs, Selection.build(rs), RunOptions(chunk_bytes=0))
    mine = claim_keys(Context(one.batch, rs), salt)
    some = mine.filter(pl.col("claim_key") % 7 == 0)  # sent before, from another file
    earlier = EarlierClaims(salt, some.select(
        "id_key", "dup_key", "claim_id", path=pl.lit("/elsewhere/old.837").cast(pl.Categorical),
        sent=pl.lit(nightly._utc_today() - timedelta(days=3))))

    def night(chunk: int):
        r = check([path], rs, Selection.build(rs), RunOptions(chunk_bytes=chunk, earlier=earlier))
        doc = {k: v for k, v in json.loads(b"".join(json_chunks(r))).items() if k != "run"}
        return r, doc

    whole, whole_doc = night(0)
    units, units_doc = night(30_000)
    assert units.store is not None and len(units.store.parts) > 3
    assert units_doc == whole_doc
    dups = [f for f in units_doc["findings"] if f["rule"] in ("DUP401", "DUP402")]
    named = [f for f in dups if "old.837" in f["message"]]  # (replacements and voids aside)
    assert 0.9 * some.height <= len(named) <= some.height
    assert set(units.claims.columns) <= {"claim_key", "file_id", "st_key", "status"}
    assert units.state_keys is not None and whole.state_keys is None
    assert units.state_keys.sort("claim_key").equals(
        mine.select("claim_key", "file_id", "id_key", "dup_key").sort("claim_key"))
    ids = [0]
    cols = ["claim_key", "file_id", "id_key", "dup_key", "claim_id"]
    recorded = [nightly._passed_keys(r, salt, ids).select(cols).sort("claim_key")
                for r in (whole, units)]
    assert recorded[0].height == mine.height and recorded[1].equals(recorded[0])


def test_without_earlier_keys_the_findings_are_unchanged(tmp_path):
    rs = load_ruleset()
    resent = tmp_path / "resent.edi"  # a file sent twice: in-batch DUP401s
    shutil.copy(SAMPLES / "clean-837p.edi", resent)
    twice = _file(tmp_path, "twice.edi", claim("P", "A1"), claim("P", "A2"))  # a DUP402
    paths = [*sorted(SAMPLES.glob("*.edi")), resent, twice]

    def report(options: RunOptions) -> dict:
        r = check(paths, rs, Selection.build(rs), options)
        return {k: v for k, v in json.loads(b"".join(json_chunks(r))).items() if k != "run"}

    plain = report(RunOptions())
    assert {"DUP401", "DUP402"} <= {f["rule"] for f in plain["findings"]}
    assert report(RunOptions(earlier=EarlierClaims(bytes(16), empty_keys()))) == plain
    other = pl.DataFrame({"id_key": [1], "dup_key": [2], "claim_id": ["X"], "path": ["/x.edi"],
                          "sent": [nightly._utc_today()]}, schema=KEY_SCHEMA)
    assert report(RunOptions(earlier=EarlierClaims(bytes(16), other))) == plain


@pytest.mark.parametrize("content", [b"not parquet at all", b"PAR1" + b"\0" * 20])
def test_a_damaged_key_store_is_a_usage_error(tmp_path, content):
    state = tmp_path / "state.json"
    a = _file(tmp_path / "n1", "a.edi", claim("P", "PCN001"))
    state.with_name(state.name + nightly.KEYS_SUFFIX).write_bytes(content)
    code, _, err = _night(state, a)
    assert code == 2 and "cannot read the claim key store" in err and "move it away" in err
    # A store of other columns too.
    pl.DataFrame({"x": [1]}).write_parquet(state.with_name(state.name + nightly.KEYS_SUFFIX),
                                           metadata={"claims_validator_key_salt": "00" * 16})
    code, _, err = _night(state, a)
    assert code == 2 and "unexpected columns" in err


def test_a_missing_key_store_is_empty_and_state_days_needs_state(tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"version": 1, "files": {}}')
    a = _file(tmp_path / "n1", "a.edi", claim("P", "PCN001"))
    assert _night(state, a)[:2] == (0, [])
    assert _store(state).height == 1
    res = CliRunner().invoke(main, ["check", "--no-ig", str(a), "--state-days", "5"])
    assert res.exit_code == 2 and "needs --state" in res.stderr
