"""Envelope (ENV1xx) and file-level (FILE01x) checks: one broken file per check.

Segment positions of the default interchange (edi_builder.interchange): 1 ISA, 2 GS, 3 ST,
4 BHT .. 17 CLM .. 21 DTP, 22 SE, 23 GE, 24 IEA.
"""

from __future__ import annotations

import pytest
from edi_builder import BODY_837P, edi, interchange, isa, transaction
from helpers import SAMPLES, check_files, codes, write_edi
from helpers import all_rules as load_all

from validator.rules.api import RunOptions


def run(tmp_path, segs: list[str]):
    return check_files(write_edi(tmp_path, edi(segs)))


def replace(segs: list[str], index: int, new: str | None) -> list[str]:
    """Replace (or delete, with None) the segment at 1-based ``index``."""
    out = list(segs)
    if new is None:
        del out[index - 1]
    else:
        out[index - 1] = new
    return out


def insert(segs: list[str], index: int, new: str) -> list[str]:
    """Insert ``new`` so that it becomes segment ``index``."""
    return [*segs[: index - 1], new, *segs[index - 1 :]]


def test_clean_files_have_no_envelope_or_file_findings(tmp_path):
    assert codes(run(tmp_path, interchange())) == []
    assert codes(check_files(*sorted(SAMPLES.glob("*.edi")))) == []
    assert check_files(*sorted(SAMPLES.glob("clean-*.edi"))).batch.claims.height == 6


def test_env100_isa_width(tmp_path):
    bad = isa().replace("S01".ljust(15), "S01")  # ISA06 not padded to 15
    result = run(tmp_path, interchange(isa_text=bad))
    assert codes(result) == [("ENV100", 1)]
    f = result.findings.row(0, named=True)
    assert f["element"] == "ISA06" and f["segment_id"] == "ISA"


def test_env100_isa_element_count(tmp_path):
    fields = isa().split("*")
    del fields[14]  # drop ISA14: 15 elements
    result = run(tmp_path, interchange(isa_text="*".join(fields)))
    assert codes(result) == [("ENV100", 1)]
    f = result.findings.row(0, named=True)
    assert (f["expected"], f["found"]) == ("16", "15")
    assert result.batch.claims["claim_id"].to_list() == ["C1"]


def test_env100_isa13_not_nine_digits(tmp_path):
    segs = interchange(isa13="00000001A")
    result = run(tmp_path, segs)
    assert codes(result) == [("ENV100", 1)]
    f = result.findings.row(0, named=True)
    assert (f["element"], f["found"]) == ("ISA13", "00000001A")


def test_env110_iea02_differs_from_isa13(tmp_path):
    result = run(tmp_path, replace(interchange(), 24, "IEA*1*000000999"))
    assert codes(result) == [("ENV110", 24)]
    f = result.findings.row(0, named=True)
    assert (f["element"], f["expected"], f["found"]) == ("IEA02", "000000001", "000000999")


def test_env111_iea01_group_count(tmp_path):
    result = run(tmp_path, replace(interchange(), 24, "IEA*2*000000001"))
    assert codes(result) == [("ENV111", 24)]
    assert result.findings["expected"].to_list() == ["1"]


def test_env112_missing_iea(tmp_path):
    assert codes(run(tmp_path, replace(interchange(), 24, None))) == [("ENV112", 1)]


def test_env120_ge02_differs_from_gs06(tmp_path):
    assert codes(run(tmp_path, replace(interchange(), 23, "GE*1*2"))) == [("ENV120", 23)]


def test_env121_ge01_transaction_count(tmp_path):
    result = run(tmp_path, replace(interchange(), 23, "GE*3*1"))
    assert codes(result) == [("ENV121", 23)]
    assert result.findings.row(0, named=True)["found"] == "3"


def test_env122_missing_ge(tmp_path):
    assert codes(run(tmp_path, replace(interchange(), 23, None))) == [("ENV122", 2)]


def test_env130_se02_differs_from_st02(tmp_path):
    result = run(tmp_path, replace(interchange(), 22, "SE*20*0002"))
    assert codes(result) == [("ENV130", 22)]


def test_env131_se01_segment_count(tmp_path):
    result = run(tmp_path, replace(interchange(), 22, "SE*21*0001"))
    assert codes(result) == [("ENV131", 22)]
    f = result.findings.row(0, named=True)
    assert (f["expected"], f["found"]) == ("20", "21")


def test_env132_truncated_file(tmp_path):
    segs = interchange()[:15]  # ends inside the subscriber loop
    assert codes(run(tmp_path, segs)) == [("ENV112", 1), ("ENV122", 2), ("ENV132", 3)]


def test_env132_missing_se_before_the_next_st(tmp_path):
    t1 = transaction("0001", claim="A1")[:-1]  # no SE
    t2 = transaction("0002", claim="A2")
    result = run(tmp_path, interchange(t1, t2))
    assert codes(result) == [("ENV132", 3)]
    assert result.batch.claims["claim_id"].to_list() == ["A1", "A2"]


def test_env140_st03_differs_from_gs08(tmp_path):
    segs = replace(interchange(), 3, "ST*837*0001*005010X223A2")
    assert codes(run(tmp_path, segs)) == [("ENV140", 3)]


def test_env150_empty_segment(tmp_path):
    segs = insert(interchange(), 18, "REF")
    result = run(tmp_path, replace(segs, 23, "SE*21*0001"))
    assert codes(result) == [("ENV150", 18)]
    assert result.findings["claim_key"].to_list() == result.batch.claims["claim_key"].to_list()
    # Separators alone carry no data either.
    result = run(tmp_path, replace(interchange(), 18, "HI*:"))
    assert codes(result) == [("ENV150", 18)]


def test_env151_unknown_segment(tmp_path):
    segs = insert(interchange(), 18, "XYZ*1")
    segs = replace(segs, 23, "SE*21*0001")
    result = run(tmp_path, segs)
    assert codes(result) == [("ENV151", 18)]
    assert result.findings["found"].to_list() == ["XYZ"]


def test_env152_segment_between_se_and_ge(tmp_path):
    result = run(tmp_path, insert(interchange(), 23, "REF*EI*751234567"))
    assert codes(result) == [("ENV152", 23)]


def test_env152_claim_outside_a_set_is_still_listed_once(tmp_path):
    result = run(tmp_path, insert(interchange(), 23, "CLM*X9*10***11:B:1*Y*A*Y*Y"))
    assert codes(result) == [("ENV152", 23)]
    assert result.batch.claims["claim_id"].to_list() == ["C1", "X9"]


def test_env153_trailer_without_header(tmp_path):
    result = run(tmp_path, insert(interchange(), 23, "SE*20*0001"))
    assert codes(result) == [("ENV153", 23)]
    result = run(tmp_path, insert(interchange(), 24, "GE*1*1"))
    assert codes(result) == [("ENV153", 24)]


def test_file010_not_an_837(tmp_path):
    body = "BPR*I*100*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20250315"
    segs = interchange(transaction(version="005010X221A1", body=body), version="005010X221A1")
    segs = replace(segs, 3, "ST*835*0001*005010X221A1")
    result = run(tmp_path, segs)
    assert codes(result) == [("FILE010", 3)]
    assert result.batch.claims.height == 0


def test_file011_4010_837(tmp_path):
    segs = interchange(transaction(version="004010X098A1"), version="004010X098A1",
                       isa_text=isa(isa11="U", isa12="00401"))
    result = run(tmp_path, segs)
    assert codes(result) == [("FILE011", 3)]
    claims = result.batch.claims
    assert claims["claim_id"].to_list() == ["C1"]
    assert claims["supported"].to_list() == [False]
    assert claims["transaction_type"].to_list() == ["837P"]


def test_file012_predetermination_guide(tmp_path):
    segs = interchange(transaction(version="005010X291"), version="005010X291")
    result = run(tmp_path, segs)
    assert codes(result) == [("FILE012", 3)]
    assert result.batch.claims["supported"].to_list() == [False]


@pytest.mark.parametrize("code", ["ENV110", "ENV111", "ENV112", "ENV120", "ENV121", "ENV122",
                                  "ENV130", "ENV131", "ENV132", "ENV153"])
def test_trailer_codes_are_documented(code):
    r = load_all()[code]
    assert r.severity == "error" and r.snip_level == 1
    for part in ("What it does", "Why is this bad?", "Example", "How to fix"):
        assert r.section(part), (code, part)


def test_trailer_titles_name_the_elements():
    reg = load_all()
    assert "IEA02" in reg["ENV110"].title and "ISA13" in reg["ENV110"].title
    assert "IEA01" in reg["ENV111"].title
    assert "GE02" in reg["ENV120"].title and "SE02" in reg["ENV130"].title
    assert set(reg["ENV110"].raises) == {"ENV111", "ENV112"}


def test_837_without_a_guide_takes_its_type_from_the_service_segments(tmp_path):
    segs = interchange(transaction(version="005010"), version="005010")
    segs = replace(segs, 3, "ST*837*0001")
    result = run(tmp_path, segs)
    # A version without its guide is an error, not another 837 variant (FILE012); the
    # claims are still checked as the type their service segments show.
    assert codes(result) == [("FILE013", 3)]
    hit = result.findings.row(0, named=True)
    assert (hit["severity"], hit["found"]) == ("error", "005010")
    assert "checked as 837P" in hit["message"]
    assert result.batch.claims["transaction_type"].to_list() == ["837P"]
    assert result.batch.claims["supported"].to_list() == [True]
    assert result.batch.transactions["transaction_type"].to_list() == ["837P"]


def test_file013_without_a_guide_or_service_segments(tmp_path):
    body = BODY_837P.format(claim="C1").split("\n")
    body = [x for x in body if not x.startswith(("SV1", "LX", "DTP"))]
    segs = interchange(transaction(version="005010", body="\n".join(body)), version="005010")
    result = run(tmp_path, segs)
    assert codes(result) == [("FILE013", 3)]
    assert "not checked" in result.findings["message"][0]
    assert result.batch.claims["supported"].to_list() == [False]


def test_env100_isa09_isa10_digits(tmp_path):
    bad = isa().replace("*250315*1200*", "*25-3-1*12:0*")
    result = run(tmp_path, interchange(isa_text=bad))
    assert codes(result) == [("ENV100", 1), ("ENV100", 1)]
    assert sorted(result.findings["element"].to_list()) == ["ISA09", "ISA10"]


def test_a_file_without_gs_does_not_borrow_the_previous_files_group(tmp_path):
    # File b lost its GS: its transaction set belongs to no group. It used to be counted in
    # file a's group (ENV121 on a's GE) and compared with a's GS08.
    a = write_edi(tmp_path, edi(interchange()), "a.edi")
    b = write_edi(tmp_path, edi(replace(interchange(isa13="000000002"), 2, None)), "b.edi")
    both = check_files(a, b)
    alone = check_files(b)
    by_file = both.findings.filter(both.findings["file_id"] == 1)
    assert not both.findings.filter(both.findings["file_id"] == 0).height
    assert sorted(zip(by_file["rule"], by_file["segment_index"], strict=True)) == \
        codes(alone) == [("ENV111", 23), ("ENV153", 22)]
    assert both.batch.transactions["gs06"].to_list() == ["1", None]


def test_a_second_interchange_without_gs_has_no_group(tmp_path):
    second = replace(interchange(isa13="000000002"), 2, None)
    result = run(tmp_path, [*interchange(), *second])
    assert codes(result) == [("ENV111", 47), ("ENV153", 46)]
    assert result.batch.transactions["gs06"].to_list() == ["1", None]


def test_segments_outside_every_set_are_not_content_checked(tmp_path):
    # A stray NM1 with a bad NPI between SE and GE: ENV152 reports it; the content rules
    # (SIT404, the NPI check digit) skip it, whatever else the batch holds. They used to
    # check it only when every set of the batch was a supported 5010 837.
    stray = write_edi(tmp_path, edi(insert(interchange(), 23, "NM1*85*2*X*****XX*1234567890")),
                      "stray.edi")
    old = write_edi(tmp_path, edi(interchange(version="004010X098A1")), "4010.edi")
    for batch in ([stray], [stray, old]):
        result = check_files(*batch, select=("ENV", "SIT"))
        f = result.findings.filter(result.findings["file_id"] == 0)
        assert list(zip(f["rule"], f["segment_index"], strict=True)) == [("ENV152", 23)]


def test_env160_interchange_control_number_reused_across_files(tmp_path):
    first = write_edi(tmp_path, edi(interchange()), "a.edi")
    again = write_edi(tmp_path, edi(interchange()), "b.edi")
    result = check_files(first, again)
    hit = result.findings.filter(result.findings["rule"] == "ENV160")
    assert hit.select("file_id", "segment_index", "element").rows() == [(1, 1, "ISA13")]
    assert "a.edi" in hit["message"][0] and hit["found"][0] == "000000001"
    # Another receiver, or another number: no finding.
    other = write_edi(tmp_path, edi(interchange(isa_text=isa().replace("R01     ", "R02     "))),
                      "c.edi")
    numbered = write_edi(tmp_path, edi(interchange(isa13="000000002")), "d.edi")
    assert "ENV160" not in [c for c, _ in codes(check_files(first, other, numbered))]


def test_env160_group_and_set_numbers_reused_in_their_envelope(tmp_path):
    sets = interchange(transaction("0001"), transaction("0001"))
    assert codes(run(tmp_path, sets)) == [("ENV160", 3 + len(transaction()))]  # the 2nd ST
    groups = [*interchange()[:-1], *interchange()[1:]]  # ISA, GS..GE, GS..GE, IEA
    groups[-1] = "IEA*2*000000001"
    found = run(tmp_path, groups).findings
    assert found.filter(found["rule"] == "ENV160")["element"].to_list() == ["GS06"]


def test_env160_across_chunks(tmp_path):
    from helpers import load_ruleset as load

    from validator.engine import Selection, check

    paths = [write_edi(tmp_path, edi(interchange()), f"{n}.edi") for n in "ab"]
    result = check(paths, load(), Selection(select=["ENV160"]), RunOptions(chunk_bytes=1))
    assert codes(result) == [("ENV160", 1)]
