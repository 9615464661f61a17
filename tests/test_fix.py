"""``claims-validator fix``: each safe fix on builder-made files (the finding is gone and
nothing new appears on a re-check), idempotence, ``--diff``, untouched inputs, the audit
log and its PHI masking, refusals, exit codes, and the corpus."""

from __future__ import annotations

import gzip
import hashlib
import json
import stat
from pathlib import Path

import polars as pl
import pytest
from edi_builder import (
    CIGNA,
    KPIC,
    ClaimFields,
    build,
    build_multi,
    claim,
    claim_loop,
    edi,
    fields_edi,
    interchange,
    subscriber,
    sv1,
    transaction,
)
from helpers import load_ruleset, run_cli, write_edi

from tests.kp_helpers import NAMES, Scenario
from validator.engine import Selection, check
from validator.rules.api import RunOptions
from validator_kp.config import from_ruleset

RULESET = load_ruleset()
KP = from_ruleset(RULESET)


def findings(path: Path, **plugin) -> set[tuple[str, int | None]]:
    """``(rule, segment_index)`` of every finding of a check as the CLI runs it (IG on)."""
    r = check([path], RULESET, Selection.build(RULESET), RunOptions(ig=True, plugin=plugin))
    return set(zip(r.findings["rule"].to_list(), r.findings["segment_index"].to_list(),
                   strict=True))


def rules_of(found: set[tuple[str, int | None]]) -> set[str]:
    return {r for r, _ in found}


def kp_file(tmp_path: Path, *claims: ClaimFields, name: str = "kp.edi") -> Path:
    text = fields_edi(list(claims), "P", NAMES, isa13="000000123", gs06="7", bht03="FIXTEST")
    return write_edi(tmp_path, text, name)


def fix(tmp_path: Path, *paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, str, str, Path]:
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(["fix", *map(str, paths), "--out", str(out), *extra])
    return code, stdout, stderr, out


def log_rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "fix-log.jsonl").read_text().splitlines()]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_fixed(src: Path, fixed: Path, codes: set[str]) -> None:
    """``codes`` were found in ``src``, are gone from ``fixed``, and nothing new appeared."""
    before, after = findings(src), findings(fixed)
    assert codes <= rules_of(before), before
    assert not codes & rules_of(after), after
    assert after <= before, f"new findings: {after - before}"


def segments(path: Path) -> list[str]:
    return [s.strip() for s in path.read_text().split("~") if s.strip()]


# -- KP100 / KP101: the payer route -----------------------------------------------------------

def test_kp100_wrong_payer_id_gets_the_insured_route(tmp_path):
    src = kp_file(tmp_path, Scenario("FIX-KP100", set(), payer_id="12345",
                                     payer_name="KAISER", payer_address=("PO BOX 1", "OAKLAND",
                                                                         "CA", "94612")))
    code, _, _, out = fix(tmp_path, src)
    assert code == 0
    assert_fixed(src, out / src.name, {"KP100"})
    route = KP.routes["insured"]
    segs = segments(out / src.name)
    nm1 = next(s for s in segs if s.startswith("NM1*PR*"))
    assert nm1 == f"NM1*PR*2*{route.payer_name.upper()}*****PI*{route.payer_id}"
    at = segs.index(nm1)
    assert segs[at + 1] == f"N3*{route.address.upper()}"
    assert segs[at + 2] == f"N4*{route.city.upper()}*{route.state}*" + \
        "".join(c for c in route.zip if c.isdigit())
    rows = log_rows(out)
    assert {r["rule"] for r in rows} == {"KP100"} and len(rows) == 3
    assert all(r["claim"] == "FIX-KP100" and not r["masked"] for r in rows)


def test_kp100_self_funded_plan_gets_the_kpic_route(tmp_path):
    src = kp_file(tmp_path, Scenario("FIX-SF", set(), plan="KAISER NCAL HMO SELF-FUNDED"))
    code, *_, out = fix(tmp_path, src)
    assert code == 0
    assert_fixed(src, out / src.name, {"KP100"})
    route = KP.routes["self-funded"]
    text = (out / src.name).read_text()
    assert f"*PI*{route.payer_id}~" in text and route.address.upper() in text
    assert f"*PI*{KP.routes['insured'].payer_id}~" not in text


def test_kp101_address_only(tmp_path):
    src = kp_file(tmp_path, Scenario("FIX-KP101", set(),
                                     payer_address=("PO BOX 740800", "ATLANTA", "GA", "30374")))
    code, *_, out = fix(tmp_path, src)
    assert code == 0
    assert_fixed(src, out / src.name, {"KP101"})
    rows = log_rows(out)
    assert [r["segment_id"] for r in rows] == ["N3", "N4"] and {r["rule"] for r in rows} == {"KP101"}


@pytest.mark.parametrize("fields", [
    {"plan": "KAISER GA", "payer_id": "12345"},  # product unknown (KP160)
    {"plan": "KAISER POS", "payer_id": "12345"},  # POS tier unknown
    {"plan": "KAISER HMO", "payer_id": "12345"},  # region unknown (KP161)
    # insured only by default, sent to the self-funded payer ID: the sender may know better
    {"plan": "KAISER SCAL HMO", "payer_id": "94320", "payer_name": "KPIC", "payer_address": KPIC},
], ids=["no-product", "pos-tier", "no-region", "insured-by-default-to-94320"])
def test_kp_route_not_determined_is_not_fixed(tmp_path, fields):
    src = kp_file(tmp_path, Scenario("FIX-UNDETERMINED", set(), **fields))
    assert "KP100" in rules_of(findings(src))
    code, stdout, _ = run_cli(["fix", str(src), "--diff"])
    assert code == 0 and stdout == ""  # nothing to fix
    code, *_, out = fix(tmp_path, src)
    assert code == 1  # KP100 remains (an error without a safe fix)
    assert (out / src.name).read_bytes() == src.read_bytes() and log_rows(out) == []


def test_kp_roster_determines_the_route(tmp_path):
    """A roster row names product, region and funding: the claim's route is determined."""
    src = kp_file(tmp_path, Scenario("FIX-ROSTER", set(), plan="OPEN ACCESS PLUS",
                                     payer_name="CIGNA", payer_id="62308", member_id="RSTR9"))
    roster = tmp_path / "roster.csv"
    roster.write_text("member_id,product,region,funding\nRSTR9,PPO,NW,self-funded\n")
    code, *_, out = fix(tmp_path, src, extra=("--members", str(roster)))
    assert code == 0, log_rows(out)
    assert f"*PI*{KP.routes['self-funded'].payer_id}~" in (out / src.name).read_text()
    assert "KP100" not in rules_of(findings(out / src.name, members=str(roster)))


def _shared(tmp_path: Path, second_state: str) -> Path:
    """Two claims under one subscriber (one 2010BB payer loop) sent to payer ID 12345; the
    second claim's service facility is in ``second_state``."""
    sub = subscriber("SBR*P*18**KAISER NCAL HMO*****CI", payer=("KAISER", "12345"),
                     payer_address=CIGNA)
    city = {"CA": ("LOS ANGELES", "900120000"), "FL": ("MIAMI", "331110000")}[second_state]

    def one(pcn: str, state: str, city_zip: tuple[str, str]) -> list[str]:
        return claim_loop(f"CLM*{pcn}*100***23:B:1*Y*A*Y*Y", hi=["HI*ABK:R69"],
                          providers=["NM1*77*2*URGENT CARE*****XX*1234567893", "N3*1 CARE WAY",
                                     f"N4*{city_zip[0]}*{state}*{city_zip[1]}"],
                          lines=[[sv1("99283", 100), "DTP*472*D8*20230315"]])

    bill = ["NM1*85*2*CLINIC*****XX*1234567893", "N3*1 MAIN ST", "N4*MIAMI*FL*331110000",
            "REF*EI*123456789"]
    text = build_multi("P", [(bill, [(sub, None, [one("SHARED-A", "FL", ("MIAMI", "331110000")),
                                                  one("SHARED-B", second_state, city)])])])
    return write_edi(tmp_path, text, f"shared-{second_state}.edi")


def test_shared_subscriber_fixed_once_when_every_claim_needs_the_route(tmp_path):
    src = _shared(tmp_path, "FL")
    r = check([src], RULESET, Selection.build(RULESET), RunOptions())
    assert r.findings.filter(pl.col("rule") == "KP100").height == 2  # one per claim
    code, *_, out = fix(tmp_path, src)
    assert code == 0
    assert_fixed(src, out / src.name, {"KP100"})
    # one payer loop rewritten once (its N3/N4 already read as the route's: no edit)
    assert [r["segment_id"] for r in log_rows(out)] == ["NM1"]


def test_shared_subscriber_left_when_claims_need_different_routes(tmp_path):
    """The second claim's care is in a KP state (billed to Kaiser Permanente): one payer
    loop cannot serve both, so it is left as it is."""
    src = _shared(tmp_path, "CA")
    assert "KP100" in rules_of(findings(src))
    code, stdout, _ = run_cli(["fix", str(src), "--diff"])
    assert (code, stdout) == (0, "")


# -- CODE503: the ICD-10 dot ----------------------------------------------------------------

def test_icd10_dot_removed_in_one_edit_per_segment(tmp_path):
    src = write_edi(tmp_path, build("P", claims=[claim("P", hi="HI*ABK:J06.9*ABF:R50.9")]))
    code, *_, out = fix(tmp_path, src)
    assert code == 0
    assert_fixed(src, out / src.name, {"CODE503"})
    assert "HI*ABK:J069*ABF:R509~" in (out / src.name).read_text()
    rows = log_rows(out)
    assert len(rows) == 1 and rows[0]["old"] == "HI*ABK:J06.9*ABF:R50.9"
    assert rows[0]["new"] == "HI*ABK:J069*ABF:R509"


def test_icd10_misshapen_beyond_the_dot_is_left(tmp_path):
    src = write_edi(tmp_path, build("P", claims=[claim("P", hi="HI*ABK:j06.9*ABF:R50.9")]))
    code, *_, out = fix(tmp_path, src)
    assert code == 1  # j06.9 stays (lower case: not only the dot)
    text = (out / src.name).read_text()
    assert "HI*ABK:j06.9*ABF:R509~" in text


# -- ENV111 / ENV121 / ENV131: trailer counts ----------------------------------------------

def _envelope(se01: int | None = None, ge01: int = 1, iea01: int = 1, se02: str = "0001") -> str:
    segs = interchange(transaction(se01=se01))
    segs = [f"GE*{ge01}*1" if s.startswith("GE*") else f"IEA*{iea01}*000000001"
            if s.startswith("IEA*") else s for s in segs]
    if se02 != "0001":
        segs = [s.replace("SE*", "SE*", 1).rsplit("*", 1)[0] + f"*{se02}" if s.startswith("SE*")
                else s for s in segs]
    return edi(segs)


def test_trailer_counts_set_to_the_real_count(tmp_path):
    src = write_edi(tmp_path, _envelope(se01=40, ge01=3, iea01=2))
    code, *_, out = fix(tmp_path, src)
    assert code == 0
    assert_fixed(src, out / src.name, {"ENV111", "ENV121", "ENV131"})
    good = segments(write_edi(tmp_path, _envelope(), "good.edi"))
    assert segments(out / src.name) == good
    assert sorted(r["rule"] for r in log_rows(out)) == ["ENV111", "ENV121", "ENV131"]


def test_trailer_count_left_when_the_control_number_disagrees(tmp_path):
    src = write_edi(tmp_path, _envelope(se01=40, se02="0002"))
    assert {"ENV130", "ENV131"} <= rules_of(findings(src))
    code, stdout, _ = run_cli(["fix", str(src), "--diff"])
    assert (code, stdout) == (0, "")


# -- ENV154: separators that only pad -------------------------------------------------------

def test_padding_separators_removed(tmp_path):
    sub = subscriber()
    sub = [s + "*" if s.startswith("NM1*PR*") else s for s in sub]
    c = claim("P", hi="HI*ABK:J069:*ABF:R509")
    src = write_edi(tmp_path, build("P", subscriber_segs=sub, claims=[c]))
    code, *_, out = fix(tmp_path, src)
    assert code == 0
    assert_fixed(src, out / src.name, {"ENV154"})
    text = (out / src.name).read_text()
    assert "NM1*PR*2*ACME HEALTH*****PI*12345~" in text and "HI*ABK:J069*ABF:R509~" in text


def test_two_fixes_of_one_segment_take_two_passes(tmp_path):
    """A dotted code in a padded HI segment: CODE503 and ENV154 both rewrite it; the second
    fix comes in a second pass over the first one's result."""
    src = write_edi(tmp_path, build("P", claims=[claim("P", hi="HI*ABK:J06.9*ABF:R509*")]))
    code, *_, out = fix(tmp_path, src)
    assert code == 0
    assert_fixed(src, out / src.name, {"CODE503", "ENV154"})
    assert "HI*ABK:J069*ABF:R509~" in (out / src.name).read_text()
    # one fix per pass (registry order decides which goes first)
    rows = log_rows(out)
    assert sorted(r["pass"] for r in rows) == [1, 2]
    assert {r["rule"] for r in rows} == {"CODE503", "ENV154"}


def test_several_files_each_over_several_passes(tmp_path):
    """Each file's second pass reads its own first-pass result (not another file's)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for pcn in ("PCN001", "PCN002", "PCN003"):
        write_edi(inbox, build("P", claims=[claim("P", pcn, hi="HI*ABK:J06.9*ABF:R509*")]),
                  f"{pcn}.edi")
    code, *_, out = fix(tmp_path, inbox, extra=("--ignore", "ENV160"))
    assert code == 0
    for pcn in ("PCN001", "PCN002", "PCN003"):
        text = (out / f"{pcn}.edi").read_text()
        assert f"CLM*{pcn}*" in text and "HI*ABK:J069*ABF:R509~" in text
        assert text == (inbox / f"{pcn}.edi").read_text().replace("HI*ABK:J06.9*ABF:R509*~",
                                                                  "HI*ABK:J069*ABF:R509~")


def test_padding_of_a_phi_segment_is_masked_in_log_and_diff(tmp_path):
    sub = [s + "**" if s.startswith("NM1*IL*") else s for s in subscriber(member="ZX98765432")]
    src = write_edi(tmp_path, build("P", subscriber_segs=sub))
    code, stdout, _ = run_cli(["fix", str(src), "--diff"])
    assert code == 1 and "ZX98765432" not in stdout and "DOE" not in stdout
    assert "-NM1*#*#*#*#****#*#**" in stdout
    code, *_, out = fix(tmp_path, src)
    assert code == 0
    raw = (out / "fix-log.jsonl").read_text()
    assert "ZX98765432" not in raw and "DOE" not in raw
    assert log_rows(out)[0]["masked"] is True
    assert "NM1*IL*1*DOE*JOHN****MI*ZX98765432~" in (out / src.name).read_text()
    # --show-phi: quoted in full, and the log is readable by its owner only
    code, stdout, _ = run_cli(["fix", str(src), "--diff", "--show-phi"])
    assert "+NM1*IL*1*DOE*JOHN****MI*ZX98765432\n" in stdout
    code, *_ = run_cli(["fix", str(src), "--out", str(out), "--force", "--show-phi"])
    assert code == 0 and "ZX98765432" in (out / "fix-log.jsonl").read_text()
    assert stat.S_IMODE((out / "fix-log.jsonl").stat().st_mode) == 0o600


# -- the command: copies, bytes, idempotence, diff, refusals ---------------------------------

def _broken(tmp_path: Path, name: str = "broken.edi", pcn: str = "PCN001") -> Path:
    """A clean file but for a dotted ICD-10 code (CODE503) and a wrong SE01 (ENV131)."""
    text = build("P", claims=[claim("P", pcn, hi="HI*ABK:J06.9*ABF:R509")])
    return write_edi(tmp_path, text.replace("~\nSE*", "~\nSE*9", 1), name)


def test_only_the_fixed_segments_change(tmp_path):
    """Everything but the rewritten segments stays byte for byte, also in a file with
    other delimiters and CRLF line ends."""
    good = interchange(transaction(body=None))
    se = next(s for s in good if s.startswith("SE*"))
    segs = [s.replace("HI*ABK:J069", "HI*ABK:J06.9") for s in good]
    segs = [s.replace("SE*", "SE*9", 1) if s.startswith("SE*") else s for s in segs]
    text = edi(segs, term="'", after="\r\n", elem="|", comp=">")
    src = write_edi(tmp_path, text, "odd.edi")
    code, *_, out = fix(tmp_path, src)
    assert code == 0
    old, new = src.read_bytes().split(b"\r\n"), (out / src.name).read_bytes().split(b"\r\n")
    assert len(old) == len(new)
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert [b for _, b in changed] == [b"HI|ABK>J069'", se.replace("*", "|").encode() + b"'"]


def test_inputs_untouched_and_idempotent(tmp_path):
    src = _broken(tmp_path)
    before = digest(src)
    code, _, stderr, out = fix(tmp_path, src)
    assert code == 0 and digest(src) == before
    assert "segments fixed in 1 file (CODE503 1, ENV131 1)" in stderr
    # fixing the fixed copy changes nothing
    code, stdout, _ = run_cli(["fix", str(out / src.name), "--diff"])
    assert (code, stdout) == (0, "")
    out2 = tmp_path / "out2"
    code, *_ = run_cli(["fix", str(out / src.name), "--out", str(out2)])
    assert code == 0 and sorted(p.name for p in out2.iterdir()) == ["broken.edi", "fix-log.jsonl"]
    assert log_rows(out2) == [] and (out2 / src.name).read_bytes() == (out / src.name).read_bytes()


def test_diff_writes_nothing(tmp_path):
    src = _broken(tmp_path)
    listing = sorted(tmp_path.rglob("*"))
    before = digest(src)
    code, stdout, _ = run_cli(["fix", str(src), "--diff"])
    assert code == 1  # there are fixes to make
    assert stdout.startswith("--- a/broken.edi\n+++ b/broken.edi\n@@ ")
    assert "-HI*ABK:J06.9*ABF:R509\n+HI*ABK:J069*ABF:R509\n" in stdout
    assert sorted(tmp_path.rglob("*")) == listing and digest(src) == before


def test_folder_keeps_relative_names_and_gzip(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "a").mkdir(parents=True)
    plain = _broken(inbox / "a", "one.edi")
    gz = inbox / "two.edi.gz"
    two = _broken(tmp_path, "two.edi", pcn="PCN002")
    gz.write_bytes(gzip.compress(two.read_bytes()))
    clean = write_edi(inbox, build("P", claims=[claim("P", "PCN003", total="50",
                                                      charges=("50",))]), "clean.edi")
    untouched = {f: digest(f) for f in (plain, gz, clean)}
    # (the three files share ISA13 and claims: batch findings the fix has no answer for)
    code, *_, out = fix(tmp_path, inbox, extra=("--ignore", "ENV160,DUP"))
    assert code == 0
    assert (out / "a" / "one.edi").exists()
    assert (out / "clean.edi").read_bytes() == clean.read_bytes()  # the whole batch, as it is
    fixed_two = gzip.decompress((out / "two.edi.gz").read_bytes())
    assert fixed_two == (out / "a" / "one.edi").read_bytes().replace(b"PCN001", b"PCN002")
    assert {r["out"] for r in log_rows(out)} == {"a/one.edi", "two.edi.gz"}
    assert findings(plain) and not findings(out / "a" / "one.edi")
    assert {f: digest(f) for f in untouched} == untouched


def test_refuses_to_overwrite(tmp_path):
    src = _broken(tmp_path)
    code, *_, out = fix(tmp_path, src)
    assert code == 0
    code, _, stderr = run_cli(["fix", str(src), "--out", str(out)])
    assert code == 2 and "exists" in stderr and "--force" in stderr
    code, *_ = run_cli(["fix", str(src), "--out", str(out), "--force"])
    assert code == 0
    # never over an input, even with --force
    before = digest(src)
    code, _, stderr = run_cli(["fix", str(src), "--out", str(tmp_path), "--force"])
    assert code == 2 and "input file" in stderr and digest(src) == before


def test_needs_out_or_diff(tmp_path):
    src = _broken(tmp_path)
    assert run_cli(["fix", str(src)])[0] == 2
    assert run_cli(["fix", str(src), "--diff", "--out", str(tmp_path / "o")])[0] == 2


def test_select_limits_the_fixes(tmp_path):
    src = _broken(tmp_path)
    code, *_, out = fix(tmp_path, src, extra=("--select", "ENV"))
    assert code == 0  # CODE503 did not run: nothing of it remains either
    assert [r["rule"] for r in log_rows(out)] == ["ENV131"]
    assert "HI*ABK:J06.9*ABF:R509~" in (out / src.name).read_text()


def test_exit_one_when_unfixable_findings_remain(tmp_path):
    src = write_edi(tmp_path, build("P", claims=[claim("P", total="999", hi="HI*ABK:J06.9*ABF:R509")]))
    code, _, stderr, out = fix(tmp_path, src)
    assert code == 1 and "CODE503 1" in stderr and "remaining: 1 error" in stderr
    assert "BAL301" in rules_of(findings(out / src.name))
    assert run_cli(["fix", str(src), "--out", str(out), "--force", "--fail-on", "never"])[0] == 0


def test_rules_say_whether_a_fix_is_available():
    code, stdout, _ = run_cli(["rules"])
    assert code == 0 and "FIX" in stdout.splitlines()[0]
    fixable = {line.split()[0] for line in stdout.splitlines()[1:] if line.split()[4] == "yes"}
    assert {"KP100", "KP101", "CODE503", "ENV111", "ENV121", "ENV131", "ENV154"} <= fixable
    assert "KP110" not in fixable
    assert "fix: available" in run_cli(["rules", "ENV131"])[1]
    assert "fix: not available" in run_cli(["rules", "KP110"])[1]
    doc = json.loads(run_cli(["rules", "CODE503", "--format", "json"])[1])
    assert doc["fixable"] is True and "## Fix" in doc["doc"]


# -- the corpus --------------------------------------------------------------------------

def test_corpus_fix_then_recheck_has_nothing_new(corpus, tmp_path):
    from validator.engine.inputs import scan_inputs
    from validator.rules.registry import discover
    from validator.tools import fix as fixing

    files = scan_inputs([str(corpus)]).files
    opts = RunOptions(ig=True)
    run = fixing.run(files, [str(corpus)], RULESET, Selection.build(RULESET), opts, discover())
    assert run.fixed, "the corpus has trailer counts and padding to fix"
    assert not run.unsettled and not run.refused and not run.failed
    keys = ["file", "rule", "segment_index"]
    new = run.after.join(run.before.select(keys).unique(), on=keys, how="anti", nulls_equal=True)
    assert new.height == 0, new
    fixed_keys = run.applied.select("file", "rule", "segment_index").unique()
    assert run.after.join(fixed_keys, on=keys, how="semi").height == 0  # those are gone
    # a second run over the fixed copies finds nothing to fix
    staged = tmp_path / "staged"
    staged.mkdir()
    paths = []
    for i, (src, data) in enumerate(run.fixed.items()):
        paths.append(staged / f"{i}-{src.name}")
        paths[-1].write_bytes(data)
    again = fixing.run(paths, [str(staged)], RULESET, Selection.build(RULESET), opts, discover(),
                       recheck=False)
    assert again.fixed == {} and again.applied.height == 0


def test_a_fix_that_brings_a_new_finding_is_reported(tmp_path, monkeypatch):
    """The re-check guards the fixes: one that made a finding appear is named on stderr."""
    import dataclasses

    from validator.rules.edits import edits
    from validator.rules.registry import discover

    def bad_fix(ctx, found):  # "fixes" the dot by cutting the code to its category
        return edits(found, new=pl.lit("HI\x1dABK\x1fJ06\x1dABF\x1fR509"))

    rules = discover().rules
    monkeypatch.setitem(rules, "CODE503", dataclasses.replace(rules["CODE503"], fix=bad_fix))
    src = _broken(tmp_path)
    code, _, stderr, _ = fix(tmp_path, src)
    assert code == 1 and "please report this" in stderr and "CODE510" in stderr
