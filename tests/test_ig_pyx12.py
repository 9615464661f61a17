"""Implementation-guide validation through pyx12: findings, positions, versions, options."""

from __future__ import annotations

from pathlib import Path

import pytest
from edi_builder import fix_counts
from ig_helpers import (
    I_SEGMENTS,
    P_CLAIMS,
    P_SEGMENTS,
    ig_findings,
    ig_interchange,
    index_of,
    replace,
    run_json,
    write,
)

from validator.rules.api import RunOptions


def _check(tmp_path: Path, segs: list[str], *args: str, name: str = "t.837") -> list[dict]:
    f = write(tmp_path / name, segs)
    return ig_findings(run_json(str(f), "-j1", *args))


def _one(found: list[dict], **want) -> dict:
    hits = [f for f in found if all(f.get(k) == v for k, v in want.items())]
    assert len(hits) == 1, (want, found)
    return hits[0]


@pytest.mark.parametrize("segs", [P_SEGMENTS, I_SEGMENTS], ids=["837P", "837I"])
def test_clean_file_has_no_ig_findings(tmp_path, segs):
    assert _check(tmp_path, segs) == []


def test_missing_required_segment(tmp_path):
    segs = replace(P_SEGMENTS, "N4*RENO*NV*895022202", None)  # 2010AA N4
    f = _one(_check(tmp_path, segs), rule="IG200", ig_code="IK304-3")
    assert f["severity"] == "error" and f["snip_level"] == 2
    assert f["loop"] == "2010AA" and "(N4) missing" in f["message"]
    # reported on the segment where pyx12 noticed: the REF*EI that follows N3
    assert f["segment_index"] == index_of(segs, "REF*EI") and f["segment_id"] == "REF"
    assert f["claim_id"] is None


def test_bad_code_value_on_the_right_claim_and_line(tmp_path):
    segs = replace(P_SEGMENTS, "DTP*472", "DTP*472*D9*20260115", 2)
    f = _one(_check(tmp_path, segs), rule="IG200")
    assert (f["ig_code"], f["element"], f["loop"]) == ("IK403-7", "DTP02", "2400")
    assert f["segment_index"] == index_of(segs, "DTP*472", 2)
    assert f["claim_id"] == "PCLAIM001" and f["found"] == "D9"


def test_element_too_long(tmp_path):
    segs = replace(P_SEGMENTS, "NM1*85", "NM1*85*2*" + "C" * 61 + "*****XX*1234567893")
    f = _one(_check(tmp_path, segs), ig_code="IK403-5")
    assert (f["element"], f["loop"], f["found"]) == ("NM103", "2010AA", "C" * 61)
    segs = replace(P_SEGMENTS, "CLM*PCLAIM002", "CLM*" + "X" * 39 + "*80***11:B:1*Y*A*Y*Y")
    f = _one(_check(tmp_path, segs), ig_code="IK403-5")
    assert f["element"] == "CLM01" and f["segment_index"] == index_of(segs, "CLM*XXX")
    assert "too long" in f["message"] and f["loop"] == "2300"


def test_composite_element_position(tmp_path):
    segs = replace(P_SEGMENTS, "CLM*PCLAIM001", "CLM*PCLAIM001*150***11:Q:1*Y*A*Y*Y")
    f = _one(_check(tmp_path, segs), element="CLM05-2")
    assert f["ig_code"] == "IK403-7" and f["claim_id"] == "PCLAIM001"


def test_invalid_date(tmp_path):
    segs = replace(P_SEGMENTS, "DTP*472", "DTP*472*D8*20261340", 3)
    f = _one(_check(tmp_path, segs), ig_code="IK403-8")
    assert f["element"] == "DTP03" and f["claim_id"] == "PCLAIM002"
    assert f["segment_index"] == index_of(segs, "DTP*472*D8*20261340")


def test_wrong_loop_order(tmp_path):
    segs = list(P_SEGMENTS)
    i, j = index_of(segs, "NM1*IL") - 1, index_of(segs, "NM1*PR") - 1
    segs = [*segs[:i], segs[j], *segs[i:j], *segs[j + 1:]]  # payer 2010BB before 2010BA
    found = _check(tmp_path, segs)
    assert found and all(f["rule"] == "IG200" for f in found)
    f = _one(found, segment_index=index_of(segs, "NM1*PR"))
    assert "2010BA" in f["message"] and f["ig_code"].startswith("IK304-")


def test_positions_in_second_transaction_and_second_interchange(tmp_path):
    """Indexes are file positions even for later ST sets and interchanges of a file."""
    two = ig_interchange("005010X222A1", P_CLAIMS, n_st=2)
    bad = replace(two, "DTP*472", "DTP*472*D9*20260115", 5)  # 2nd ST, 1st claim, 2nd line
    segs = P_SEGMENTS + bad  # a second interchange after a clean one
    found = _check(tmp_path, segs)
    f = _one(found, rule="IG200")
    assert f["segment_index"] == len(P_SEGMENTS) + index_of(bad, "DTP*472*D9")
    assert f["element"] == "DTP02" and f["claim_id"] == "PCLAIM001"


def test_other_delimiters_and_data_characters(tmp_path):
    """Files with other separators are re-delimited; data characters never clash."""
    segs = replace(P_SEGMENTS, "DTP*472", "DTP*472*D9*20260115", 1)
    text = "\n".join(s.replace("*", "|").replace(":", ">") for s in segs)
    # '*' and '~' are data here (elements are '|', segments end at newlines)
    text = text.replace("ACME BILLING", "ACME*BILLING~CO")
    f = tmp_path / "pipes.837"
    f.write_text(text + "\n")
    found = ig_findings(run_json(str(f), "-j1"))
    hit = _one(found, rule="IG200")
    assert hit["element"] == "DTP02" and hit["segment_index"] == index_of(segs, "DTP*472*D9")


@pytest.mark.parametrize("version,map_", [("005010X222A2", "005010X222A1"),
                                          ("005010X222", "005010X222A1")])
def test_errata_and_base_versions_use_the_base_map(tmp_path, version, map_):
    segs = [s.replace("005010X222A1", version) for s in P_SEGMENTS]
    segs = replace(segs, "DTP*472", "DTP*472*D9*20260115", 1)
    found = _check(tmp_path, segs)
    note = _one(found, rule="IG211")
    assert note["severity"] == "info" and note["expected"] == map_ and note["found"] == version
    assert note["segment_index"] == index_of(segs, "ST*") and version in note["message"]
    _one(found, rule="IG200", element="DTP02")  # still validated


def test_institutional_errata(tmp_path):
    segs = [s.replace("005010X223A2", "005010X223A3") for s in I_SEGMENTS]
    segs = replace(segs, "CL1*2*1*01", "CL1*2*1*01*" + "Z" * 3)
    found = _check(tmp_path, segs)
    _one(found, rule="IG211", expected="005010X223A2")
    f = _one(found, rule="IG200")
    assert f["segment_id"] == "CL1" and f["claim_id"] == "ICLAIM001"


def test_dental_has_no_map_one_info_per_transaction(tmp_path):
    dental = ig_interchange("005010X224A2", ["CLM*D1*100***11:B:1*Y*A*Y*Y", "LX*1",
                                             "SV3*AD:D0120*100****1"], n_st=2)
    found = _check(tmp_path, dental)
    assert [f["rule"] for f in found] == ["IG210", "IG210"]
    assert [f["segment_index"] for f in found] == [index_of(dental, "ST*", 1),
                                                   index_of(dental, "ST*", 2)]
    assert all(f["severity"] == "info" and "837D" in f["message"] for f in found)


def test_4010_is_not_validated(tmp_path):
    segs = [s.replace("005010X222A1", "004010X098A1").replace("*00501*", "*00401*")
            for s in P_SEGMENTS]
    assert _check(tmp_path, segs) == []


def test_no_ig_and_library_default_skip_pyx12(tmp_path):
    from helpers import load_ruleset as load

    from validator.engine import Selection, check

    segs = replace(P_SEGMENTS, "DTP*472", "DTP*472*D9*20260115", 1)
    f = write(tmp_path / "bad.837", segs)
    assert ig_findings(run_json(str(f), "--no-ig")) == []
    assert ig_findings(run_json(str(f), "--ig", "-j1"))
    rs = load("kp-cigna")
    res = check([f], rs, Selection.build(rs), RunOptions())
    assert not res.findings["rule"].str.starts_with("IG").any()


def test_select_ignore_apply_to_ig_codes(tmp_path):
    segs = [s.replace("005010X222A1", "005010X222A2") for s in P_SEGMENTS]
    segs = replace(segs, "DTP*472", "DTP*472*D9*20260115", 1)
    f = write(tmp_path / "bad.837", segs)
    assert {x["rule"] for x in ig_findings(run_json(str(f), "-j1"))} == {"IG200", "IG211"}
    assert {x["rule"] for x in ig_findings(run_json(str(f), "-j1", "--ignore", "IG211"))} == {
        "IG200"}
    assert {x["rule"] for x in ig_findings(run_json(str(f), "-j1", "--select", "IG211"))} == {
        "IG211"}


def test_map_notes_alone_do_not_run_pyx12(tmp_path, monkeypatch):
    """Selecting only IG210/IG211 gives the notes without validating anything."""
    from validator.rules.ig import run

    calls = []
    execute = run._execute
    monkeypatch.setattr(run, "_execute", lambda *a: calls.append(1) or execute(*a))
    segs = [s.replace("005010X222A1", "005010X222A2") for s in P_SEGMENTS]
    f = write(tmp_path / "errata.837", replace(segs, "DTP*472", "DTP*472*D9*20260115", 1))
    assert {x["rule"] for x in ig_findings(run_json(str(f), "-j1", "--select", "IG21"))} == {
        "IG211"}
    assert calls == []
    assert {x["rule"] for x in ig_findings(run_json(str(f), "-j1", "--select", "IG200"))} == {
        "IG200"}
    assert calls == [1]


def test_phi_is_masked_also_with_show_phi(tmp_path):
    name, member = "D" * 61, "M" * 77 + "1234"
    segs = replace(P_SEGMENTS, "NM1*IL", f"NM1*IL*1*{name}*JANE****MI*{member}")
    found = _check(tmp_path, segs)
    last = _one(found, element="NM103")
    ident = _one(found, element="NM109")
    for f in (last, ident):
        assert name not in f["message"] and member not in f["message"]
        assert name != f["found"] and member != f["found"]
    assert ident["found"] == "***1234" and last["found"] == "***"
    # --show-phi unmasks the HTML claim panels only: findings reach CSV/JUnit/logs too.
    shown = _check(tmp_path, segs, "--show-phi")
    assert name not in _one(shown, element="NM103")["message"]


def test_malformed_isa_is_one_ig299_and_the_batch_goes_on(tmp_path):
    bad = list(P_SEGMENTS)
    bad[0] = bad[0].replace("SUBMITTER01    ", "SUBMITTER01XXXXX")
    write(tmp_path / "a_bad.837", bad)
    write(tmp_path / "b_broken.837", replace(P_SEGMENTS, "DTP*472", "DTP*472*D9*20260115", 1))
    found = ig_findings(run_json(str(tmp_path), "-j1"))
    fail = _one(found, rule="IG299")
    assert fail["file"].endswith("a_bad.837") and "ENV100" in fail["message"]
    assert fail["severity"] == "warning"
    _one(found, rule="IG200", element="DTP02")


def test_padded_isa_fields_are_still_validated(tmp_path):
    segs = list(P_SEGMENTS)
    segs[0] = segs[0].replace("SUBMITTER01    ", "SUBMITTER01     ")  # one blank too many
    segs = replace(segs, "DTP*472", "DTP*472*D9*20260115", 1)
    found = _check(tmp_path, segs)
    _one(found, rule="IG200", element="DTP02")
    assert not [f for f in found if f["rule"] == "IG299"]


def test_corpus_runs_without_failures(corpus):
    doc = run_json(str(corpus), "-j1", "--select", "IG")
    rules = {f["rule"] for f in doc["findings"]}
    assert "IG299" not in rules and {"IG200", "IG210", "IG211"} <= rules
    for f in doc["findings"]:
        if f["rule"] == "IG200":
            assert f["segment_index"] and f["segment_id"] and f["ig_code"]


@pytest.mark.parametrize("kind", ["P", "I"])
def test_generated_files_are_clean(tmp_path, kind):
    """The benchmark generator's files follow the guides: pyx12 reports nothing."""
    gen = pytest.importorskip("bench.generate")
    f = tmp_path / f"gen_{kind}.837"
    f.write_text(gen.generate(kind, 60, seed=3, claims_per_st=25))  # 3 ST sets
    doc = run_json(str(f), "-j1")
    assert doc["summary"]["claims"] == 60
    assert ig_findings(doc) == []


def test_envelope_errors_are_ig201_warnings(tmp_path):
    segs = replace(fix_counts(P_SEGMENTS), "SE*", "SE*99*0001")
    f = tmp_path / "se.837"
    f.write_text("~".join(segs) + "~")
    found = ig_findings(run_json(str(f), "-j1"))
    hit = _one(found, rule="IG201")
    assert hit["ig_code"] == "IK502-4" and hit["severity"] == "warning"
    assert hit["segment_index"] == index_of(segs, "SE*") and hit["snip_level"] == 1


def test_missing_se_is_reported_on_the_last_segment_without_a_claim(tmp_path):
    segs = [s for s in fix_counts(P_SEGMENTS) if not s.startswith("SE*")]
    f = tmp_path / "nose.837"
    f.write_text("~".join(segs) + "~")
    found = ig_findings(run_json(str(f), "-j1"))
    hit = _one(found, rule="IG200")
    assert "(SE) missing" in hit["message"] and hit["claim_id"] is None
    assert hit["segment_index"] == index_of(segs, "GE*") - 1


@pytest.mark.parametrize("old,new,element,code", [
    ("CLM*PCLAIM001", "CLM*PCLAIM001*150***00:B:1*Y*A*Y*Y", "CLM05-1", "IK403-7"),
    ("SBR*P*18", "SBR*P*18*GRP100******QQ", "SBR09", "IK403-7"),
    ("SV1*HC:99212", "SV1*HC:99212*8X*UN*1***1", "SV102", "IK403-6"),
    ("LX*2", "LX*3", None, "IK304-LX"),
    ("HL*2*1*22*0", "HL*3*1*22*0", None, "IK304-HL1"),
])
def test_more_guide_errors(tmp_path, old, new, element, code):
    segs = replace(P_SEGMENTS, old, new)
    f = _one(_check(tmp_path, segs), rule="IG200")
    assert (f["element"], f["ig_code"]) == (element, code)
    assert f["segment_index"] == index_of(segs, new)


@pytest.mark.parametrize("old,new", [
    ("NM1*85", "NM1*85*2*CEDAR PARK CLINIC*****XX*1234567890"),  # NPI check digit
    ("N3*1090 MAPLE DR", "N3*PO BOX 123"),  # billing provider PO box
    ("N4*RENO*NV*895022202", "N4*RENO*NV*89502"),  # 5-digit billing ZIP (837P map)
    ("CLM*PCLAIM001", "CLM*PCLAIM001*999***11:B:1*Y*A*Y*Y"),  # CLM02 != sum of lines
    ("HI*ABK:J069", "HI*BK:J069"),  # ICD-9 qualifier for a 2026 service
    ("SV1*HC:99212", "SV1*HC:99212*80*UN*1***7"),  # pointer to a missing diagnosis
])
def test_what_pyx12_does_not_catch(tmp_path, old, new):
    """Documented in the README: these are left to the SNIP 3-5 rules."""
    assert _check(tmp_path, replace(P_SEGMENTS, old, new), "--select", "IG") == []


def test_4010_style_isa_around_a_5010_transaction(tmp_path):
    """A 4010-style ISA (ISA11 'U', ISA12 00401) around a 5010 set: no false errors."""
    segs = [P_SEGMENTS[0].replace("*^*00501*", "*U*00401*"), *P_SEGMENTS[1:]]
    segs = replace(segs, "NM1*85", "NM1*85*2*UNION URGENT CARE*****XX*1234567893")
    assert _check(tmp_path, segs, "--select", "IG") == []
