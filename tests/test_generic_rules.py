"""Each generic rule (SNIP 3-5, batch duplicates) fires on a small bad file and stays silent
on the clean one, on every transaction type where it applies."""

from __future__ import annotations

import polars as pl
import pytest
from generic_helpers import (
    BILLING_NPI,
    FACILITY_NPI,
    VERSION,
    billing,
    build,
    claim,
    codes,
    npi,
    patient,
    run,
    subscriber,
)
from helpers import all_rules as load_all

KINDS = ("P", "I", "D")


@pytest.mark.parametrize("kind", KINDS)
def test_clean_files_trigger_no_generic_rule(kind, tmp_path):
    assert run(build(kind), tmp_path).height == 0
    with_patient = build(kind, patient_segs=patient())
    assert run(with_patient, tmp_path).height == 0


def test_every_generic_rule_is_documented():
    rules = [r for r in load_all().values() if r.family == "generic"]
    assert len(rules) >= 30
    for r in rules:
        for section in ("What it does", "Why is this bad?", "Example", "How to fix"):
            assert r.section(section), (r.code, section)
        assert r.snip_level == int(r.code[-3]), r.code


def one(found, rule):
    hits = found.filter(found["rule"] == rule)
    assert hits.height >= 1, f"{rule} did not fire: {found.select('rule', 'message').rows()}"
    return hits.row(0, named=True)


# --- SNIP 3 balancing ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_bal301_total_differs_from_lines(kind, tmp_path):
    f = run(build(kind, claims=[claim(kind, total="160")]), tmp_path)
    hit = one(f, "BAL301")
    assert hit["segment_id"] == "CLM" and hit["element"] == "CLM02"
    assert hit["expected"] == "150.00" and hit["found"] == "160"
    assert hit["claim_id"] == "PCN001"
    # Decimals compare by value: 150.00 == 100 + 50.
    assert "BAL301" not in codes(run(build(kind, claims=[claim(kind, total="150.00")]), tmp_path))
    ok = claim(kind, total="100.3", charges=("100.1", "0.2"))
    assert "BAL301" not in codes(run(build(kind, claims=[ok]), tmp_path))


@pytest.mark.parametrize("kind", KINDS)
def test_bal302_negative_line_charge(kind, tmp_path):
    f = run(build(kind, claims=[claim(kind, total="50", charges=("100", "-50"))]), tmp_path)
    hit = one(f, "BAL302")
    assert hit["element"] == {"P": "SV102", "I": "SV203", "D": "SV302"}[kind]
    assert hit["found"] == "-50"
    assert "BAL301" not in codes(f)


@pytest.mark.parametrize("kind", KINDS)
def test_bal303_total_not_positive(kind, tmp_path):
    f = run(build(kind, claims=[claim(kind, total="0", charges=("0",))]), tmp_path)
    assert one(f, "BAL303")["element"] == "CLM02"
    f = run(build(kind, claims=[claim(kind, total="", charges=("10",))]), tmp_path)
    assert one(f, "BAL303")["message"].startswith("CLM02 total charge '' is not an amount")


@pytest.mark.parametrize("kind", KINDS)
def test_bal303_zero_total_on_encounters(kind, tmp_path):
    # BHT06 = RP (reporting: encounters) may carry a zero total; negative is still wrong.
    zero = build(kind, claims=[claim(kind, total="0", charges=("0",))]).replace("*1200*CH~",
                                                                                "*1200*RP~")
    assert "BAL303" not in codes(run(zero, tmp_path))
    neg = build(kind, claims=[claim(kind, total="-5", charges=("-5",))]).replace("*1200*CH~",
                                                                                 "*1200*RP~")
    assert one(run(neg, tmp_path), "BAL303")["found"] == "-5"


_SERVICE_100 = {"P": "SV1*HC:99213*100*UN*1***1", "I": "SV2*0450*HC:99283*100*UN*1",
                "D": "SV3*AD:D0120*100*11***1*****1"}


def _adjudicated(kind: str, paid: str, cas: list[str]) -> list[str]:
    svd = f"SVD*PAYER1*{paid}*HC:99213**1"
    return claim(kind, total="100", lines=[[_SERVICE_100[kind], "DTP*472*D8*20240115", svd, *cas,
                                            "DTP*573*D8*20240201"]])


@pytest.mark.parametrize("kind", KINDS)
def test_bal304_line_adjudication(kind, tmp_path):
    good = _adjudicated(kind, "70", ["CAS*CO*45*20", "CAS*PR*1*10"])
    assert "BAL304" not in codes(run(build(kind, claims=[good]), tmp_path))
    two_payers = claim(kind, total="100", lines=[[
        _SERVICE_100[kind], "DTP*472*D8*20240115", "SVD*PAYER1*70*HC:99213**1", "CAS*CO*45*30",
        "SVD*PAYER2*20*HC:99213**1", "CAS*CO*45*70", "CAS*PR*2*5"]])
    f = run(build(kind, claims=[two_payers]), tmp_path)
    hit = one(f, "BAL304")
    assert hit["segment_id"] == "SVD" and hit["element"] == "SVD02"
    assert hit["expected"] == "100.00" and hit["found"] == "95.00"
    assert f.filter(f["rule"] == "BAL304").height == 1  # PAYER1 balances


@pytest.mark.parametrize("kind", KINDS)
def test_837_without_a_guide_is_checked_by_its_service_segments(kind, tmp_path):
    # GS08/ST03 "005010" without X222A1/X223A2/X224A2: FILE013, and the content rules
    # still run as the type the service segments show.
    text = build(kind, claims=[claim(kind, total="160")]).replace(VERSION[kind], "005010")
    assert "BAL301" in codes(run(text, tmp_path))
    # Predeterminations (X291/X292) and reporting (X298) stay unchecked (FILE012).
    other = text.replace("*005010~", "*005010X291~")
    assert "BAL301" not in codes(run(other, tmp_path))


# --- SNIP 4 situational -------------------------------------------------------------------

@pytest.mark.parametrize("street", ["PO BOX 1234", "P.O. Box 12", "POST OFFICE BOX 9",
                                    "LOCK BOX 4411", "Lockbox 77", "BOX 19", "POB 5"])
def test_sit401_po_box(street, tmp_path):
    f = run(build("P", billing_segs=billing(street=street)), tmp_path)
    hit = one(f, "SIT401")
    assert hit["segment_id"] == "N3" and hit["element"] == "N301" and hit["claim_id"] == "PCN001"


@pytest.mark.parametrize("street", ["123 BOXWOOD LN", "1 POBOY ST", "500 POST OFFICE RD",
                                    "12 LOCKE BLVD"])
def test_sit401_street_addresses_pass(street, tmp_path):
    assert "SIT401" not in codes(run(build("I", billing_segs=billing(street=street)), tmp_path))


def test_sit401_on_every_claim_of_the_provider(tmp_path):
    text = build("D", billing_segs=billing(street="PO BOX 1"),
                 claims=[claim("D", "A1"), claim("D", "A2", date="20240116")])
    f = run(text, tmp_path)
    assert sorted(f.filter(f["rule"] == "SIT401")["claim_id"].to_list()) == ["A1", "A2"]


@pytest.mark.parametrize("kind", KINDS)
def test_sit402_billing_zip(kind, tmp_path):
    f = run(build(kind, billing_segs=billing(zip="77030")), tmp_path)
    hit = one(f, "SIT402")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("N4", "N403", "77030")
    assert "SIT402" not in codes(run(build(kind, billing_segs=billing(zip="770301234")),
                                     tmp_path))


@pytest.mark.parametrize("kind", KINDS)
def test_sit402_sit403_skip_foreign_addresses(kind, tmp_path):
    # N404 (country) other than US: no ZIP+4 to ask for.
    bill = [s.replace("N4*HOUSTON*TX*770301234", "N4*TORONTO**M5V2T6*CA") for s in billing()]
    assert "SIT402" not in codes(run(build(kind, billing_segs=bill), tmp_path))
    for us_code in ("US", "usa"):  # (USA is not ISO 3166 but means the US)
        us = [s.replace("N4*HOUSTON*TX*770301234", f"N4*HOUSTON*TX*77030*{us_code}")
              for s in billing()]
        assert "SIT402" in codes(run(build(kind, billing_segs=us), tmp_path))
    fac = [f"NM1*77*2*LAKEVIEW IMAGING*****XX*{FACILITY_NPI}", "N3*9 LAKE RD"]
    c = claim(kind)
    at = next(i for i, s in enumerate(c) if s.startswith("LX*"))
    abroad = c[:at] + fac + ["N4*TORONTO**M5V2T6*CA"] + c[at:]
    assert "SIT403" not in codes(run(build(kind, claims=[abroad]), tmp_path))
    home = c[:at] + fac + ["N4*HOUSTON*TX*77030*US"] + c[at:]
    assert "SIT403" in codes(run(build(kind, claims=[home]), tmp_path))


@pytest.mark.parametrize("kind", KINDS)
def test_sit403_facility_zip(kind, tmp_path):
    fac = [f"NM1*77*2*LAKEVIEW IMAGING*****XX*{FACILITY_NPI}", "N3*9 LAKE RD"]
    bad = claim(kind)
    at = next(i for i, s in enumerate(bad) if s.startswith("LX*"))
    text = build(kind, claims=[bad[:at] + fac + ["N4*HOUSTON*TX*77030"] + bad[at:]])
    hit = one(run(text, tmp_path), "SIT403")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("N4", "N403", "77030")
    text = build(kind, claims=[bad[:at] + fac + ["N4*HOUSTON*TX*770309999"] + bad[at:]])
    assert "SIT403" not in codes(run(text, tmp_path))


@pytest.mark.parametrize("kind", KINDS)
def test_sit404_npi_check_digit(kind, tmp_path):
    wrong = BILLING_NPI[:9] + str((int(BILLING_NPI[9]) + 1) % 10)
    f = run(build(kind, billing_segs=billing(npi=wrong)), tmp_path)
    hit = one(f, "SIT404")
    assert hit["found"] == wrong and hit["expected"] == f"check digit {BILLING_NPI[9]}"
    assert hit["claim_id"] == "PCN001"  # 2010AA finding lands on the provider's claims
    short = run(build(kind, billing_segs=billing(npi="12345")), tmp_path)
    assert one(short, "SIT404")["expected"] == "10 digits"


def test_sit404_known_npis(tmp_path):
    # 1234567893 is the CMS example NPI; every valid NPI in the builder passes.
    assert "SIT404" not in codes(run(build("P", billing_segs=billing(npi="1234567893")),
                                     tmp_path))
    rendering = [s if not s.startswith("NM1*82") else "NM1*82*1*SMITH*ANNA****XX*1234567890"
                 for s in claim("P")]
    hit = one(run(build("P", claims=[rendering]), tmp_path), "SIT404")
    assert hit["found"] == "1234567890" and "NM1*82" in hit["message"]


@pytest.mark.parametrize("kind", KINDS)
def test_sit405_billing_tax_id(kind, tmp_path):
    f = run(build(kind, billing_segs=billing(ref="REF*EI*74-1234567")), tmp_path)
    hit = one(f, "SIT405")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("REF", "REF02", "74-1234567")
    gone = billing()[:-1]
    hit = one(run(build(kind, billing_segs=gone), tmp_path), "SIT405")
    assert hit["segment_id"] == "NM1"
    ssn = run(build(kind, billing_segs=billing(ref="REF*SY*12345678")), tmp_path)
    hit = one(ssn, "SIT405")
    # (837I: the SSN itself is the error, SIT405 names REF01)
    assert hit["found"] == ("SY" if kind == "I" else "***5678")
    assert "12345678" not in hit["message"]
    ssn_ok = run(build(kind, billing_segs=billing(ref="REF*SY*123456789")), tmp_path)
    assert ("SIT405" in codes(ssn_ok)) == (kind == "I")


def test_sit405_institutional_billing_provider_needs_ein(tmp_path):
    # 837I (X223A2) 2010AA REF01 is EI only; REF*SY is for 837P/837D.
    hit = one(run(build("I", billing_segs=billing(ref="REF*SY*123456789")), tmp_path), "SIT405")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("REF", "REF01", "SY")
    assert "123456789" not in hit["message"] and "REF*EI" in hit["message"]
    assert "SIT405" not in codes(run(build("I"), tmp_path))


@pytest.mark.parametrize("kind", KINDS)
def test_sit406_replacement_needs_f8(kind, tmp_path):
    base = claim(kind)
    repl = [base[0].replace(":1*", ":7*", 1), *base[1:]]
    hit = one(run(build(kind, claims=[repl]), tmp_path), "SIT406")
    assert hit["element"] == "CLM05-3" and hit["found"] == "7"
    fixed = claim(kind, head=["REF*F8*ICN12345"])
    fixed = [fixed[0].replace(":1*", ":8*", 1), *fixed[1:]]
    assert "SIT406" not in codes(run(build(kind, claims=[fixed]), tmp_path))


def test_sit407_professional_line_needs_date(tmp_path):
    lines = [["SV1*HC:99213*100*UN*1***1"], ["SV1*HC:36415*50*UN*1***1", "DTP*472*D8*20240115"]]
    f = run(build("P", claims=[claim("P", lines=lines)]), tmp_path)
    hits = f.filter(f["rule"] == "SIT407")
    assert hits.height == 1 and hits["segment_id"][0] == "SV1"
    # 837P has no claim-level DTP*472: each line needs its own (the message says so).
    head = claim("P", head=["DTP*472*D8*20240115"], lines=[["SV1*HC:99213*100*UN*1***1"],
                                                           ["SV1*HC:36415*50*UN*1***1"]])
    hits = run(build("P", claims=[head]), tmp_path).filter(pl.col("rule") == "SIT407")
    assert hits.height == 2 and "837P carries the service date on each line" in hits["message"][0]


def test_sit407_dental_line_needs_line_or_claim_date(tmp_path):
    undated = [["SV3*AD:D0120*100*11***1*****1"], ["SV3*AD:D1110*50*11***1*****1"]]
    hits = run(build("D", claims=[claim("D", lines=undated)]), tmp_path).filter(
        pl.col("rule") == "SIT407")
    assert hits.height == 2 and set(hits["segment_id"]) == {"SV3"}
    # A claim-level DTP*472 covers every dental line.
    ok = claim("D", head=["DTP*472*D8*20240115"], lines=undated)
    assert "SIT407" not in codes(run(build("D", claims=[ok]), tmp_path))
    # A predetermination (CLM19 = PB) has no service dates yet.
    pb = claim("D", clm="CLM*PCN001*150***11:B:1*Y*A*Y*I**********PB", lines=undated)
    assert "SIT407" not in codes(run(build("D", claims=[pb]), tmp_path))
    # Not a rule of the institutional guide (its lines' dates are checked by the guide).
    i = claim("I", lines=[["SV2*0450*HC:99283*100*UN*1"], ["SV2*0300*HC:85025*50*UN*1"]])
    assert "SIT407" not in codes(run(build("I", claims=[i]), tmp_path))


@pytest.mark.parametrize("kind", ["P", "D"])
def test_sit407_not_for_a_bad_date(kind, tmp_path):
    # The line has a DTP*472 whose date is not real: SIT408 reports it, not SIT407.
    f = run(build(kind, claims=[claim(kind, date="20240230")]), tmp_path)
    assert "SIT408" in codes(f) and "SIT407" not in codes(f)
    if kind == "D":  # likewise a dental claim-level date
        undated = [["SV3*AD:D0120*100*11***1*****1"], ["SV3*AD:D1110*50*11***1*****1"]]
        bad = claim("D", head=["DTP*472*D8*20241301"], lines=undated)
        f = run(build("D", claims=[bad]), tmp_path)
        assert "SIT408" in codes(f) and "SIT407" not in codes(f)


@pytest.mark.parametrize("kind", KINDS)
def test_sit408_real_dates(kind, tmp_path):
    f = run(build(kind, claims=[claim(kind, date="20240230")]), tmp_path)
    hit = one(f, "SIT408")
    assert (hit["segment_id"], hit["element"]) == ("DTP", "DTP03")
    assert hit["found"].startswith("20240230")
    f = run(build(kind, subscriber_segs=subscriber(birth="19801301")), tmp_path)
    hit = one(f, "SIT408")
    assert hit["segment_id"] == "DMG" and hit["found"] is None
    assert "19801301" not in hit["message"] and hit["claim_id"] == "PCN001"
    bad_range = claim(kind, head=["DTP*454*RD8*20240101-2024011"])
    assert one(run(build(kind, claims=[bad_range]), tmp_path), "SIT408")["found"] == \
        "20240101-2024011"


@pytest.mark.parametrize("kind", KINDS)
def test_sit409_range_backward(kind, tmp_path):
    c = claim(kind, head=["DTP*454*RD8*20240131-20240101"])
    hit = one(run(build(kind, claims=[c]), tmp_path), "SIT409")
    assert hit["found"] == "20240131-20240101"
    c = claim(kind, head=["DTP*454*RD8*20240101-20240131"])
    assert "SIT409" not in codes(run(build(kind, claims=[c]), tmp_path))


@pytest.mark.parametrize("kind", KINDS)
def test_sit410_service_after_creation(kind, tmp_path):
    f = run(build(kind, claims=[claim(kind, date="20250102")], bht_date="20250101"), tmp_path)
    hit = one(f, "SIT410")
    assert hit["found"].startswith("20250102") and hit["claim_id"] == "PCN001"
    ok = build(kind, claims=[claim(kind, date="20250101")], bht_date="20250101")
    assert "SIT410" not in codes(run(ok, tmp_path))


@pytest.mark.parametrize("kind", KINDS)
def test_sit411_birth_after_service(kind, tmp_path):
    f = run(build(kind, patient_segs=patient(birth="20240201")), tmp_path)
    hit = one(f, "SIT411")
    assert hit["segment_id"] == "DMG" and "20240201" not in hit["message"]
    f = run(build(kind, subscriber_segs=subscriber(birth="20240116")), tmp_path)
    assert one(f, "SIT411")["element"] == "DMG02"
    same_day = build(kind, patient_segs=patient(birth="20240115"))
    assert "SIT411" not in codes(run(same_day, tmp_path))


@pytest.mark.parametrize("kind", KINDS)
def test_sit412_self_with_patient_loop(kind, tmp_path):
    sub = subscriber()  # SBR02 = 18
    f = run(build(kind, subscriber_segs=sub, patient_segs=patient()), tmp_path)
    hit = one(f, "SIT412")
    assert (hit["segment_id"], hit["element"]) == ("SBR", "SBR02")


@pytest.mark.parametrize("kind", KINDS)
def test_sit412_subscriber_is_patient_without_sbr02(kind, tmp_path):
    # No 2000C loop: the subscriber is the patient and SBR02 must be 18.
    f = run(build(kind, subscriber_segs=subscriber("SBR*P**GRP01******CI")), tmp_path)
    hit = one(f, "SIT412")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("SBR", "SBR02", None)
    assert hit["expected"] == "18" and hit["claim_id"] == "PCN001"
    f = run(build(kind, subscriber_segs=subscriber("SBR*P*01*GRP01******CI")), tmp_path)
    assert one(f, "SIT412")["found"] == "01"
    # With a patient loop SBR02 stays empty.
    assert "SIT412" not in codes(run(build(kind, patient_segs=patient()), tmp_path))


def _cob(kind: str, *sbr01: str) -> list[str]:
    base = claim(kind)
    at = next(i for i, s in enumerate(base) if s.startswith("LX*"))
    loops: list[str] = []
    for i, code in enumerate(sbr01):
        loops += [f"SBR*{code}*01*GRP9******CI", "OI***Y***Y",
                  f"NM1*IL*1*ROE*MARY****MI*X{i}99", f"NM1*PR*2*OTHER PAYER {i}*****PI*9{i}"]
    return base[:at] + loops + base[at:]


@pytest.mark.parametrize("kind", KINDS)
def test_sit413_exactly_one_primary(kind, tmp_path):
    assert not codes(run(build(kind, claims=[_cob(kind, "S")]), tmp_path)) & {"SIT413", "SIT414"}
    two = run(build(kind, claims=[_cob(kind, "P")]), tmp_path)
    hit = one(two, "SIT413")
    assert hit["found"] == "P,P" and hit["segment_id"] == "SBR"
    secondary = subscriber("SBR*S*18*GRP01******CI")
    none = run(build(kind, subscriber_segs=secondary, claims=[_cob(kind, "T")]), tmp_path)
    assert one(none, "SIT413")["found"] == "S,T"
    ok = run(build(kind, subscriber_segs=secondary, claims=[_cob(kind, "P")]), tmp_path)
    assert "SIT413" not in codes(ok)


@pytest.mark.parametrize("kind", KINDS)
def test_sit414_sequence_codes_unique(kind, tmp_path):
    f = run(build(kind, claims=[_cob(kind, "S", "S")]), tmp_path)
    hits = f.filter(f["rule"] == "SIT414")
    assert hits.height == 1 and hits["found"][0] == "S"
    assert "SIT414" not in codes(run(build(kind, claims=[_cob(kind, "S", "T")]), tmp_path))
    assert "SIT414" not in codes(run(build(kind, claims=[_cob(kind, "U", "U")]), tmp_path))


@pytest.mark.parametrize("kind", ["P", "D"])
def test_sit415_diagnosis_pointers(kind, tmp_path):
    if kind == "P":
        lines = [["SV1*HC:99213*100*UN*1***1:3", "DTP*472*D8*20240115"],
                 ["SV1*HC:36415*50*UN*1***2", "DTP*472*D8*20240115"]]
        hi = "HI*ABK:J069*ABF:R509"
    else:
        lines = [["SV3*AD:D0120*100*11***1*****1:2", "DTP*472*D8*20240115"],
                 ["SV3*AD:D1110*50*11***1*****1", "DTP*472*D8*20240115"]]
        hi = "HI*ABK:K021"
    f = run(build(kind, claims=[claim(kind, lines=lines, hi=hi)]), tmp_path)
    hits = f.filter(f["rule"] == "SIT415")
    assert hits.height == 1
    assert hits["element"][0] == ("SV107" if kind == "P" else "SV311")
    assert hits["found"][0] == ("1:3" if kind == "P" else "1:2")


@pytest.mark.parametrize("kind", KINDS)
def test_sit416_units_positive(kind, tmp_path):
    line = {"P": "SV1*HC:99213*150*UN*0***1", "I": "SV2*0450*HC:99283*150*UN*0",
            "D": "SV3*AD:D0120*150*11***0*****1"}[kind]
    f = run(build(kind, claims=[claim(kind, lines=[[line, "DTP*472*D8*20240115"]])]), tmp_path)
    hit = one(f, "SIT416")
    assert hit["element"] == {"P": "SV104", "I": "SV205", "D": "SV306"}[kind]
    assert hit["found"] == "0"


@pytest.mark.parametrize("kind", KINDS)
def test_sit417_person_names(kind, tmp_path):
    sub = [s.replace("NM1*IL*1*DOE*JOHN", "NM1*IL*1*DOE*") for s in subscriber()]
    hit = one(run(build(kind, subscriber_segs=sub), tmp_path), "SIT417")
    assert hit["element"] == "NM104" and "subscriber" in hit["message"]
    assert "DOE" not in hit["message"] and hit["claim_id"] == "PCN001"
    c = [s.replace("NM1*82*1*SMITH*ANNA", "NM1*82*1**ANNA").replace(
        "NM1*71*1*SMITH*ANNA", "NM1*71*1**ANNA") for s in claim(kind)]
    assert one(run(build(kind, claims=[c]), tmp_path), "SIT417")["element"] == "NM103"
    org = [s.replace("NM1*82*1*SMITH*ANNA", "NM1*82*2*SMITH GROUP*").replace(
        "NM1*71*1*SMITH*ANNA", "NM1*71*2*SMITH GROUP*") for s in claim(kind)]
    assert "SIT417" not in codes(run(build(kind, claims=[org]), tmp_path))


@pytest.mark.parametrize("kind", KINDS)
def test_sit417_not_in_other_payer_provider_loops(kind, tmp_path):
    # 2330x provider loops (NM1*82/71/72/DN… with NM102 = 1) carry no name: NM103-NM109
    # are not used there.
    providers = ["NM1*82*1", "REF*G2*PBS3334", "NM1*71*1", "REF*G2*A1", "NM1*72*1",
                 "REF*G2*A2", "NM1*DN*1", "REF*G2*A3"]
    c = _cob(kind, "S")
    at = next(i for i, s in enumerate(c) if s.startswith("LX*"))
    f = run(build(kind, claims=[c[:at] + providers + c[at:]]), tmp_path)
    assert "SIT417" not in codes(f)
    # The 2320 other subscriber's name is not checked either; the 2310B one still is.
    c = [s.replace("NM1*IL*1*ROE*MARY", "NM1*IL*1*ROE*").replace(
        "NM1*82*1*SMITH*ANNA", "NM1*82*1*SMITH*").replace(
        "NM1*71*1*SMITH*ANNA", "NM1*71*1*SMITH*") for s in _cob(kind, "S")]
    hits = run(build(kind, claims=[c]), tmp_path).filter(pl.col("rule") == "SIT417")
    assert hits.height == 1 and hits["message"][0].startswith(
        "the rendering provider's" if kind != "I" else "the attending provider's")


# --- SNIP 5 code sets ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_code501_icd9_after_cutover(kind, tmp_path):
    f = run(build(kind, claims=[claim(kind, hi="HI*BK:4019")]), tmp_path)
    hit = one(f, "CODE501")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("HI", "HI01-1", "BK")
    old = claim(kind, hi="HI*BK:4019", date="20150930")
    assert "CODE501" not in codes(run(build(kind, claims=[old], bht_date="20151001"), tmp_path))


@pytest.mark.parametrize("kind", KINDS)
def test_code502_icd10_before_cutover(kind, tmp_path):
    old = claim(kind, hi="HI*ABK:I10", date="20150930")
    hit = one(run(build(kind, claims=[old], bht_date="20151001"), tmp_path), "CODE502")
    assert hit["found"] == "ABK"
    new = claim(kind, hi="HI*ABK:I10", date="20151001")
    assert "CODE502" not in codes(run(build(kind, claims=[new], bht_date="20151001"), tmp_path))


@pytest.mark.parametrize("code", ["J06.9", "j069", "12345", "J0", "J06912345", "JJ69"])
@pytest.mark.parametrize("kind", KINDS)
def test_code503_icd10_shape(kind, code, tmp_path):
    f = run(build(kind, claims=[claim(kind, hi=f"HI*ABK:J069*ABF:{code}")]), tmp_path)
    hit = one(f, "CODE503")
    assert (hit["element"], hit["found"]) == ("HI02-2", code)


def test_code503_good_codes(tmp_path):
    hi = "HI*ABK:S93401A*ABF:Z23*ABF:U071*ABF:M1711"
    assert "CODE503" not in codes(run(build("P", claims=[claim("P", hi=hi)]), tmp_path))
    pcs = run(build("I", claims=[claim("I", head=["HI*BBR:0DTJ4ZZ:D8:20240115"])]), tmp_path)
    assert "CODE503" not in codes(pcs)
    pcs = run(build("I", claims=[claim("I", head=["HI*BBR:0DTJ4Z:D8:20240115"])]), tmp_path)
    assert one(pcs, "CODE503")["found"] == "0DTJ4Z"


@pytest.mark.parametrize("kind", ["P", "D"])
def test_code504_place_of_service(kind, tmp_path):
    base = claim(kind)
    bad = [base[0].replace("*11:B:", "*1:B:"), *base[1:]]
    hit = one(run(build(kind, claims=[bad]), tmp_path), "CODE504")
    assert (hit["element"], hit["found"]) == ("CLM05-1", "1")
    line = {"P": "SV1*HC:99213*150*UN*1*30**1", "D": "SV3*AD:D0120*150*30***1*****1"}[kind]
    f = run(build(kind, claims=[claim(kind, total="150", lines=[[line, "DTP*472*D8*20240115"]])]),
            tmp_path)
    assert one(f, "CODE504")["element"] == ("SV105" if kind == "P" else "SV303")
    ok = {"P": "SV1*HC:99213*150*UN*1*02**1", "D": "SV3*AD:D0120*150*02***1*****1"}[kind]
    f = run(build(kind, claims=[claim(kind, total="150", lines=[[ok, "DTP*472*D8*20240115"]])]),
            tmp_path)
    assert "CODE504" not in codes(f)


def test_code504_not_for_institutional_bill_type(tmp_path):
    # 837I CLM05-1 is a facility type code (13 = hospital outpatient), not a place of service.
    assert "CODE504" not in codes(run(build("I"), tmp_path))


@pytest.mark.parametrize("kind", KINDS)
def test_code505_claim_filing_indicator(kind, tmp_path):
    f = run(build(kind, subscriber_segs=subscriber("SBR*P*18*GRP01******C1")), tmp_path)
    hit = one(f, "CODE505")
    assert (hit["element"], hit["found"], hit["claim_id"]) == ("SBR09", "C1", "PCN001")
    f = run(build(kind, subscriber_segs=subscriber("SBR*P*18*GRP01")), tmp_path)
    assert one(f, "CODE505")["found"] is None
    cob = [s.replace("SBR*S*01*GRP9******CI", "SBR*S*01*GRP9******XX") for s in _cob(kind, "S")]
    hit = one(run(build(kind, claims=[cob]), tmp_path), "CODE505")
    assert "2320" in hit["message"]


def test_code506_revenue_code(tmp_path):
    lines = [["SV2*450*HC:99283*100*UN*1", "DTP*472*D8*20240115"],
             ["SV2*0300*HC:85025*50*UN*1", "DTP*472*D8*20240115"]]
    f = run(build("I", claims=[claim("I", lines=lines)]), tmp_path)
    hits = f.filter(f["rule"] == "CODE506")
    assert hits.height == 1 and hits["found"][0] == "450" and hits["element"][0] == "SV201"


@pytest.mark.parametrize(("kind", "code", "ok"), [
    ("P", "99213", True), ("P", "0001F", True), ("P", "0042T", True), ("P", "0001U", True),
    ("P", "J1885", True), ("P", "9921", False), ("P", "99213-25", False), ("P", "A12345", False),
    ("I", "G0463", True), ("I", "ABCDE", False), ("D", "D0120", True), ("D", "0120", False),
])
def test_code507_procedure_shape(kind, code, ok, tmp_path):
    line = {"P": f"SV1*HC:{code}*150*UN*1***1", "I": f"SV2*0450*HC:{code}*150*UN*1",
            "D": f"SV3*AD:{code}*150*11***1*****1"}[kind]
    f = run(build(kind, claims=[claim(kind, total="150",
                                      lines=[[line, "DTP*472*D8*20240115"]])]), tmp_path)
    if ok:
        assert "CODE507" not in codes(f)
    else:
        hit = one(f, "CODE507")
        assert hit["found"] == code and hit["element"].endswith("-2")


@pytest.mark.parametrize("kind", KINDS)
def test_code508_state_codes(kind, tmp_path):
    f = run(build(kind, billing_segs=billing(state="TE")), tmp_path)
    hit = one(f, "CODE508")
    assert (hit["element"], hit["found"], hit["claim_id"]) == ("N402", "TE", "PCN001")
    sub = [s.replace("N4*HOUSTON*TX*770301111", "N4*TORONTO*ON*M5V2T6*CA") for s in subscriber()]
    assert "CODE508" not in codes(run(build(kind, subscriber_segs=sub), tmp_path))
    for state in ("PR", "GU", "VI", "DC", "AE"):
        assert "CODE508" not in codes(run(build(kind, billing_segs=billing(state=state)),
                                          tmp_path))


@pytest.mark.parametrize("kind", KINDS)
def test_code509_taxonomy_shape(kind, tmp_path):
    f = run(build(kind, billing_segs=billing(taxonomy="207Q00000")), tmp_path)
    hit = one(f, "CODE509")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("PRV", "PRV03", "207Q00000")
    assert hit["claim_id"] == "PCN001"


# --- batch duplicates ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_dup401_claim_id_twice(kind, tmp_path):
    text = build(kind, claims=[claim(kind, "SAME1"), claim(kind, "SAME1", date="20240116")])
    f = run(text, tmp_path)
    hits = f.filter(f["rule"] == "DUP401")
    assert hits.height == 1 and hits["claim_id"][0] == "SAME1"
    assert hits["segment_index"][0] > 10
    # Across the files of one batch too.
    f = run([build(kind), build(kind)], tmp_path)
    hits = f.filter(f["rule"] == "DUP401")
    assert hits.height == 1 and "claims0.837" in hits["message"][0]


@pytest.mark.parametrize("kind", KINDS)
def test_dup401_scoped_by_billing_provider_and_payer(kind, tmp_path):
    # COB: the primary and the secondary claim keep the patient control number.
    other_payer = [s.replace("PI*12345", "PI*67890") for s in subscriber()]
    f = run([build(kind), build(kind, subscriber_segs=other_payer)], tmp_path)
    assert "DUP401" not in codes(f)
    # Two billing providers may use the same CLM01.
    other_npi = billing(npi=npi("170000009"))
    assert "DUP401" not in codes(run([build(kind), build(kind, billing_segs=other_npi)],
                                     tmp_path))
    # Missing NPIs or payer IDs compare equal.
    no_ids = build(kind, billing_segs=[s.replace(f"*XX*{BILLING_NPI}", "") for s in billing()],
                   subscriber_segs=[s.replace("*PI*12345", "") for s in subscriber()])
    hits = run([no_ids, no_ids], tmp_path).filter(pl.col("rule") == "DUP401")
    assert hits.height == 1 and hits["file_id"][0] == 1


@pytest.mark.parametrize("kind", KINDS)
def test_dup402_probable_duplicate(kind, tmp_path):
    f = run(build(kind, claims=[claim(kind, "A1"), claim(kind, "A2")]), tmp_path)
    hits = f.filter(f["rule"] == "DUP402")
    assert hits.height == 1 and hits["claim_id"][0] == "A2" and hits["severity"][0] == "warning"
    assert "A1" in hits["message"][0]
    differ = [claim(kind, "A1"), claim(kind, "A2", total="160", charges=("100", "60"))]
    assert "DUP402" not in codes(run(build(kind, claims=differ), tmp_path))
    other_day = [claim(kind, "A1"), claim(kind, "A2", date="20240116")]
    assert "DUP402" not in codes(run(build(kind, claims=other_day), tmp_path))


def test_dup402_institutional_stays_differ_by_bill_type_period_and_revenue_codes(tmp_path):
    """Inpatient lines often carry no HCPCS: two stays of a patient with the same first day
    and total are told apart by bill type, statement period and revenue codes."""
    def stay(pcn, tob, last_day, revs):
        lines = [[f"SV2*{rev}**{charge}*DA*1", f"DTP*472*D8*{day}"]
                 for (rev, charge), day in zip(revs, ("20240110", last_day), strict=True)]
        return claim("I", pcn, total="1500", clm=f"CLM*{pcn}*1500***{tob}:A:1**A*Y*Y",
                     lines=lines, date="20240110")
    hospital = stay("S1", "11", "20240114", [("0120", "1000"), ("0250", "500")])
    again = stay("S2", "11", "20240114", [("0120", "1000"), ("0250", "500")])
    snf = stay("S3", "21", "20240114", [("0120", "1000"), ("0250", "500")])  # bill type
    longer = stay("S4", "11", "20240120", [("0120", "1000"), ("0250", "500")])
    other_revs = stay("S5", "11", "20240114", [("0121", "1000"), ("0250", "500")])
    f = run(build("I", claims=[hospital, again, snf, longer, other_revs]), tmp_path)
    hits = f.filter(f["rule"] == "DUP402")
    assert hits["claim_id"].to_list() == ["S2"]
    assert "0120 0250" in hits["message"][0]


@pytest.mark.parametrize("kind", KINDS)
def test_dup402_not_across_payers(kind, tmp_path):
    def one_finding(f, code):
        return f.filter(f["rule"] == code).row(0, named=True)

    """The same service billed to two payers (primary and secondary) is not a duplicate."""
    one, two = (build(kind, claims=[claim(kind, pcn)]) for pcn in ("A1", "A2"))
    two = two.replace("NM1*PR*2*", "NM1*PR*2*OTHER ").replace("*PI*", "*PI*9", 1)
    assert "DUP402" not in codes(run([one, two], tmp_path))
    f = run([one, build(kind, claims=[claim(kind, "A2")])], tmp_path)
    assert "of claims0.837)" in one_finding(f, "DUP402")["message"]  # the earlier claim's file


@pytest.mark.parametrize("kind", KINDS)
def test_bal304_keeps_the_files_of_a_batch_apart(kind, tmp_path):
    # Both SVDs sit at the same segment position of their file; each file's CAS counts for
    # its own SVD only (segment positions are per file).
    a = build(kind, claims=[_adjudicated(kind, "70", ["CAS*CO*45*30"])])
    b = build(kind, claims=[_adjudicated(kind, "60", ["CAS*CO*45*40"])])
    assert "BAL304" not in codes(run([a, b], tmp_path))
    c = build(kind, claims=[_adjudicated(kind, "60", ["CAS*CO*45*30"])])
    f = run([a, c], tmp_path)
    assert one(f, "BAL304")["found"] == "90.00"
