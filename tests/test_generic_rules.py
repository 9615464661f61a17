"""Each generic rule (SNIP 3-5, batch duplicates) fires on a small bad file and stays silent
on the clean one, on every transaction type where it applies.

Checking is the slow part (a fixed cost a run), so the cases of the SNIP 3-5 tests are
checked together: a test's builder (``@BAL.of(...)``, ``@SIT.of(...)``…, right above it)
makes its files, one module-scoped fixture a family checks every case's files as one batch,
and the test asserts on the findings of its own files (``bal_found[builder, param]``). Each
case is a file of its own (or a few), so its findings do not depend on the other cases; the
duplicate rules (DUP4xx), which compare the claims of a batch, keep a run a scenario.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import polars as pl
import pytest
from edi_builder import (
    BILLING_NPI,
    FACILITY_NPI,
    VERSION,
    billing,
    build,
    claim,
    npi,
    patient,
    subscriber,
)
from generic_helpers import GENERIC, codes
from helpers import all_rules as load_all
from helpers import load_ruleset, registry

from validator.engine import Selection, check
from validator.rules.api import RunOptions

KINDS = ("P", "I", "D")
NON_DUP = tuple(f for f in GENERIC if f != "DUP")


@functools.cache
def _engine():
    return registry(), load_ruleset("kp-cigna")


def check_files(texts: Sequence[str], tmp: Path, select: Sequence[str]):
    """Check ``texts`` as the files claims0.837, claims1.837… of one batch; return the
    findings (with their claim's CLM01 as ``claim_id``) and the batch read."""
    reg, ruleset = _engine()
    paths = []
    for i, text in enumerate(texts):
        paths.append(tmp / f"claims{i}.837")
        paths[-1].write_text(text, encoding="ascii")
    res = check(paths, ruleset, Selection(select=list(select)), RunOptions(), registry=reg)
    ids = res.claim_frame(["claim_key", "claim_id"])
    return res.findings.join(ids, on="claim_key", how="left"), res.batch


def dup(texts: str | Sequence[str], tmp: Path) -> pl.DataFrame:
    """The duplicate rules' findings on one batch of its own (a scenario a run)."""
    return check_files([texts] if isinstance(texts, str) else texts, tmp, ("DUP",))[0]


Case = str | Sequence[str]  # one file, or the files of one case


class Cases:
    """The cases of some tests, checked together as the files of one batch.

    ``@CASES.of(*params)`` registers a builder; called with each parameter (a tuple is
    unpacked), it returns a case (a text, or a list of texts for a case of several files)
    or a dict of named cases. :meth:`check` runs them all at once and returns, by
    ``(builder, param)``, the findings of that case's files (a dict of them, by name, for a
    builder that returned one).
    """

    def __init__(self, select: Sequence[str] = NON_DUP):
        self.select = tuple(select)
        self.builders: list[tuple[Callable[..., Case | dict[str, Case]], tuple]] = []

    def of(self, *params: Hashable):
        def register(fn):
            self.builders.append((fn, params or ((),)))
            return fn
        return register

    def check(self, tmp: Path) -> Found:
        texts: list[str] = []
        spans: dict[tuple, dict[str | None, range]] = {}
        for fn, params in self.builders:
            for p in params:
                made = fn(*(p if isinstance(p, tuple) else (p,)))
                named = made if isinstance(made, dict) else {None: made}
                spans[fn, p] = {}
                for name, case in named.items():
                    files = [case] if isinstance(case, str) else list(case)
                    spans[fn, p][name] = range(len(texts), len(texts) + len(files))
                    texts += files
        found, batch = check_files(texts, tmp, self.select)
        # Every case's files were read, in order, and hold claims: none goes unchecked.
        files = batch.files
        assert files["file_id"].to_list() == list(range(len(texts)))
        assert [Path(p).name for p in files["path"]] == [f"claims{i}.837" for i in range(len(texts))]
        assert set(files["status"]) == {"parsed"}
        assert set(batch.claims["file_id"]) == set(range(len(texts)))
        return Found({key: {name: found.filter(pl.col("file_id").is_in(list(span)))
                            for name, span in named.items()} for key, named in spans.items()})


class Found:
    """The findings of checked :class:`Cases`: ``found[builder, param]`` (``found[builder]``
    for a builder without parameters)."""

    def __init__(self, by_case: dict[tuple, dict[str | None, pl.DataFrame]]):
        self.by_case = by_case

    def __getitem__(self, key):
        named = self.by_case[key if isinstance(key, tuple) else (key, ())]
        return named.get(None, named)


CLEAN, BAL, SIT, CODE = Cases(GENERIC), Cases(), Cases(), Cases()


@pytest.fixture(scope="module")
def clean_found(tmp_path_factory) -> Found:
    return CLEAN.check(tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def bal_found(tmp_path_factory) -> Found:
    return BAL.check(tmp_path_factory.mktemp("bal"))


@pytest.fixture(scope="module")
def sit_found(tmp_path_factory) -> Found:
    return SIT.check(tmp_path_factory.mktemp("sit"))


@pytest.fixture(scope="module")
def code_found(tmp_path_factory) -> Found:
    return CODE.check(tmp_path_factory.mktemp("code"))


@CLEAN.of(*KINDS)
def _clean(kind):
    # All generic rules, DUP4xx too: the six files of this batch carry their own CLM01s.
    return {"plain": build(kind, claims=[claim(kind, f"CLEAN{kind}1")]),
            "patient": build(kind, claims=[claim(kind, f"CLEAN{kind}2")], patient_segs=patient())}


@pytest.mark.parametrize("kind", KINDS)
def test_clean_files_trigger_no_generic_rule(kind, clean_found):
    f = clean_found[_clean, kind]
    assert f["plain"].height == 0
    assert f["patient"].height == 0


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

@BAL.of(*KINDS)
def _bal301(kind):
    return {"bad": build(kind, claims=[claim(kind, total="160")]),
            "decimals": build(kind, claims=[claim(kind, total="150.00")]),
            "tenths": build(kind, claims=[claim(kind, total="100.3", charges=("100.1", "0.2"))])}


@pytest.mark.parametrize("kind", KINDS)
def test_bal301_total_differs_from_lines(kind, bal_found):
    f = bal_found[_bal301, kind]
    hit = one(f["bad"], "BAL301")
    assert hit["segment_id"] == "CLM" and hit["element"] == "CLM02"
    assert hit["expected"] == "150.00" and hit["found"] == "160"
    assert hit["claim_id"] == "PCN001"
    # Decimals compare by value: 150.00 == 100 + 50.
    assert "BAL301" not in codes(f["decimals"])
    assert "BAL301" not in codes(f["tenths"])


@BAL.of(*KINDS)
def _bal302(kind):
    return build(kind, claims=[claim(kind, total="50", charges=("100", "-50"))])


@pytest.mark.parametrize("kind", KINDS)
def test_bal302_negative_line_charge(kind, bal_found):
    f = bal_found[_bal302, kind]
    hit = one(f, "BAL302")
    assert hit["element"] == {"P": "SV102", "I": "SV203", "D": "SV302"}[kind]
    assert hit["found"] == "-50"
    assert "BAL301" not in codes(f)


@BAL.of(*KINDS)
def _bal303(kind):
    return {"zero": build(kind, claims=[claim(kind, total="0", charges=("0",))]),
            "blank": build(kind, claims=[claim(kind, total="", charges=("10",))])}


@pytest.mark.parametrize("kind", KINDS)
def test_bal303_total_not_positive(kind, bal_found):
    f = bal_found[_bal303, kind]
    assert one(f["zero"], "BAL303")["element"] == "CLM02"
    assert one(f["blank"], "BAL303")["message"].startswith("CLM02 total charge '' is not an amount")


@BAL.of(*KINDS)
def _bal303_encounters(kind):
    # BHT06 = RP (reporting: encounters) may carry a zero total; negative is still wrong.
    zero = build(kind, claims=[claim(kind, total="0", charges=("0",))]).replace("*1200*CH~",
                                                                                "*1200*RP~")
    neg = build(kind, claims=[claim(kind, total="-5", charges=("-5",))]).replace("*1200*CH~",
                                                                                 "*1200*RP~")
    return {"zero": zero, "negative": neg}


@pytest.mark.parametrize("kind", KINDS)
def test_bal303_zero_total_on_encounters(kind, bal_found):
    f = bal_found[_bal303_encounters, kind]
    assert "BAL303" not in codes(f["zero"])
    assert one(f["negative"], "BAL303")["found"] == "-5"


_SERVICE_100 = {"P": "SV1*HC:99213*100*UN*1***1", "I": "SV2*0450*HC:99283*100*UN*1",
                "D": "SV3*AD:D0120*100*11***1*****1"}


def _adjudicated(kind: str, paid: str, cas: list[str]) -> list[str]:
    svd = f"SVD*PAYER1*{paid}*HC:99213**1"
    return claim(kind, total="100", lines=[[_SERVICE_100[kind], "DTP*472*D8*20240115", svd, *cas,
                                            "DTP*573*D8*20240201"]])


@BAL.of(*KINDS)
def _bal304(kind):
    good = _adjudicated(kind, "70", ["CAS*CO*45*20", "CAS*PR*1*10"])
    two_payers = claim(kind, total="100", lines=[[
        _SERVICE_100[kind], "DTP*472*D8*20240115", "SVD*PAYER1*70*HC:99213**1", "CAS*CO*45*30",
        "SVD*PAYER2*20*HC:99213**1", "CAS*CO*45*70", "CAS*PR*2*5"]])
    return {"good": build(kind, claims=[good]), "two_payers": build(kind, claims=[two_payers])}


@pytest.mark.parametrize("kind", KINDS)
def test_bal304_line_adjudication(kind, bal_found):
    f = bal_found[_bal304, kind]
    assert "BAL304" not in codes(f["good"])
    hit = one(f["two_payers"], "BAL304")
    assert hit["segment_id"] == "SVD" and hit["element"] == "SVD02"
    assert hit["expected"] == "100.00" and hit["found"] == "95.00"
    assert f["two_payers"].filter(pl.col("rule") == "BAL304").height == 1  # PAYER1 balances


@BAL.of(*KINDS)
def _no_guide(kind):
    # GS08/ST03 "005010" without X222A1/X223A2/X224A2: FILE013, and the content rules
    # still run as the type the service segments show.
    text = build(kind, claims=[claim(kind, total="160")]).replace(VERSION[kind], "005010")
    # Predeterminations (X291/X292) and reporting (X298) stay unchecked (FILE012).
    return {"005010": text, "X291": text.replace("*005010~", "*005010X291~")}


@pytest.mark.parametrize("kind", KINDS)
def test_837_without_a_guide_is_checked_by_its_service_segments(kind, bal_found):
    f = bal_found[_no_guide, kind]
    assert "BAL301" in codes(f["005010"])
    assert "BAL301" not in codes(f["X291"])


# --- SNIP 4 situational -------------------------------------------------------------------

PO_BOXES = ["PO BOX 1234", "P.O. Box 12", "POST OFFICE BOX 9", "LOCK BOX 4411", "Lockbox 77",
            "BOX 19", "POB 5"]


@SIT.of(*PO_BOXES)
def _po_box(street):
    return build("P", billing_segs=billing(street=street))


@pytest.mark.parametrize("street", PO_BOXES)
def test_sit401_po_box(street, sit_found):
    hit = one(sit_found[_po_box, street], "SIT401")
    assert hit["segment_id"] == "N3" and hit["element"] == "N301" and hit["claim_id"] == "PCN001"


STREETS = ["123 BOXWOOD LN", "1 POBOY ST", "500 POST OFFICE RD", "12 LOCKE BLVD"]


@SIT.of(*STREETS)
def _street(street):
    return build("I", billing_segs=billing(street=street))


@pytest.mark.parametrize("street", STREETS)
def test_sit401_street_addresses_pass(street, sit_found):
    assert "SIT401" not in codes(sit_found[_street, street])


@SIT.of()
def _po_box_two_claims():
    return build("D", billing_segs=billing(street="PO BOX 1"),
                 claims=[claim("D", "A1"), claim("D", "A2", date="20240116")])


def test_sit401_on_every_claim_of_the_provider(sit_found):
    f = sit_found[_po_box_two_claims]
    assert sorted(f.filter(f["rule"] == "SIT401")["claim_id"].to_list()) == ["A1", "A2"]


@SIT.of(*KINDS)
def _sit402(kind):
    return {"zip5": build(kind, billing_segs=billing(zip="77030")),
            "zip9": build(kind, billing_segs=billing(zip="770301234"))}


@pytest.mark.parametrize("kind", KINDS)
def test_sit402_billing_zip(kind, sit_found):
    f = sit_found[_sit402, kind]
    hit = one(f["zip5"], "SIT402")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("N4", "N403", "77030")
    assert "SIT402" not in codes(f["zip9"])


@SIT.of(*KINDS)
def _foreign(kind):
    # N404 (country) other than US: no ZIP+4 to ask for.
    bill = [s.replace("N4*HOUSTON*TX*770301234", "N4*TORONTO**M5V2T6*CA") for s in billing()]
    cases = {"foreign": build(kind, billing_segs=bill)}
    for us_code in ("US", "usa"):  # (USA is not ISO 3166 but means the US)
        us = [s.replace("N4*HOUSTON*TX*770301234", f"N4*HOUSTON*TX*77030*{us_code}")
              for s in billing()]
        cases[us_code] = build(kind, billing_segs=us)
    fac = [f"NM1*77*2*LAKEVIEW IMAGING*****XX*{FACILITY_NPI}", "N3*9 LAKE RD"]
    c = claim(kind)
    at = next(i for i, s in enumerate(c) if s.startswith("LX*"))
    cases["abroad"] = build(kind, claims=[c[:at] + fac + ["N4*TORONTO**M5V2T6*CA"] + c[at:]])
    cases["home"] = build(kind, claims=[c[:at] + fac + ["N4*HOUSTON*TX*77030*US"] + c[at:]])
    return cases


@pytest.mark.parametrize("kind", KINDS)
def test_sit402_sit403_skip_foreign_addresses(kind, sit_found):
    f = sit_found[_foreign, kind]
    assert "SIT402" not in codes(f["foreign"])
    for us_code in ("US", "usa"):
        assert "SIT402" in codes(f[us_code])
    assert "SIT403" not in codes(f["abroad"])
    assert "SIT403" in codes(f["home"])


@SIT.of(*KINDS)
def _sit403(kind):
    fac = [f"NM1*77*2*LAKEVIEW IMAGING*****XX*{FACILITY_NPI}", "N3*9 LAKE RD"]
    c = claim(kind)
    at = next(i for i, s in enumerate(c) if s.startswith("LX*"))
    return {"zip5": build(kind, claims=[c[:at] + fac + ["N4*HOUSTON*TX*77030"] + c[at:]]),
            "zip9": build(kind, claims=[c[:at] + fac + ["N4*HOUSTON*TX*770309999"] + c[at:]])}


@pytest.mark.parametrize("kind", KINDS)
def test_sit403_facility_zip(kind, sit_found):
    f = sit_found[_sit403, kind]
    hit = one(f["zip5"], "SIT403")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("N4", "N403", "77030")
    assert "SIT403" not in codes(f["zip9"])


_WRONG_NPI = BILLING_NPI[:9] + str((int(BILLING_NPI[9]) + 1) % 10)


@SIT.of(*KINDS)
def _sit404(kind):
    return {"wrong": build(kind, billing_segs=billing(npi=_WRONG_NPI)),
            "short": build(kind, billing_segs=billing(npi="12345"))}


@pytest.mark.parametrize("kind", KINDS)
def test_sit404_npi_check_digit(kind, sit_found):
    f = sit_found[_sit404, kind]
    hit = one(f["wrong"], "SIT404")
    assert hit["found"] == _WRONG_NPI and hit["expected"] == f"check digit {BILLING_NPI[9]}"
    assert hit["claim_id"] == "PCN001"  # 2010AA finding lands on the provider's claims
    assert one(f["short"], "SIT404")["expected"] == "10 digits"


@SIT.of()
def _known_npis():
    # 1234567893 is the CMS example NPI; every valid NPI in the builder passes.
    rendering = [s if not s.startswith("NM1*82") else "NM1*82*1*SMITH*ANNA****XX*1234567890"
                 for s in claim("P")]
    return {"cms": build("P", billing_segs=billing(npi="1234567893")),
            "rendering": build("P", claims=[rendering])}


def test_sit404_known_npis(sit_found):
    f = sit_found[_known_npis]
    assert "SIT404" not in codes(f["cms"])
    hit = one(f["rendering"], "SIT404")
    assert hit["found"] == "1234567890" and "NM1*82" in hit["message"]


@SIT.of(*KINDS)
def _sit405(kind):
    return {"dashes": build(kind, billing_segs=billing(ref="REF*EI*74-1234567")),
            "gone": build(kind, billing_segs=billing()[:-1]),
            "ssn": build(kind, billing_segs=billing(ref="REF*SY*12345678")),
            "ssn_ok": build(kind, billing_segs=billing(ref="REF*SY*123456789"))}


@pytest.mark.parametrize("kind", KINDS)
def test_sit405_billing_tax_id(kind, sit_found):
    f = sit_found[_sit405, kind]
    hit = one(f["dashes"], "SIT405")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("REF", "REF02", "74-1234567")
    hit = one(f["gone"], "SIT405")
    assert hit["segment_id"] == "NM1"
    hit = one(f["ssn"], "SIT405")
    # (837I: the SSN itself is the error, SIT405 names REF01)
    assert hit["found"] == ("SY" if kind == "I" else "***5678")
    assert "12345678" not in hit["message"]
    assert ("SIT405" in codes(f["ssn_ok"])) == (kind == "I")


@SIT.of()
def _institutional_ein():
    return {"ssn": build("I", billing_segs=billing(ref="REF*SY*123456789")), "ein": build("I")}


def test_sit405_institutional_billing_provider_needs_ein(sit_found):
    # 837I (X223A2) 2010AA REF01 is EI only; REF*SY is for 837P/837D.
    f = sit_found[_institutional_ein]
    hit = one(f["ssn"], "SIT405")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("REF", "REF01", "SY")
    assert "123456789" not in hit["message"] and "REF*EI" in hit["message"]
    assert "SIT405" not in codes(f["ein"])


@SIT.of(*KINDS)
def _sit406(kind):
    base = claim(kind)
    repl = [base[0].replace(":1*", ":7*", 1), *base[1:]]
    fixed = claim(kind, head=["REF*F8*ICN12345"])
    fixed = [fixed[0].replace(":1*", ":8*", 1), *fixed[1:]]
    return {"replacement": build(kind, claims=[repl]), "fixed": build(kind, claims=[fixed])}


@pytest.mark.parametrize("kind", KINDS)
def test_sit406_replacement_needs_f8(kind, sit_found):
    f = sit_found[_sit406, kind]
    hit = one(f["replacement"], "SIT406")
    assert hit["element"] == "CLM05-3" and hit["found"] == "7"
    assert "SIT406" not in codes(f["fixed"])


@SIT.of()
def _professional_dates():
    lines = [["SV1*HC:99213*100*UN*1***1"], ["SV1*HC:36415*50*UN*1***1", "DTP*472*D8*20240115"]]
    head = claim("P", head=["DTP*472*D8*20240115"], lines=[["SV1*HC:99213*100*UN*1***1"],
                                                           ["SV1*HC:36415*50*UN*1***1"]])
    return {"one_undated": build("P", claims=[claim("P", lines=lines)]),
            "claim_date": build("P", claims=[head])}


def test_sit407_professional_line_needs_date(sit_found):
    f = sit_found[_professional_dates]
    hits = f["one_undated"].filter(pl.col("rule") == "SIT407")
    assert hits.height == 1 and hits["segment_id"][0] == "SV1"
    # 837P has no claim-level DTP*472: each line needs its own (the message says so).
    hits = f["claim_date"].filter(pl.col("rule") == "SIT407")
    assert hits.height == 2 and "837P carries the service date on each line" in hits["message"][0]


_UNDATED_DENTAL = [["SV3*AD:D0120*100*11***1*****1"], ["SV3*AD:D1110*50*11***1*****1"]]


@SIT.of()
def _dental_dates():
    undated = _UNDATED_DENTAL
    # A claim-level DTP*472 covers every dental line.
    ok = claim("D", head=["DTP*472*D8*20240115"], lines=undated)
    # A predetermination (CLM19 = PB) has no service dates yet.
    pb = claim("D", clm="CLM*PCN001*150***11:B:1*Y*A*Y*I**********PB", lines=undated)
    # Not a rule of the institutional guide (its lines' dates are checked by the guide).
    i = claim("I", lines=[["SV2*0450*HC:99283*100*UN*1"], ["SV2*0300*HC:85025*50*UN*1"]])
    return {"undated": build("D", claims=[claim("D", lines=undated)]),
            "claim_date": build("D", claims=[ok]), "predetermination": build("D", claims=[pb]),
            "institutional": build("I", claims=[i])}


def test_sit407_dental_line_needs_line_or_claim_date(sit_found):
    f = sit_found[_dental_dates]
    hits = f["undated"].filter(pl.col("rule") == "SIT407")
    assert hits.height == 2 and set(hits["segment_id"]) == {"SV3"}
    assert "SIT407" not in codes(f["claim_date"])
    assert "SIT407" not in codes(f["predetermination"])
    assert "SIT407" not in codes(f["institutional"])


@SIT.of("P", "D")
def _bad_service_date(kind):
    # The line has a DTP*472 whose date is not real: SIT408 reports it, not SIT407.
    cases = {"line": build(kind, claims=[claim(kind, date="20240230")])}
    if kind == "D":  # likewise a dental claim-level date
        bad = claim("D", head=["DTP*472*D8*20241301"], lines=_UNDATED_DENTAL)
        cases["claim"] = build("D", claims=[bad])
    return cases


@pytest.mark.parametrize("kind", ["P", "D"])
def test_sit407_not_for_a_bad_date(kind, sit_found):
    f = sit_found[_bad_service_date, kind]
    assert "SIT408" in codes(f["line"]) and "SIT407" not in codes(f["line"])
    if kind == "D":
        assert "SIT408" in codes(f["claim"]) and "SIT407" not in codes(f["claim"])


@SIT.of(*KINDS)
def _sit408(kind):
    return {"service": build(kind, claims=[claim(kind, date="20240230")]),
            "birth": build(kind, subscriber_segs=subscriber(birth="19801301")),
            "range": build(kind, claims=[claim(kind, head=["DTP*454*RD8*20240101-2024011"])])}


@pytest.mark.parametrize("kind", KINDS)
def test_sit408_real_dates(kind, sit_found):
    f = sit_found[_sit408, kind]
    hit = one(f["service"], "SIT408")
    assert (hit["segment_id"], hit["element"]) == ("DTP", "DTP03")
    assert hit["found"].startswith("20240230")
    hit = one(f["birth"], "SIT408")
    assert hit["segment_id"] == "DMG" and hit["found"] is None
    assert "19801301" not in hit["message"] and hit["claim_id"] == "PCN001"
    assert one(f["range"], "SIT408")["found"] == "20240101-2024011"


@SIT.of(*KINDS)
def _sit409(kind):
    return {"backward": build(kind, claims=[claim(kind, head=["DTP*454*RD8*20240131-20240101"])]),
            "forward": build(kind, claims=[claim(kind, head=["DTP*454*RD8*20240101-20240131"])])}


@pytest.mark.parametrize("kind", KINDS)
def test_sit409_range_backward(kind, sit_found):
    f = sit_found[_sit409, kind]
    assert one(f["backward"], "SIT409")["found"] == "20240131-20240101"
    assert "SIT409" not in codes(f["forward"])


@SIT.of(*KINDS)
def _sit410(kind):
    return {"after": build(kind, claims=[claim(kind, date="20250102")], bht_date="20250101"),
            "same_day": build(kind, claims=[claim(kind, date="20250101")], bht_date="20250101")}


@pytest.mark.parametrize("kind", KINDS)
def test_sit410_service_after_creation(kind, sit_found):
    f = sit_found[_sit410, kind]
    hit = one(f["after"], "SIT410")
    assert hit["found"].startswith("20250102") and hit["claim_id"] == "PCN001"
    assert "SIT410" not in codes(f["same_day"])


@SIT.of(*KINDS)
def _sit411(kind):
    return {"patient": build(kind, patient_segs=patient(birth="20240201")),
            "subscriber": build(kind, subscriber_segs=subscriber(birth="20240116")),
            "same_day": build(kind, patient_segs=patient(birth="20240115"))}


@pytest.mark.parametrize("kind", KINDS)
def test_sit411_birth_after_service(kind, sit_found):
    f = sit_found[_sit411, kind]
    hit = one(f["patient"], "SIT411")
    assert hit["segment_id"] == "DMG" and "20240201" not in hit["message"]
    assert one(f["subscriber"], "SIT411")["element"] == "DMG02"
    assert "SIT411" not in codes(f["same_day"])


@SIT.of(*KINDS)
def _self_with_patient(kind):
    sub = subscriber()  # SBR02 = 18
    return build(kind, subscriber_segs=sub, patient_segs=patient())


@pytest.mark.parametrize("kind", KINDS)
def test_sit412_self_with_patient_loop(kind, sit_found):
    hit = one(sit_found[_self_with_patient, kind], "SIT412")
    assert (hit["segment_id"], hit["element"]) == ("SBR", "SBR02")


@SIT.of(*KINDS)
def _sit412_without_patient(kind):
    # No 2000C loop: the subscriber is the patient and SBR02 must be 18.
    return {"empty": build(kind, subscriber_segs=subscriber("SBR*P**GRP01******CI")),
            "spouse": build(kind, subscriber_segs=subscriber("SBR*P*01*GRP01******CI")),
            "patient": build(kind, patient_segs=patient())}


@pytest.mark.parametrize("kind", KINDS)
def test_sit412_subscriber_is_patient_without_sbr02(kind, sit_found):
    f = sit_found[_sit412_without_patient, kind]
    hit = one(f["empty"], "SIT412")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("SBR", "SBR02", None)
    assert hit["expected"] == "18" and hit["claim_id"] == "PCN001"
    assert one(f["spouse"], "SIT412")["found"] == "01"
    # With a patient loop SBR02 stays empty.
    assert "SIT412" not in codes(f["patient"])


def _cob(kind: str, *sbr01: str) -> list[str]:
    base = claim(kind)
    at = next(i for i, s in enumerate(base) if s.startswith("LX*"))
    loops: list[str] = []
    for i, code in enumerate(sbr01):
        loops += [f"SBR*{code}*01*GRP9******CI", "OI***Y***Y",
                  f"NM1*IL*1*ROE*MARY****MI*X{i}99", f"NM1*PR*2*OTHER PAYER {i}*****PI*9{i}"]
    return base[:at] + loops + base[at:]


@SIT.of(*KINDS)
def _sit413(kind):
    secondary = subscriber("SBR*S*18*GRP01******CI")
    return {"one_primary": build(kind, claims=[_cob(kind, "S")]),
            "two": build(kind, claims=[_cob(kind, "P")]),
            "none": build(kind, subscriber_segs=secondary, claims=[_cob(kind, "T")]),
            "other_primary": build(kind, subscriber_segs=secondary, claims=[_cob(kind, "P")])}


@pytest.mark.parametrize("kind", KINDS)
def test_sit413_exactly_one_primary(kind, sit_found):
    f = sit_found[_sit413, kind]
    assert not codes(f["one_primary"]) & {"SIT413", "SIT414"}
    hit = one(f["two"], "SIT413")
    assert hit["found"] == "P,P" and hit["segment_id"] == "SBR"
    assert one(f["none"], "SIT413")["found"] == "S,T"
    assert "SIT413" not in codes(f["other_primary"])


@SIT.of(*KINDS)
def _sit414(kind):
    return {"SS": build(kind, claims=[_cob(kind, "S", "S")]),
            "ST": build(kind, claims=[_cob(kind, "S", "T")]),
            "UU": build(kind, claims=[_cob(kind, "U", "U")])}


@pytest.mark.parametrize("kind", KINDS)
def test_sit414_sequence_codes_unique(kind, sit_found):
    f = sit_found[_sit414, kind]
    hits = f["SS"].filter(pl.col("rule") == "SIT414")
    assert hits.height == 1 and hits["found"][0] == "S"
    assert "SIT414" not in codes(f["ST"])
    assert "SIT414" not in codes(f["UU"])


@SIT.of("P", "D")
def _sit415(kind):
    if kind == "P":
        lines = [["SV1*HC:99213*100*UN*1***1:3", "DTP*472*D8*20240115"],
                 ["SV1*HC:36415*50*UN*1***2", "DTP*472*D8*20240115"]]
        hi = "HI*ABK:J069*ABF:R509"
    else:
        lines = [["SV3*AD:D0120*100*11***1*****1:2", "DTP*472*D8*20240115"],
                 ["SV3*AD:D1110*50*11***1*****1", "DTP*472*D8*20240115"]]
        hi = "HI*ABK:K021"
    return build(kind, claims=[claim(kind, lines=lines, hi=hi)])


@pytest.mark.parametrize("kind", ["P", "D"])
def test_sit415_diagnosis_pointers(kind, sit_found):
    f = sit_found[_sit415, kind]
    hits = f.filter(f["rule"] == "SIT415")
    assert hits.height == 1
    assert hits["element"][0] == ("SV107" if kind == "P" else "SV311")
    assert hits["found"][0] == ("1:3" if kind == "P" else "1:2")


@SIT.of(*KINDS)
def _sit416(kind):
    line = {"P": "SV1*HC:99213*150*UN*0***1", "I": "SV2*0450*HC:99283*150*UN*0",
            "D": "SV3*AD:D0120*150*11***0*****1"}[kind]
    return build(kind, claims=[claim(kind, lines=[[line, "DTP*472*D8*20240115"]])])


@pytest.mark.parametrize("kind", KINDS)
def test_sit416_units_positive(kind, sit_found):
    hit = one(sit_found[_sit416, kind], "SIT416")
    assert hit["element"] == {"P": "SV104", "I": "SV205", "D": "SV306"}[kind]
    assert hit["found"] == "0"


@SIT.of(*KINDS)
def _sit417(kind):
    sub = [s.replace("NM1*IL*1*DOE*JOHN", "NM1*IL*1*DOE*") for s in subscriber()]
    c = [s.replace("NM1*82*1*SMITH*ANNA", "NM1*82*1**ANNA").replace(
        "NM1*71*1*SMITH*ANNA", "NM1*71*1**ANNA") for s in claim(kind)]
    org = [s.replace("NM1*82*1*SMITH*ANNA", "NM1*82*2*SMITH GROUP*").replace(
        "NM1*71*1*SMITH*ANNA", "NM1*71*2*SMITH GROUP*") for s in claim(kind)]
    return {"subscriber": build(kind, subscriber_segs=sub), "provider": build(kind, claims=[c]),
            "organization": build(kind, claims=[org])}


@pytest.mark.parametrize("kind", KINDS)
def test_sit417_person_names(kind, sit_found):
    f = sit_found[_sit417, kind]
    hit = one(f["subscriber"], "SIT417")
    assert hit["element"] == "NM104" and "subscriber" in hit["message"]
    assert "DOE" not in hit["message"] and hit["claim_id"] == "PCN001"
    assert one(f["provider"], "SIT417")["element"] == "NM103"
    assert "SIT417" not in codes(f["organization"])


@SIT.of(*KINDS)
def _sit417_other_payer(kind):
    # 2330x provider loops (NM1*82/71/72/DN… with NM102 = 1) carry no name: NM103-NM109
    # are not used there.
    providers = ["NM1*82*1", "REF*G2*PBS3334", "NM1*71*1", "REF*G2*A1", "NM1*72*1",
                 "REF*G2*A2", "NM1*DN*1", "REF*G2*A3"]
    c = _cob(kind, "S")
    at = next(i for i, s in enumerate(c) if s.startswith("LX*"))
    # The 2320 other subscriber's name is not checked either; the 2310B one still is.
    names = [s.replace("NM1*IL*1*ROE*MARY", "NM1*IL*1*ROE*").replace(
        "NM1*82*1*SMITH*ANNA", "NM1*82*1*SMITH*").replace(
        "NM1*71*1*SMITH*ANNA", "NM1*71*1*SMITH*") for s in _cob(kind, "S")]
    return {"providers": build(kind, claims=[c[:at] + providers + c[at:]]),
            "names": build(kind, claims=[names])}


@pytest.mark.parametrize("kind", KINDS)
def test_sit417_not_in_other_payer_provider_loops(kind, sit_found):
    f = sit_found[_sit417_other_payer, kind]
    assert "SIT417" not in codes(f["providers"])
    hits = f["names"].filter(pl.col("rule") == "SIT417")
    assert hits.height == 1 and hits["message"][0].startswith(
        "the rendering provider's" if kind != "I" else "the attending provider's")


# --- SNIP 5 code sets ---------------------------------------------------------------------

@CODE.of(*KINDS)
def _code501(kind):
    old = claim(kind, hi="HI*BK:4019", date="20150930")
    return {"icd9": build(kind, claims=[claim(kind, hi="HI*BK:4019")]),
            "before": build(kind, claims=[old], bht_date="20151001")}


@pytest.mark.parametrize("kind", KINDS)
def test_code501_icd9_after_cutover(kind, code_found):
    f = code_found[_code501, kind]
    hit = one(f["icd9"], "CODE501")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("HI", "HI01-1", "BK")
    assert "CODE501" not in codes(f["before"])


@CODE.of(*KINDS)
def _code502(kind):
    old = claim(kind, hi="HI*ABK:I10", date="20150930")
    new = claim(kind, hi="HI*ABK:I10", date="20151001")
    return {"before": build(kind, claims=[old], bht_date="20151001"),
            "after": build(kind, claims=[new], bht_date="20151001")}


@pytest.mark.parametrize("kind", KINDS)
def test_code502_icd10_before_cutover(kind, code_found):
    f = code_found[_code502, kind]
    assert one(f["before"], "CODE502")["found"] == "ABK"
    assert "CODE502" not in codes(f["after"])


ICD10_BAD = ["J06.9", "j069", "12345", "J0", "J06912345"]


@CODE.of(*[(kind, code) for kind in KINDS for code in ICD10_BAD])
def _code503(kind, code):
    return build(kind, claims=[claim(kind, hi=f"HI*ABK:J069*ABF:{code}")])


@pytest.mark.parametrize("code", ICD10_BAD)
@pytest.mark.parametrize("kind", KINDS)
def test_code503_icd10_shape(kind, code, code_found):
    hit = one(code_found[_code503, (kind, code)], "CODE503")
    assert (hit["element"], hit["found"]) == ("HI02-2", code)


@CODE.of()
def _code503_good():
    hi = "HI*ABK:S93401A*ABF:Z23*ABF:U071*ABF:M1711"
    return {"icd10": build("P", claims=[claim("P", hi=hi)]),
            "pcs": build("I", claims=[claim("I", head=["HI*BBR:0DTJ4ZZ:D8:20240115"])]),
            "pcs_short": build("I", claims=[claim("I", head=["HI*BBR:0DTJ4Z:D8:20240115"])])}


def test_code503_good_codes(code_found):
    f = code_found[_code503_good]
    assert "CODE503" not in codes(f["icd10"])
    assert "CODE503" not in codes(f["pcs"])
    assert one(f["pcs_short"], "CODE503")["found"] == "0DTJ4Z"


@CODE.of("P", "D")
def _code504(kind):
    base = claim(kind)
    bad = [base[0].replace("*11:B:", "*1:B:"), *base[1:]]
    line = {"P": "SV1*HC:99213*150*UN*1*30**1", "D": "SV3*AD:D0120*150*30***1*****1"}[kind]
    ok = {"P": "SV1*HC:99213*150*UN*1*02**1", "D": "SV3*AD:D0120*150*02***1*****1"}[kind]
    return {"claim": build(kind, claims=[bad]),
            "line": build(kind, claims=[claim(kind, total="150",
                                              lines=[[line, "DTP*472*D8*20240115"]])]),
            "telehealth": build(kind, claims=[claim(kind, total="150",
                                                    lines=[[ok, "DTP*472*D8*20240115"]])])}


@pytest.mark.parametrize("kind", ["P", "D"])
def test_code504_place_of_service(kind, code_found):
    f = code_found[_code504, kind]
    hit = one(f["claim"], "CODE504")
    assert (hit["element"], hit["found"]) == ("CLM05-1", "1")
    assert one(f["line"], "CODE504")["element"] == ("SV105" if kind == "P" else "SV303")
    assert "CODE504" not in codes(f["telehealth"])


@CODE.of()
def _institutional_bill_type():
    return build("I")


def test_code504_not_for_institutional_bill_type(code_found):
    # 837I CLM05-1 is a facility type code (13 = hospital outpatient), not a place of service.
    assert "CODE504" not in codes(code_found[_institutional_bill_type])


@CODE.of(*KINDS)
def _code505(kind):
    cob = [s.replace("SBR*S*01*GRP9******CI", "SBR*S*01*GRP9******XX") for s in _cob(kind, "S")]
    return {"C1": build(kind, subscriber_segs=subscriber("SBR*P*18*GRP01******C1")),
            "missing": build(kind, subscriber_segs=subscriber("SBR*P*18*GRP01")),
            "other_payer": build(kind, claims=[cob])}


@pytest.mark.parametrize("kind", KINDS)
def test_code505_claim_filing_indicator(kind, code_found):
    f = code_found[_code505, kind]
    hit = one(f["C1"], "CODE505")
    assert (hit["element"], hit["found"], hit["claim_id"]) == ("SBR09", "C1", "PCN001")
    assert one(f["missing"], "CODE505")["found"] is None
    hit = one(f["other_payer"], "CODE505")
    assert "2320" in hit["message"]


@CODE.of()
def _code506():
    lines = [["SV2*450*HC:99283*100*UN*1", "DTP*472*D8*20240115"],
             ["SV2*0300*HC:85025*50*UN*1", "DTP*472*D8*20240115"]]
    return build("I", claims=[claim("I", lines=lines)])


def test_code506_revenue_code(code_found):
    f = code_found[_code506]
    hits = f.filter(f["rule"] == "CODE506")
    assert hits.height == 1 and hits["found"][0] == "450" and hits["element"][0] == "SV201"


PROCEDURES = [
    ("P", "99213", True), ("P", "0001F", True), ("P", "0042T", True), ("P", "0001U", True),
    ("P", "J1885", True), ("P", "9921", False), ("P", "99213-25", False), ("P", "A12345", False),
    ("I", "G0463", True), ("I", "ABCDE", False), ("D", "D0120", True), ("D", "0120", False),
]


@CODE.of(*[(kind, code) for kind, code, _ in PROCEDURES])
def _code507(kind, code):
    line = {"P": f"SV1*HC:{code}*150*UN*1***1", "I": f"SV2*0450*HC:{code}*150*UN*1",
            "D": f"SV3*AD:{code}*150*11***1*****1"}[kind]
    return build(kind, claims=[claim(kind, total="150", lines=[[line, "DTP*472*D8*20240115"]])])


@pytest.mark.parametrize(("kind", "code", "ok"), PROCEDURES)
def test_code507_procedure_shape(kind, code, ok, code_found):
    f = code_found[_code507, (kind, code)]
    if ok:
        assert "CODE507" not in codes(f)
    else:
        hit = one(f, "CODE507")
        assert hit["found"] == code and hit["element"].endswith("-2")


_TERRITORIES = ("PR", "GU", "VI", "DC", "AE")


@CODE.of(*KINDS)
def _code508(kind):
    sub = [s.replace("N4*HOUSTON*TX*770301111", "N4*TORONTO*ON*M5V2T6*CA") for s in subscriber()]
    return {"TE": build(kind, billing_segs=billing(state="TE")),
            "abroad": build(kind, subscriber_segs=sub),
            **{state: build(kind, billing_segs=billing(state=state)) for state in _TERRITORIES}}


@pytest.mark.parametrize("kind", KINDS)
def test_code508_state_codes(kind, code_found):
    f = code_found[_code508, kind]
    hit = one(f["TE"], "CODE508")
    assert (hit["element"], hit["found"], hit["claim_id"]) == ("N402", "TE", "PCN001")
    assert "CODE508" not in codes(f["abroad"])
    for state in _TERRITORIES:
        assert "CODE508" not in codes(f[state])


@CODE.of(*KINDS)
def _code509(kind):
    return build(kind, billing_segs=billing(taxonomy="207Q00000"))


@pytest.mark.parametrize("kind", KINDS)
def test_code509_taxonomy_shape(kind, code_found):
    hit = one(code_found[_code509, kind], "CODE509")
    assert (hit["segment_id"], hit["element"], hit["found"]) == ("PRV", "PRV03", "207Q00000")
    assert hit["claim_id"] == "PCN001"


# --- batch duplicates ---------------------------------------------------------------------
# These compare the claims of a batch: each scenario is checked on its own.

@pytest.mark.parametrize("kind", KINDS)
def test_dup401_claim_id_twice(kind, tmp_path):
    text = build(kind, claims=[claim(kind, "SAME1"), claim(kind, "SAME1", date="20240116")])
    f = dup(text, tmp_path)
    hits = f.filter(f["rule"] == "DUP401")
    assert hits.height == 1 and hits["claim_id"][0] == "SAME1"
    assert hits["segment_index"][0] > 10
    # Across the files of one batch too.
    f = dup([build(kind), build(kind)], tmp_path)
    hits = f.filter(f["rule"] == "DUP401")
    assert hits.height == 1 and "claims0.837" in hits["message"][0]


@pytest.mark.parametrize("kind", KINDS)
def test_dup401_scoped_by_billing_provider_and_payer(kind, tmp_path):
    # COB: the primary and the secondary claim keep the patient control number.
    other_payer = [s.replace("PI*12345", "PI*67890") for s in subscriber()]
    f = dup([build(kind), build(kind, subscriber_segs=other_payer)], tmp_path)
    assert "DUP401" not in codes(f)
    # Two billing providers may use the same CLM01.
    other_npi = billing(npi=npi("170000009"))
    assert "DUP401" not in codes(dup([build(kind), build(kind, billing_segs=other_npi)],
                                     tmp_path))
    # Missing NPIs or payer IDs compare equal.
    no_ids = build(kind, billing_segs=[s.replace(f"*XX*{BILLING_NPI}", "") for s in billing()],
                   subscriber_segs=[s.replace("*PI*12345", "") for s in subscriber()])
    hits = dup([no_ids, no_ids], tmp_path).filter(pl.col("rule") == "DUP401")
    assert hits.height == 1 and hits["file_id"][0] == 1


@pytest.mark.parametrize("kind", KINDS)
def test_dup402_probable_duplicate(kind, tmp_path):
    f = dup(build(kind, claims=[claim(kind, "A1"), claim(kind, "A2")]), tmp_path)
    hits = f.filter(f["rule"] == "DUP402")
    assert hits.height == 1 and hits["claim_id"][0] == "A2" and hits["severity"][0] == "warning"
    assert "A1" in hits["message"][0]
    differ = [claim(kind, "A1"), claim(kind, "A2", total="160", charges=("100", "60"))]
    assert "DUP402" not in codes(dup(build(kind, claims=differ), tmp_path))
    other_day = [claim(kind, "A1"), claim(kind, "A2", date="20240116")]
    assert "DUP402" not in codes(dup(build(kind, claims=other_day), tmp_path))


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
    f = dup(build("I", claims=[hospital, again, snf, longer, other_revs]), tmp_path)
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
    assert "DUP402" not in codes(dup([one, two], tmp_path))
    f = dup([one, build(kind, claims=[claim(kind, "A2")])], tmp_path)
    assert "of claims0.837)" in one_finding(f, "DUP402")["message"]  # the earlier claim's file


@BAL.of(*KINDS)
def _batch_apart(kind):
    # Both SVDs sit at the same segment position of their file; each file's CAS counts for
    # its own SVD only (segment positions are per file).
    a = build(kind, claims=[_adjudicated(kind, "70", ["CAS*CO*45*30"])])
    b = build(kind, claims=[_adjudicated(kind, "60", ["CAS*CO*45*40"])])
    c = build(kind, claims=[_adjudicated(kind, "60", ["CAS*CO*45*30"])])
    return {"balanced": [a, b], "unbalanced": [a, c]}


@pytest.mark.parametrize("kind", KINDS)
def test_bal304_keeps_the_files_of_a_batch_apart(kind, bal_found):
    f = bal_found[_batch_apart, kind]
    assert "BAL304" not in codes(f["balanced"])
    assert one(f["unbalanced"], "BAL304")["found"] == "90.00"
