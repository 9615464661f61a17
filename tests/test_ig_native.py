"""The native implementation-guide engine (``validator.rules.ig.native``), module by module.

pyx12 is the oracle throughout: the compiled tables against a fresh compile, the loop
assignment against pyx12's walker segment by segment, the element checks against pyx12's
``is_valid_errors`` on random segments, and each kind of finding against the pyx12 engine
on a small file made to raise it. (The corpus-wide and mutation-fuzzer comparisons live in
``test_ig_differential.py``.)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import itertools
import json
import random
import re
from pathlib import Path

import polars as pl
import pytest
from ig_helpers import I_SEGMENTS, P_SEGMENTS, index_of, replace, write

from validator.engine.read import read_batch
from validator.rules.ig.native import compile as C
from validator.rules.ig.native import guide, segcheck, walk
from validator.x12.load import COMP, ELEM

pytest.importorskip("pyx12")
import pyx12.map_if
import pyx12.params
import pyx12.segment

GUIDES = sorted(C.GUIDES)


# ---------------------------------------------------------------- the compiled data

def test_manifest_names_the_files_and_pyx12():
    man = guide.manifest()
    assert man["source"]["version"] == importlib.metadata.version("pyx12")
    assert set(man["guides"]) == set(GUIDES)
    for name, digest in man["files"].items():
        assert hashlib.sha256((guide.DATA_DIR / name).read_bytes()).hexdigest() == digest, name
    assert "John Holland" in (guide.DATA_DIR / C.LICENSE_NAME).read_text(encoding="utf-8")


def test_committed_data_equals_a_fresh_compile():
    files = C.build()
    for name, data in files.items():
        assert (guide.DATA_DIR / name).read_bytes() == data, f"{name}: run python -m {C.__name__}"


@pytest.mark.parametrize("vriic", GUIDES)
def test_table_entries_are_pyx12_walker_outcomes(vriic):
    """A sample of the loop-assignment table, recomputed with pyx12's walker."""
    data = guide.load(vriic).data
    rnd = random.Random(vriic)
    picks = [(rnd.randrange(len(data["starts"])), rnd.randrange(len(data["tokens"])))
             for _ in range(400)]
    fresh = C.outcomes_for(vriic, [(data["starts"][s], t) for s, t in picks])
    assert [data["outcomes"][data["table"][s][t]] for s, t in picks] == fresh


def test_guide_for_versions():
    assert guide.guide_for("005010X222A1") == "005010X222A1"
    assert guide.guide_for("005010X222A2") == "005010X222A1"  # errata: the guide's map
    assert guide.guide_for("005010X223A3") == "005010X223A2"
    assert guide.guide_for("005010X224A2") is None  # 837D: no map
    assert guide.guide_for("005010") is None and guide.guide_for(None) is None


# ---------------------------------------------------------------- loop assignment

def _pyx12_paths(block: str) -> list[str | None]:
    """Map node path per segment of one stand-alone interchange, from pyx12's walker."""
    import pyx12.params
    import pyx12.x12n_document

    from validator.rules.ig import worker

    worker._quiet_pyx12()
    worker.use_map_cache(True)  # as the pyx12 engine runs in this process
    text, _, _ = worker._translate([block])
    paths: list[str | None] = []
    pyx12.x12n_document.x12n_document(
        pyx12.params.params(), io.StringIO(text), None, None, fd_json=io.StringIO(),
        callback=lambda seg, src, node, valid: paths.append(node.get_path() if node else None))
    return paths


def _native_paths(files: list[Path]) -> dict[int, list[str]]:
    b = read_batch(files)
    out = {}
    txns = b.transactions.filter(pl.col("supported"))
    for st_key, version in txns.select("st_key", "version").iter_rows():
        g = guide.load(guide.guide_for(version))
        segs = b.segments.filter(pl.col("st_key") == st_key)
        w = walk.walk(g, walk.tokens(g, segs), [0])
        out[st_key] = [g.nodes[g.next_node[o]]["path"] for o in w.outcomes]
    return out


def _mutants(segs: list[str], seed: int, n: int) -> list[list[str]]:
    """Small structural mutants: delete, duplicate, move or swap segments in the set."""
    rnd = random.Random(seed)
    body = range(index_of(segs, "BHT"), index_of(segs, "SE*") - 1)
    out = []
    for _ in range(n):
        s = list(segs)
        i, j = rnd.choice(body), rnd.choice(body)
        op = rnd.choice(["delete", "duplicate", "move", "swap"])
        if op == "delete":
            del s[i]
        elif op == "duplicate":
            s.insert(i, s[i])
        elif op == "move":
            s.insert(j, s.pop(i))
        else:
            s[i], s[j] = s[j], s[i]
        out.append(s)
    return out


def test_loop_assignment_matches_pyx12(tmp_path):
    from validator.rules.ig import build

    files = [write(tmp_path / "p.837", P_SEGMENTS), write(tmp_path / "i.837", I_SEGMENTS)]
    for k, segs in enumerate(_mutants(P_SEGMENTS, 1, 40) + _mutants(I_SEGMENTS, 2, 40)):
        files.append(write(tmp_path / f"m{k}.837", segs))
    b = read_batch(files)
    txns = b.transactions.filter(pl.col("supported")).with_columns(
        map=pl.col("version").map_elements(guide.guide_for, return_dtype=pl.String))
    plan = build.plan(b.segments, txns, float("inf"))
    native = _native_paths(files)
    compared = 0
    for block, meta in zip(plan.chunks[0], plan.meta.iter_rows(named=True), strict=True):
        ref = _pyx12_paths(block)[2:2 + meta["n"]]
        assert ref == native[meta["st_key"]], meta
        compared += len(ref)
    assert compared > 2000


def test_loop_assignment_matches_pyx12_on_the_corpus(corpus):
    from validator.rules.ig import build

    rows = (corpus / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    files = [corpus / r.split("\t")[0] for r in rows if r.split("\t")[5] in ("837P", "837I")]
    b = read_batch(files)
    txns = b.transactions.filter(pl.col("supported")).with_columns(
        map=pl.col("version").map_elements(guide.guide_for, return_dtype=pl.String))
    plan = build.plan(b.segments, txns.filter(pl.col("map").is_not_null()), float("inf"))
    native = _native_paths(files)
    n = 0
    for block, meta in zip(plan.chunks[0], plan.meta.iter_rows(named=True), strict=True):
        assert _pyx12_paths(block)[2:2 + meta["n"]] == native[meta["st_key"]], meta
        n += meta["n"]
    assert n > 1500


def _token_streams(g: guide.Guide, rnd: random.Random, base: list[int]) -> list[list[int]]:
    """Token streams around a valid set's ``base``: edited (tokens deleted, repeated,
    swapped, replaced by random ones, unknown 0, CLM), cut or joined with others."""
    clm = [t for t, (seg_id, _) in enumerate(g.tokens) if seg_id == "CLM"]
    out = [list(base)]
    for _ in range(30):
        s = list(base)
        for _ in range(rnd.choice([1, 2, 5, 20])):
            i, j = rnd.randrange(len(s)), rnd.randrange(len(s))
            op = rnd.random()
            if op < 0.2:
                del s[i]
            elif op < 0.4:
                s.insert(i, s[i])
            elif op < 0.55:
                s[i], s[j] = s[j], s[i]
            elif op < 0.7:
                s.insert(i, rnd.choice(clm))
            elif op < 0.8:
                s[i] = 0
            else:
                s[i] = rnd.randrange(g.n_tokens)
        out.append(s)
    out.append([rnd.randrange(g.n_tokens) for _ in range(500)])  # noise
    out.append([rnd.choice(clm) for _ in range(50)])
    out.append(base[: len(base) // 2])  # a set cut short
    return out


@pytest.mark.parametrize("vriic", GUIDES)
def test_memoised_walk_equals_the_plain_walk(tmp_path, vriic):
    """The walk memoised over chunks (cut before each CLM) gives the token-by-token walk's
    outcomes and GE outcomes, on edited and random token streams, one set or many."""
    from bench.generate import generate

    g = guide.load(vriic)
    f = tmp_path / "gen.837"
    f.write_text(generate("P" if "X222" in vriic else "I", 40, seed=5, claims_per_st=20),
                 encoding="ascii")
    b = read_batch([f])
    segs = b.segments.filter(pl.col("st_key").is_not_null())
    toks = walk.tokens(g, segs)
    # the reader's _sid path and the seg_id path give the same tokens
    assert walk.tokens(g, segs.drop("_sid")).to_list() == toks.to_list()
    sets = [toks.filter(segs["st_key"] == k).to_list() for k in segs["st_key"].unique(
        maintain_order=True).to_list()]
    rnd = random.Random(vriic)
    streams = [s for base in sets for s in _token_streams(g, rnd, base)]
    for group in ([s] for s in streams):  # one set at a time, then all together
        _same_walk(g, group)
    for k in (2, 7, len(streams)):
        _same_walk(g, streams[:k])
        _same_walk(g, [*streams[-k:], *streams[:k]])  # the same chunks from other states


def _same_walk(g: guide.Guide, sets: list[list[int]]) -> None:
    sets = [s for s in sets if s]
    starts = list(itertools.accumulate([0, *map(len, sets[:-1])]))
    toks = pl.Series([t for s in sets for t in s], dtype=pl.UInt32)
    memo, plain = walk.walk(g, toks, starts), walk.walk_plain(g, toks, starts)
    assert memo.outcomes.tolist() == plain.outcomes.tolist()
    assert memo.ge == plain.ge and len(memo.ge) == len(sets)


def _token(vriic: str, raw: str) -> tuple:
    g = guide.load(vriic)
    segs = pl.DataFrame({"seg_id": [raw.split("*")[0]],
                         "raw": [raw.replace("*", ELEM).replace(":", COMP)]})
    return g.tokens[walk.tokens(g, segs).item()]


@pytest.mark.parametrize(("raw", "token"), [
    ("NM1*IL*1*DOE", ("NM1", "IL")),
    ("NM1*IL", ("NM1", "IL")),
    ("NM1*IL:", ("NM1", "IL")),  # pyx12 drops trailing empty components
    ("NM1*IL:X*1", ("NM1", None)),
    ("NM1*ZZ*1", ("NM1", None)),
    ("NM1", ("NM1", None)),
    ("HI*ABK:J069*ABF:R05", ("HI", "ABK")),  # a composite's first component
    ("HL*1**20*1", ("HL", "20")),  # HL03
    ("HL*123456*123455*22*0", ("HL", "22")),
    ("BHT*0019*00*X", ("BHT", "0019")),
    ("BHT*00190*00", ("BHT", None)),
    ("DTP*472*D8*20260101", ("DTP", "472")),
    ("N3*1 MAIN ST", ("N3", None)),
    ("ZZZ*1", (None, None)),
])
def test_tokens(raw, token):
    assert _token("005010X222A1", raw) == token


# ---------------------------------------------------------------- element checks

def _pyx12_errors(node, raw: str) -> list[tuple]:
    _, errs = node.is_valid_errors(pyx12.segment.Segment(raw, "\x1c", ELEM, COMP))
    out = []
    for e in errs:
        val = e.err_val.replace(COMP, ":") if e.err_val else e.err_val
        if e.map_node is None:
            out.append(("seg", "8", e.err_str.replace(COMP, ":"), val, None, None))
        elif e.map_node.parent.is_composite():
            out.append(("ele", e.err_cde, e.err_str, val, e.map_node.parent.seq, e.map_node.seq))
        else:
            out.append(("ele", e.err_cde, e.err_str, val, e.map_node.seq, None))
    return out


def _random_segment(g: guide.Guide, i: int, rnd: random.Random) -> str:
    chars = "ABCZ0129 -.ab!&'()+,/;?=%~@[]_{}|<>^`#$\t"

    def value(e: dict) -> str:
        k = rnd.random()
        if e["codes"] and k < 0.45:
            return rnd.choice([c for c in e["codes"] if c])
        if e["ext"] and k < 0.55:
            return rnd.choice(sorted(g.external[e["ext"]]))
        if k < 0.62:
            return ""
        if k < 0.70:
            return rnd.choice(["20240229", "20230229", "20241301", "17991231", "2024",
                               "20240101-20240131", "20240101-2024-01", "240101", "20240431"])
        if k < 0.75:
            return rnd.choice(["1200", "2400", "1260", "120059", "1200599", "12a0", "123"])
        if k < 0.85:
            return rnd.choice(["1", "-1", "1.5", ".5", "5.", "-", "12345678901234567890", "0"])
        n = rnd.choice([1, 2, 5, e["max"], e["max"] + 1, max(e["min"] - 1, 1)])
        v = "".join(rnd.choice(chars) for _ in range(n))
        return v + " " if rnd.random() < 0.1 else v

    els = []
    for kind, idx in g.nodes[i]["el"]:
        if kind == "e":
            els.append(value(g.elements[idx]) + (COMP + "X" if rnd.random() < 0.03 else ""))
        else:
            subs = [value(g.elements[s]) for s in g.composites[idx]["sub"]]
            els.append(COMP.join(subs[: rnd.randint(0, len(subs))] if rnd.random() < 0.5
                                 else subs))
    if rnd.random() < 0.05:
        els.append("EXTRA")
    if rnd.random() < 0.3:
        els = els[: rnd.randint(0, len(els))]
    return ELEM.join([g.nodes[i]["id"], *els])


@pytest.mark.parametrize("vriic", GUIDES)
def test_element_checks_match_pyx12(vriic):
    """Random segments for every segment node: the same errors (codes, messages, values,
    positions) as pyx12's ``is_valid_errors``; the accept patterns never pass a segment
    pyx12 finds errors in, and do pass some."""
    g = guide.load(vriic)
    nodes = list(pyx12.map_if.load_map_file(C.GUIDES[vriic], pyx12.params.params())
                 .loop_segment_iterator())
    seg_nodes = [i for i, n in enumerate(g.nodes) if n["k"] == "S" and n["id"] not in ("ISA",
                                                                                       "TA1")]
    rnd = random.Random(7)
    accepted = compared = 0
    for _ in range(6000):
        i = rnd.choice(seg_nodes)
        raw = _random_segment(g, i, rnd)
        try:
            ref = _pyx12_errors(nodes[i], raw)
        except (IndexError, ValueError):  # pyx12 crashes (see segcheck.validate)
            continue
        mine = [(e.level, e.reported, e.text, e.value, e.ele, e.sub)
                for e in segcheck.validate(g, i, raw)]
        assert sorted(map(str, mine)) == sorted(map(str, ref)), (nodes[i].get_path(), raw)
        pats = segcheck.accept_patterns(g, i)
        if pats is not None and all(re.search(p, raw) for p in pats):
            accepted += 1
            assert not ref, (nodes[i].get_path(), raw)
        compared += 1
    assert compared > 5000 and accepted > 100


@pytest.mark.parametrize("vriic", GUIDES)
def test_accept_patterns_compile_in_polars(vriic):
    g = guide.load(vriic)
    for i, n in enumerate(g.nodes):
        if n["k"] == "S" and n["id"] not in ("ISA", "TA1"):
            for p in segcheck.accept_patterns(g, i) or ():
                pl.select(pl.lit("x").str.contains(p))


def test_valid_segments_pass_the_accept_patterns(tmp_path):
    """The fast path takes (nearly) every segment of valid files."""
    from bench.generate import generate

    files = [write(tmp_path / "p.837", P_SEGMENTS), write(tmp_path / "i.837", I_SEGMENTS)]
    for kind in "PI":
        f = tmp_path / f"gen{kind}.837"
        f.write_text(generate(kind, 300, seed=3), encoding="ascii")
        files.append(f)
    b = read_batch(files)
    slow = total = 0
    for st_key, version in b.transactions.select("st_key", "version").iter_rows():
        g = guide.load(guide.guide_for(version))
        segs = b.segments.filter(pl.col("st_key") == st_key)
        w = walk.walk(g, walk.tokens(g, segs), [0])
        for o, raw in zip(w.outcomes, segs["raw"].to_list(), strict=True):
            node = g.next_node[o]
            if o >= g.nf_base or node in (g.st, g.se):
                continue
            total += 1
            assert not segcheck.validate(g, node, raw), raw
            pats = segcheck.accept_patterns(g, node)
            slow += not (pats and all(re.search(p, raw) for p in pats))
    assert total > 5000 and slow <= total // 500


# ---------------------------------------------------------------- findings, kind by kind

def _findings(paths: list[Path], engine: str) -> list[dict]:
    from helpers import load_ruleset

    from validator.engine import Selection, check
    from validator.rules.api import RunOptions

    res = check(paths, load_ruleset(), Selection(select=["IG"]),
                RunOptions(ig=True, ig_engine=engine, jobs=1))
    assert not res.failed, res.failed
    keep = ("segment_index", "segment_id", "element", "loop", "ig_code", "rule", "message",
            "found", "claim_key", "st_key")
    return sorted((f for f in res.findings.select(keep).iter_rows(named=True)), key=str)


def _both(tmp_path: Path, segs: list[str], name: str = "t.837") -> list[dict]:
    """The native engine's findings, asserted equal (every field) to pyx12's."""
    path = write(tmp_path / name, segs)
    native = _findings([path], "native")
    assert native == _findings([path], "pyx12")
    return native


def _codes(found: list[dict]) -> set[tuple]:
    return {(f["ig_code"], f["segment_id"], f["element"], f["loop"]) for f in found}


P, I = P_SEGMENTS, I_SEGMENTS  # noqa: E741


def _insert(segs: list[str], before: str, *new: str, nth: int = 1) -> list[str]:
    """Copy of ``segs`` with ``new`` inserted before the nth segment starting with ``before``."""
    i = index_of(segs, before, nth) - 1
    return [*segs[:i], *new, *segs[i:]]


def _drop(segs: list[str], *prefixes: str) -> list[str]:
    return [s for s in segs if not s.startswith(prefixes)]


@pytest.mark.parametrize("segs", [P, I], ids=["837P", "837I"])
def test_clean_files_have_no_findings(tmp_path, segs):
    assert _both(tmp_path, segs) == []


CASES = {
    # the walk
    "not found": (_insert(P, "NM1*40", "ZZZ*1"), {("IK304-1", "ZZZ", None, "1000A")}),
    "required segment missing": (replace(P, "N4*RENO*NV*895022202", None),
                                 {("IK304-3", "REF", None, "2010AA")}),
    "required loop missing, same position": (
        _drop(P, "NM1*IL", "N3*12 ELM", "N4*RENO*NV*895021234", "DMG"),
        {("IK304-3", "CLM", None, "2300")}),
    "out of order": (_insert(replace(P, "N4*RENO*NV*895022202", None), "HL*2",
                             "N4*RENO*NV*895022202"),
                     {("IK304-1", "N4", None, "2010AA"), ("IK304-3", "REF", None, "2010AA")}),
    "segment over its max use": (_insert(P, "N4*RENO*NV*895022202", "N3*1090 MAPLE DR"),
                                 {("IK304-5", "N3", None, "2010AA")}),
    "loop over its repeat": (_insert(P, "HL*2", "NM1*87*2", "N3*X", "N4*A*NV*89502",
                                     "NM1*87*2", "N3*X", "N4*A*NV*89502"),
                             {("IK304-4", "NM1", None, "2010AB")}),
    # pyx12's reader
    "trailing separator": (replace(P, "N3*12 ELM ST", "N3*12 ELM ST*"),
                           {("IK304-SEG1", "N3", None, "2010BA")}),
    "empty segment": (replace(P, "N3*12 ELM ST", "N3*"), {("IK304-8", "N3", None, "2010BA")}),
    "invalid segment ID": (_insert(P, "NM1*40", "per*IC*EDI*TE*8005551212"),
                           {("IK304-1", "NM1", None, "1000B")}),
    "HL numbering": (replace(P, "HL*2*1*22*0", "HL*3*1*22*0"),
                     {("IK304-HL1", "HL", None, "2000B")}),
    "HL parent": (replace(P, "HL*2*1*22*0", "HL*2*5*22*0"), {("IK304-HL2", "HL", None, "2000B")}),
    "LX numbering": (replace(P, "LX*2", "LX*3"), {("IK304-LX", "LX", None, "2400")}),
    # elements
    "required element missing": (replace(P, "N4*RENO*NV*895022202", "N4**NV*895022202"),
                                 {("IK403-1", "N4", "N401", "2010AA")}),
    "too short": (replace(P, "N4*RENO*NV*895022202", "N4*RENO*NV*89"),
                  {("IK403-4", "N4", "N403", "2010AA")}),
    "too long": (replace(P, "NM1*85", "NM1*85*2*" + "C" * 61 + "*****XX*1234567893"),
                 {("IK403-5", "NM1", "NM103", "2010AA")}),
    "bad character": (replace(P, "CLM*PCLAIM001*150", "CLM*PCLAIM001*15O***11:B:1*Y*A*Y*Y"),
                      {("IK403-6", "CLM", "CLM02", "2300")}),
    "bad code": (replace(P, "DTP*472", "DTP*472*D9*20260115", 2),
                 {("IK403-7", "DTP", "DTP02", "2400")}),
    "bad date": (replace(P, "DTP*472", "DTP*472*D8*20260230", 2),
                 {("IK403-8", "DTP", "DTP03", "2400")}),
    "bad time": (_insert(I, "CL1*2", "DTP*435*DT*202601101260"),
                 {("IK403-8", "DTP", "DTP03", "2300")}),
    "not-used element": (replace(I, "CLM*ICLAIM001", "CLM*ICLAIM001*500***13:A:1*Y*A*Y*Y"),
                         {("IK403-10", "CLM", "CLM06", "2300")}),
    "composite component": (replace(P, "CLM*PCLAIM001", "CLM*PCLAIM001*150***11:X:1*Y*A*Y*Y"),
                            {("IK403-7", "CLM", "CLM05-2", "2300")}),
    "too many elements": (replace(P, "LX*2", "LX*2*9"), {("IK304-8", "LX", None, "2400")}),
    "syntax rule": (replace(P, "NM1*85", "NM1*85*2*CEDAR PARK CLINIC*****XX"),
                    {("IK304-8", "NM1", None, "2010AA")}),
    "837I ZIP pattern": (replace(I, "N4*RENO*NV*895022202", "N4*RENO*NV*89502"),
                         {("IK403-7", "N4", "N403", "2010AA")}),
}


@pytest.mark.parametrize("name", CASES)
def test_each_kind_of_finding_as_pyx12(tmp_path, name):
    segs, want = CASES[name]
    found = _both(tmp_path, segs)
    assert want <= _codes(found), found


def test_envelope_findings_as_pyx12(tmp_path):
    se = next(s for s in P if s.startswith("SE*"))
    bad_count = [s if not s.startswith("SE*") else "SE*99*0001" for s in P]
    path = tmp_path / "se.837"
    path.write_text("~\n".join(bad_count) + "~\n")
    native = _findings([path], "native")
    assert native == _findings([path], "pyx12")
    assert {f["ig_code"] for f in native} == {"IK502-4"}
    no_se = [s for s in P if s != se]
    found = _both(tmp_path, no_se, "no-se.837")
    assert {("AK905-3", "GS"), ("IK304-3", no_se[index_of(no_se, "GE") - 2].split("*")[0])} <= {
        (f["ig_code"], f["segment_id"]) for f in found}


def test_phi_is_masked(tmp_path):
    segs = replace(P, "NM1*IL", "NM1*IL*1*DOE*JANE****ZZ*MEMBER0001")
    found = _both(tmp_path, segs)
    f = next(f for f in found if f["element"] == "NM108")
    assert f["found"] == "***" and "ZZ" not in f["message"]


def test_pyx12_crash_cases_are_validated(tmp_path):
    """Where pyx12 raises (IG299), the native engine reports what it finds."""
    too_many = replace(P, "SV1*HC:99213", "SV1*HC:99213:::::::X*100*UN*1***1")
    found = _findings([write(tmp_path / "c.837", too_many)], "native")
    assert ("IK304-8", "SV1", None, "2400") in _codes(found)
    rd8 = replace(P, "DTP*472", "DTP*472*RD8*2026-01-01", 2)
    found = _findings([write(tmp_path / "d.837", rd8)], "native")
    assert ("IK403-8", "DTP", "DTP03", "2400") in _codes(found)


def test_notes_for_other_versions(tmp_path):
    errata = [s.replace("005010X222A1", "005010X222A2") for s in P]
    found = _both(tmp_path, errata, "a2.837")
    assert [f["rule"] for f in found] == ["IG211"]
    dental = [s.replace("005010X222A1", "005010X224A2") for s in P]
    found = _findings([write(tmp_path / "d.837", dental)], "native")
    assert [f["rule"] for f in found] == ["IG210"]


def test_several_sets_and_both_guides_in_one_batch(tmp_path):
    from ig_helpers import P_CLAIMS, ig_interchange

    two = ig_interchange("005010X222A1", P_CLAIMS, n_st=2)
    files = [write(tmp_path / "two.837", replace(two, "N4*RENO*NV*895022202", None, 2)),
             write(tmp_path / "i.837", replace(I, "DTP*472", "DTP*472*D8*20260230", 2))]
    native = _findings(files, "native")
    assert native == _findings(files, "pyx12")
    assert sorted(f["ig_code"] for f in native) == ["IK304-3", "IK403-8"]


def test_off_without_ig():
    from validator.rules.api import Context, RunOptions
    from validator.rules.ig.native.run import validate

    class _Batch:
        transactions = pl.DataFrame()

    assert validate(Context(_Batch(), None, RunOptions(ig=False))).height == 0


def test_data_files_are_json():
    for vriic in GUIDES:
        data = json.loads((guide.DATA_DIR / f"{vriic}.json").read_text(encoding="utf-8"))
        assert data["vriic"] == vriic and data["map"] == C.GUIDES[vriic]


def test_segment_loops_for_other_rules(tmp_path):
    from validator.rules.api import Context, RunOptions
    from validator.rules.ig.native.run import segment_loops

    b = read_batch([write(tmp_path / "p.837", P), write(tmp_path / "i.837", I)])
    loops = segment_loops(Context(b, None, RunOptions()))
    assert loops.height == b.segments.filter(pl.col("st_key").is_not_null()).height
    got = dict(zip(loops.filter(pl.col("file_id") == 0)["seg_index"].to_list(),
                   loops.filter(pl.col("file_id") == 0)["loop"].cast(pl.String).to_list(),
                   strict=True))
    for prefix, loop in [("HL*1", "2000A"), ("NM1*85", "2010AA"), ("NM1*IL", "2010BA"),
                         ("CLM", "2300"), ("LX", "2400"), ("SV1", "2400"), ("SE", "ST_LOOP")]:
        assert got[index_of(P, prefix)] == loop, prefix


@pytest.mark.parametrize("runs", [0, 1, 3, 30, 400])
def test_take_gives_the_filtered_rows(runs):
    """The segments of the sets to validate are taken as slices of the table (no copy) when
    they form a few runs, else filtered: the same rows either way."""
    from validator.rules.ig.native.run import _take

    rnd = random.Random(runs)
    keep = [False] * 1000
    for a in rnd.sample(range(0, 1000, 2), runs):  # runs of 1 or 2 rows, some touching
        keep[a:a + 2] = [True] * len(keep[a:a + 2])
    df = pl.DataFrame({"i": range(1000), "s": [f"x{i}" for i in range(1000)]})
    mask = pl.Series(keep, dtype=pl.Boolean).scatter([5], None)  # a null: not kept
    assert _take(df, mask).equals(df.filter(mask.fill_null(False)))
    assert _take(df, pl.Series([True] * 1000)).equals(df)
