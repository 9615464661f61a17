"""``split``: each input's claims cut into a ready and a held 837, nothing lost or invented.

Every split here is verified the same way (:func:`verify`): the manifest lists each input
claim exactly once; each output is recounted independently (HL parent chain and HL04,
SE01/GE01/IEA01, header and trailer control numbers), holds exactly the claims the
manifest gives it, each byte for byte as in the input, and the ENV rules find nothing
wrong with its counts or control numbers; the ready and held outputs of an input never
share an ISA13.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from edi_builder import (
    billing,
    build_multi,
    claim,
    edi,
    header,
    hierarchy,
    interchange,
    isa,
    npi,
    patient,
    subscriber,
    transaction,
)
from helpers import SAMPLE_CLAIMS, SAMPLES, check_files, run_cli, write_edi

from validator.engine.read import read_segments
from validator.tools.split import output_names
from validator.x12.load import ELEM
from validator.x12.spans import locate

COUNT_RULES = ("ENV110", "ENV111", "ENV120", "ENV121", "ENV130", "ENV131")
# A structure no count can be right in: a malformed ISA, a missing or stray trailer, a
# segment that is not one (inputs broken at random keep these).
BROKEN = ("ENV100", "ENV112", "ENV122", "ENV132", "ENV150", "ENV151", "ENV152", "ENV153")


def split(out: Path, *args: str) -> tuple[int, str]:
    code, _, err = run_cli(["split", *map(str, args), "--out", str(out)])
    return code, err


def manifest(out: Path) -> pl.DataFrame:
    return pl.read_csv(out / "split-manifest.csv", infer_schema_length=0).with_columns(
        pl.col("segment_index", "output_segment_index").cast(pl.Int64))


def elements(path: Path) -> list[list[str]]:
    spans = locate(path)
    return [spans.canonical(i).split(ELEM) for i in range(1, len(spans) + 1)]


def recount(path: Path, strict: bool = True) -> None:
    """An independent check of an output's structure. ``strict``: every HL's parent and
    claims are in place (true of an output whose input was well formed); otherwise the HL
    checks skip a set whose HLs kept the input's numbers (a hierarchy that could not be
    followed) and the counts and control numbers are checked wherever a header opens."""
    isa13 = gs06 = st02 = None
    groups = sets = n = 0
    hls: list[list[str]] = []  # the current set's HL segments (padded)
    claims_under: Counter[str] = Counter()
    open_st = open_gs = False  # (a broken input's trailer may stand outside its header)
    for el in elements(path):
        sid, size = el[0], len(el)
        el = el + [""] * (17 - size)  # (a broken input's short segment)
        n += 1
        if sid == "ISA":  # (a malformed ISA, ENV100, keeps its IEA02)
            isa13, groups, open_gs, open_st = el[13] if size == 17 else None, 0, False, False
        elif sid == "GS":
            gs06, sets, groups, open_gs, open_st = el[6], 0, groups + 1, True, False
        elif sid == "ST":
            st02, n, sets, open_st = el[2], 1, sets + 1, True
            hls, claims_under = [], Counter()
        elif sid == "HL" and open_st:
            hls.append([*el[:5], str(size)])
        elif sid == "CLM" and open_st:
            claims_under[hls[-1][1] if hls else ""] += 1
        elif sid == "SE" and open_st:
            open_st = False
            assert el[1] == str(n), f"{path}: SE01 {el[1]} for {n} segments"
            assert el[2] == st02.rstrip(), path
            _check_hls(path, hls, claims_under, strict)
        elif sid == "GE" and open_gs:
            open_gs = open_st = False
            assert (el[1], el[2]) == (str(sets), gs06.rstrip()), path
        elif sid == "IEA":
            open_gs = open_st = False
            assert (el[1], el[2] if isa13 else None) == (str(groups), isa13 and isa13.rstrip()), path


def _check_hls(path: Path, hls: list[list[str]], claims: Counter, strict: bool) -> None:
    """HL01 from 1, HL02 an earlier HL, HL04 whether children follow, every HL leading to
    a claim; a 2300 loop under a subscriber or patient HL."""
    if not strict and [h[1] for h in hls] != [str(k) for k in range(1, len(hls) + 1)]:
        return  # kept as in the input
    seen: dict[str, str] = {}
    children: Counter[str] = Counter()
    for _, hl01, hl02, hl03, _hl04, _size in hls:
        assert hl01 == str(len(seen) + 1), f"{path}: HL01 {hl01} out of sequence"
        if hl02:
            assert hl02 in seen, f"{path}: HL02 {hl02} names no earlier HL"
            children[hl02] += 1
        else:
            assert hl03 == "20" or not strict, f"{path}: HL {hl01} without parent"
        seen[hl01] = hl03
    for _, hl01, _, hl03, hl04, size in hls:
        if int(size) > 4:
            assert hl04 == ("1" if children[hl01] else "0"), f"{path}: HL04 of HL {hl01}"
        if strict:
            assert children[hl01] or claims[hl01], f"{path}: HL {hl01} holds no claim"
            assert not claims[hl01] or hl03 in ("22", "23"), path


def claim_segments(path: Path) -> dict[int, list[bytes]]:
    """The segments (as written) of each claim of a file, by the CLM's seg_index."""
    spans = locate(path)
    segs = read_segments([path]).segments.filter(pl.col("clm_key").is_not_null())
    out: dict[int, list[bytes]] = {}
    for _, rows in segs.group_by("clm_key", maintain_order=True):
        ix = rows["seg_index"].to_list()
        out[ix[0]] = [spans.raw(i) for i in ix]
    return out


def verify(out: Path, inputs: list[Path], *, env_clean: bool = True) -> pl.DataFrame:
    """Everything a split must hold (see the module's docstring); returns the manifest."""
    m = manifest(out)
    claims = m.filter(pl.col("claim_id").is_not_null() | pl.col("note").is_null()).filter(
        pl.col("destination") != "unreadable")
    for p in inputs:
        mine = claims.filter(pl.col("input") == str(p))
        theirs = claim_segments(p)
        assert sorted(mine["segment_index"].to_list()) == sorted(theirs), p  # each once
        outputs: dict[str, dict[int, list[bytes]]] = {}
        isa13s: dict[str, set[str]] = {}
        for dest, target, ix, oix in mine.select("destination", "output", "segment_index",
                                                 "output_segment_index").iter_rows():
            if target not in outputs:
                outputs[target] = claim_segments(Path(target))
            assert outputs[target][oix] == theirs[ix], (p, ix, target)  # byte for byte
            isa13s.setdefault(dest, set())
        for target, got in outputs.items():
            assert len(got) == mine.filter(pl.col("output") == target).height  # none invented
            isa13s[Path(target).relative_to(out).parts[0]] = {
                el[13] for el in elements(Path(target)) if el[0] == "ISA" and len(el) > 13}
        assert not (isa13s.get("ready", set()) & isa13s.get("held", set())), p
    written = sorted(str(f) for d in ("ready", "held") if (out / d).is_dir()
                     for f in (out / d).rglob("*") if f.is_file())
    assert written == sorted(set(m["output"].drop_nulls().to_list()))
    for target in written:
        recount(Path(target), strict=env_clean)
    if written:
        found = check_files(*map(Path, written)).findings
        if not env_clean:  # counts and control numbers right wherever the structure is whole
            broken = found.filter(pl.col("rule").is_in(BROKEN) | pl.col("rule").str.starts_with(
                "FILE"))["file_id"].unique().to_list()
            found = found.filter(pl.col("rule").is_in(COUNT_RULES) & ~pl.col("file_id").is_in(
                broken))
        assert found.height == 0, found.select("rule", "message").rows()
    return m


# -- sample files and the corpus ---------------------------------------------------------

def test_samples(tmp_path):
    out = tmp_path / "out"
    code, err = split(out, SAMPLES)
    assert code == 1  # the KP scenario files hold claims with errors
    m = verify(out, sorted(SAMPLES.glob("*.edi")))
    assert m.height == SAMPLE_CLAIMS
    counts = dict(m.group_by("destination").len().rows())
    assert counts == {"ready": 58, "held": 25}
    assert f"{SAMPLE_CLAIMS} claims: 58 ready, 25 held" in err
    assert m.filter(pl.col("destination") == "held")["rules"].null_count() == 0
    assert m.filter(pl.col("destination") == "ready")["rules"].null_count() == 58
    for name in ("clean-837p.edi", "clean-837i.edi", "clean-837d.edi"):  # nothing to cut
        assert (out / "ready" / name).read_bytes() == (SAMPLES / name).read_bytes()
        assert not (out / "held" / name).exists()
    # Checking ready/ again: nothing at or above --fail-on.
    code, _, _ = run_cli(["check", str(out / "ready"), "--format", "json", "-q"])
    assert code == 0
    held = json.loads(run_cli(["check", str(out / "held"), "--format", "json", "-q"])[1])
    assert held["summary"]["claims"] == held["summary"]["claims_with_errors"] == 25


def test_fail_on_warning_holds_more(tmp_path):
    out = tmp_path / "out"
    assert split(out, SAMPLES, "--fail-on", "warning")[0] == 1
    m = verify(out, sorted(SAMPLES.glob("*.edi")))
    assert dict(m.group_by("destination").len().rows()) == {"ready": 46, "held": 37}
    code, _, _ = run_cli(["check", str(out / "ready"), "--fail-on", "warning", "--format",
                          "json", "-q"])
    assert code == 0


def test_fail_on_never_holds_nothing(tmp_path):
    out = tmp_path / "out"
    assert split(out, SAMPLES, "--fail-on", "never")[0] == 0
    m = verify(out, sorted(SAMPLES.glob("*.edi")), env_clean=True)
    assert set(m["destination"]) == {"ready"}
    for f in SAMPLES.glob("*.edi"):  # all ready: each output is its input, unchanged
        assert (out / "ready" / f.name).read_bytes() == f.read_bytes()


def _corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix not in (".tsv", ".md")
                  and "LICENSE" not in p.name and not p.name.startswith(("README", ".")))


@pytest.mark.parametrize("fail_on", ["error", "never"])
def test_corpus(tmp_path, corpus, fail_on):
    out = tmp_path / "out"
    code, err = split(out, corpus, "--fail-on", fail_on)
    assert code in (0, 1), err
    files = _corpus_files(corpus)
    m = verify(out, files, env_clean=False)
    totals = json.loads((out / "split-manifest.json").read_text())["totals"]
    assert totals["files"] == len(files)
    assert totals["claims"] == totals["ready"] + totals["held"] == m.filter(
        pl.col("claim_id").is_not_null()).height
    # Outputs keep their inputs' names (below the folder) and, all ready, their bytes
    # wherever the input's counts and HL codes were right.
    if fail_on == "never":
        assert code == 0 and totals["held"] == 0
        same = sum((out / "ready" / f.relative_to(corpus)).read_bytes() == f.read_bytes()
                   for f in files)
        assert same >= 0.9 * len(files)


def test_chunked_run_splits_the_same(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    split(a, SAMPLES)
    split(b, SAMPLES, "--chunk-size", "1K")  # read in chunks: files are read again to cut
    for f in sorted((a / "ready").iterdir()) + sorted((a / "held").iterdir()):
        assert (b / f.relative_to(a)).read_bytes() == f.read_bytes()
    assert manifest(a).drop("output").equals(manifest(b).drop("output"))


# -- builder-made hierarchies -------------------------------------------------------------

def _p(pcn: str, bad: bool = False, date: str = "20240115") -> list[str]:
    return claim("P", pcn, total="999" if bad else "150", date=date)  # BAL301 when bad


def test_multi_provider_subscriber_patient(tmp_path):
    """Held claims under every level: providers, subscribers and patients left with no
    claims are dropped from an output, HLs renumbered and HL04 set to what remains."""
    bill2 = billing(name="OTHER CLINIC", npi=npi("111111111"))
    text = build_multi("P", [
        (billing(), [
            (subscriber(member="W1"), None, [_p("A1"), _p("A2", bad=True)]),
            (subscriber(member="W2", has_patient=True), patient(), [_p("A3", bad=True)]),
            (subscriber(member="W3", has_patient=True), patient(name=("ROE", "AL")),
             [_p("A4")]),
        ]),
        (bill2, [(subscriber(member="W4"), None, [_p("B1", bad=True), _p("B2", bad=True)])]),
        (billing(name="THIRD", npi=npi("122222222")), [
            (subscriber(member="W5"), None, [_p("C1")])]),
    ])
    f = write_edi(tmp_path, text)
    out = tmp_path / "out"
    assert split(out, f)[0] == 1
    m = verify(out, [f])
    dest = dict(m.select("claim_id", "destination").rows())
    assert dest == {"A1": "ready", "A2": "held", "A3": "held", "A4": "ready", "B1": "held",
                    "B2": "held", "C1": "ready"}
    assert set(m.filter(pl.col("destination") == "held")["rules"]) == {"BAL301"}
    ready = [e for e in elements(out / "ready" / f.name) if e[0] == "HL"]
    held = [e for e in elements(out / "held" / f.name) if e[0] == "HL"]
    # ready: provider 1 (W1, W3 + patient), provider 3 (W5); no OTHER CLINIC
    assert [e[1:] for e in ready] == [["1", "", "20", "1"], ["2", "1", "22", "0"],
                                      ["3", "1", "22", "1"], ["4", "3", "23", "0"],
                                      ["5", "", "20", "1"], ["6", "5", "22", "0"]]
    assert [e[1:] for e in held] == [["1", "", "20", "1"], ["2", "1", "22", "0"],
                                     ["3", "1", "22", "1"], ["4", "3", "23", "0"],
                                     ["5", "", "20", "1"], ["6", "5", "22", "0"]]
    assert "OTHER CLINIC" not in (out / "ready" / f.name).read_text()
    assert "THIRD" not in (out / "held" / f.name).read_text()
    code, _, _ = run_cli(["check", str(out / "ready"), "--format", "json", "-q"])
    assert code == 0


def _fuzz_file(rng: random.Random, n: int) -> tuple[str, dict[str, bool]]:
    """A random 837P: 1-2 interchanges of 1-2 groups of 1-2 sets, 1-3 providers each,
    1-3 subscribers each, some with patients, 1-3 claims each; some claims bad."""
    bad: dict[str, bool] = {}
    segs: list[str] = []
    k = 0
    for i in range(rng.randint(1, 2)):
        isa13 = f"{100 * n + 10 * i + 1:09d}"
        groups = rng.randint(1, 2)
        segs.append(isa(isa13))
        for g in range(1, groups + 1):
            n_sets = rng.randint(1, 2)
            segs.append(f"GS*HC*S01*R01*20250315*1200*{g}*X*005010X222A1")
            for s in range(1, n_sets + 1):
                providers = []
                for p in range(rng.randint(1, 3)):
                    subs = []
                    for _s in range(rng.randint(1, 3)):
                        claims = []
                        for _c in range(rng.randint(1, 3)):
                            k += 1
                            pcn = f"F{n}C{k}"
                            bad[pcn] = rng.random() < 0.4
                            claims.append(_p(pcn, bad[pcn], date=f"202401{k % 28 + 1:02d}"))
                        pat = patient(name=("KID", f"N{k}")) if rng.random() < 0.4 else None
                        subs.append((subscriber(member=f"M{n}X{k}", has_patient=pat is not None),
                                     pat, claims))
                    providers.append((billing(name=f"CLINIC {p}", npi=npi(f"1{p:08d}")), subs))
                body = [*header(f"B{i}{g}{s}"), *hierarchy(providers)]
                segs += transaction(f"{s:04d}", "005010X222A1", body)
            segs.append(f"GE*{n_sets}*{g}")
        segs.append(f"IEA*{groups}*{isa13}")
    return edi(segs), bad


@pytest.mark.parametrize("seed", range(6))
def test_fuzzed_hierarchies(tmp_path, seed):
    rng = random.Random(seed)
    files, expect = [], {}
    for n in range(3):
        text, bad = _fuzz_file(rng, 10 * seed + n)
        term = rng.choice([("~", "\n"), ("~", ""), ("'", "\r\n")])
        if term != ("~", "\n"):
            text = text.replace("~\n", term[0] + term[1])
        files.append(write_edi(tmp_path, text, f"f{n}.edi"))
        expect.update(bad)
    out = tmp_path / "out"
    code, err = split(out, *files, "--select", "BAL,ENV,FILE")
    assert code == (1 if any(expect.values()) else 0), err
    m = verify(out, files)
    got = {cid: d == "held" for cid, d in m.select("claim_id", "destination").rows()}
    assert got == expect
    # layout kept: each output ends and breaks lines as its input does
    for f in files:
        for d in ("ready", "held"):
            if (out / d / f.name).exists():
                got, src = (out / d / f.name).read_bytes(), f.read_bytes()
                assert got[-1:] == src[-1:]
                assert [got.count(x) > 0 for x in (b"\r\n", b"\n", b"'")] == [
                    src.count(x) > 0 for x in (b"\r\n", b"\n", b"'")]


def test_sets_and_groups_without_remaining_claims_are_dropped(tmp_path):
    body = lambda pcn, bad: [  # noqa: E731
        "BHT*0019*00*B1*20250101*1200*CH", "NM1*41*2*ACME*****46*A1", "PER*IC*D*TE*8005551212",
        "NM1*40*2*CH*****46*CH1", "HL*1**20*1", *billing(), "HL*2*1*22*0",
        *subscriber(member=f"M{pcn}"), *_p(pcn, bad)]
    segs = interchange(transaction("0001", body=body("G1", True)),
                       transaction("0002", body=body("G2", False)),
                       transaction("0003", body=body("G3", True)), isa13="000000777", gs06="77")
    f = write_edi(tmp_path, edi(segs))
    out = tmp_path / "out"
    split(out, f, "--held-control-number", "5000")
    verify(out, [f])
    ready, held = elements(out / "ready" / f.name), elements(out / "held" / f.name)
    assert [e[2] for e in ready if e[0] == "ST"] == ["0002"]
    assert [e[2] for e in held if e[0] == "ST"] == ["0001", "0003"]
    assert ready[0][13] == "000000777" and held[0][13] == "000005000"  # --held-control-number
    assert [e[6] for e in held if e[0] == "GS"] == ["5000"]
    m = manifest(out)
    assert set(m.filter(pl.col("destination") == "held")["isa13"]) == {"000005000"}
    assert set(m.filter(pl.col("destination") == "ready")["isa13"]) == {"000000777"}


def test_default_held_control_number_is_deterministic(tmp_path):
    f = write_edi(tmp_path, build_multi("P", [(billing(), [
        (subscriber(), None, [_p("A1"), _p("A2", bad=True)])])]))
    a, b = tmp_path / "a", tmp_path / "b"
    split(a, f)
    split(b, f)
    assert (a / "held" / f.name).read_bytes() == (b / "held" / f.name).read_bytes()
    isa = elements(a / "held" / f.name)[0][13]
    assert isa != elements(a / "ready" / f.name)[0][13] and len(isa) == 9 and isa.isdigit()


# -- pyx12 reads the outputs ---------------------------------------------------------------

def _ig(path: Path) -> Counter:
    from ig_helpers import ig_findings, run_json

    doc = run_json(str(path), "-j1")
    return Counter((f["ig_code"], f["segment_id"], f["element"], f["claim_id"])
                   for f in ig_findings(doc) if f["rule"] != "IG210")


def test_pyx12_finds_nothing_new_in_the_outputs(tmp_path):
    pytest.importorskip("pyx12")
    text = build_multi("P", [
        (billing(), [(subscriber(member="W1"), None, [_p("A1"), _p("A2", bad=True)]),
                     (subscriber(member="W2", has_patient=True), patient(), [_p("A3")])]),
        (billing(name="OTHER", npi=npi("111111111")), [
            (subscriber(member="W3"), None, [_p("B1", bad=True)])])])
    f = write_edi(tmp_path, text)
    out = tmp_path / "out"
    split(out, f, SAMPLES / "kp-837p-scenarios.edi")
    for src in (f, SAMPLES / "kp-837p-scenarios.edi"):
        before = _ig(src)
        after = _ig(out / "ready" / src.name) + _ig(out / "held" / src.name)
        assert after <= before, after - before


# -- command line ---------------------------------------------------------------------------

def test_existing_outputs_need_force(tmp_path):
    f = write_edi(tmp_path, build_multi("P", [(billing(), [
        (subscriber(), None, [_p("A1"), _p("A2", bad=True)])])]))
    out = tmp_path / "out"
    assert split(out, f)[0] == 1
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, err = split(out, f)
    assert code == 2 and "--force" in err and "exists" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # Fixed: all ready now. --force replaces the outputs, and the stale held file goes.
    f.write_text(f.read_text().replace("CLM*A2*999", "CLM*A2*150"))
    assert split(out, f, "--force")[0] == 0
    assert not (out / "held" / f.name).exists()
    assert set(manifest(out)["destination"]) == {"ready"}
    verify(out, [f])


def test_unreadable_input_is_listed(tmp_path):
    good = write_edi(tmp_path, build_multi("P", [(billing(), [(subscriber(), None, [_p("A1")])])]),
                     "good.edi")
    bad = write_edi(tmp_path, "this is not X12\n", "bad.edi")
    out = tmp_path / "out"
    code, _ = split(out, good, bad)
    assert code == 1  # an unreadable input needs attention
    m = manifest(out)
    row = m.filter(pl.col("input") == str(bad)).row(0, named=True)
    assert row["destination"] == "unreadable" and row["output"] is None
    assert "ISA" in row["note"]
    assert not (out / "ready" / "bad.edi").exists() and not (out / "held" / "bad.edi").exists()
    verify(out, [good])


def test_same_name_in_two_folders(tmp_path):
    text = build_multi("P", [(billing(), [(subscriber(), None, [_p("A1"), _p("A2", bad=True)])])])
    (tmp_path / "in" / "a").mkdir(parents=True)
    (tmp_path / "in" / "b").mkdir(parents=True)
    fa = write_edi(tmp_path / "in" / "a", text, "x.edi")
    other = text.replace("CLM*A1", "CLM*Z1").replace("000000001", "000000002")  # (ENV160)
    fb = write_edi(tmp_path / "in" / "b", other, "x.edi")
    out = tmp_path / "out"  # named one by one: the folder tells them apart
    split(out, fa, fb)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.edi")) == [
        "held/a/x.edi", "held/b/x.edi", "ready/a/x.edi", "ready/b/x.edi"]
    verify(out, [fa, fb])
    out2 = tmp_path / "out2"  # found in a folder: the path below it
    split(out2, tmp_path / "in")
    assert (out2 / "ready" / "b" / "x.edi").read_bytes() == (out / "ready" / "b" / "x.edi").read_bytes()
    assert output_names([Path("x.edi"), Path("x.edi.gz")], []) == {
        Path("x.edi"): Path("x.edi"), Path("x.edi.gz"): Path("x-2.edi")}


def test_help_and_options(tmp_path):
    code, out, _ = run_cli(["split", "--help"])
    assert code == 0
    for opt in ("--out", "--force", "--held-control-number", "--fail-on", "--ruleset",
                "--members", "--select", "--ignore", "--ig / --no-ig", "--ig-engine",
                "--exclude", "--min-age", "--chunk-size", "--log-format"):
        assert opt in out, opt
    code, _, err = run_cli(["split", str(SAMPLES), "--out", str(tmp_path), "--select", "NOPE"])
    assert code == 2 and "NOPE" in err
    assert not any(tmp_path.iterdir())


def test_gzip_input_and_output_folder_inside_the_inputs(tmp_path):
    import gzip

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    text = build_multi("P", [(billing(), [(subscriber(), None, [_p("A1"), _p("A2", bad=True)])])])
    (inbox / "x.edi.gz").write_bytes(gzip.compress(text.encode()))
    out = inbox / "outbox"  # inside the scanned folder: never read as input
    assert split(out, inbox)[0] == 1
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.edi")) == [
        "held/x.edi", "ready/x.edi"]
    assert split(out, inbox, "--force")[0] == 1  # the outputs are not read back
    assert manifest(out).height == 2


def test_never_writes_over_an_input(tmp_path):
    f = write_edi(tmp_path, build_multi("P", [(billing(), [
        (subscriber(), None, [_p("A1"), _p("A2", bad=True)])])]))
    out = tmp_path / "out"
    split(out, f)
    code, err = split(out, out / "held", "--force")  # held/x.edi is its own output
    assert code == 2 and "would overwrite an input" in err
    code, _ = split(tmp_path / "again", out / "held")  # into a new folder: all still held
    assert code == 1
    assert set(manifest(tmp_path / "again")["destination"]) == {"held"}


@pytest.mark.parametrize("fail_on", ["error", "never"])
def test_mutated_files(tmp_path, fail_on):
    """Real files broken at random (see test_fuzz): the split never fails, every claim the
    reader finds lands in exactly one output byte for byte, and no output has a wrong count
    or control number."""
    from test_fuzz import _mutate, _sources

    rng = random.Random(20261203)
    sources = _sources()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for k in range(40):
        src = rng.choice(sources)
        (inbox / f"m{k:03d}_{src.name}").write_bytes(_mutate(src.read_bytes(), rng))
    out = tmp_path / "out"
    code, err = split(out, inbox, "--no-ig", "--fail-on", fail_on)
    assert code in (0, 1) and "internal error" not in err, err
    m = manifest(out)
    readable = sorted(set(m.filter(pl.col("destination") != "unreadable")["input"]))
    verify(out, [Path(p) for p in readable], env_clean=False)
