"""Claims and lines tables on the hand-checked files in sample_edi/ (values read off the
files by eye) and on small HL-chain variants."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from edi_builder import edi, interchange, transaction
from helpers import SAMPLES, check_files, write_edi


@pytest.fixture(scope="module")
def batch():
    names = ("clean-837p.edi", "clean-837i.edi", "clean-837d.edi")
    return check_files(*(SAMPLES / n for n in names)).batch


def claim(batch, claim_id: str) -> dict:
    rows = batch.claims.filter(batch.claims["claim_id"] == claim_id).to_dicts()
    assert len(rows) == 1
    return rows[0]


def lines_of(batch, claim_id: str) -> list[dict]:
    key = claim(batch, claim_id)["claim_key"]
    return batch.lines.filter(batch.lines["claim_key"] == key).sort("line_key").to_dicts()


def subset(row: dict, **expected) -> dict:
    return {k: row[k] for k in expected}


def test_one_row_per_clm_and_lx(batch):
    assert batch.claims["claim_id"].to_list() == ["PCLM001", "PCLM002", "PCLM003", "ICLM001",
                                                  "ICLM002", "DCLM001"]
    assert batch.claims["transaction_type"].to_list() == ["837P"] * 3 + ["837I"] * 2 + ["837D"]
    assert batch.lines.group_by("claim_key").len().sort("claim_key")["len"].to_list() == [
        2, 3, 1, 3, 2, 3]


def test_837p_position_billing_subscriber_payer(batch):
    c = claim(batch, "PCLM001")
    exp = dict(segment_index=23, isa13="000000101", gs06="101", st02="0001",
               version="005010X222A1", supported=True, bht04=date(2025, 3, 15),
               total_charge="150", facility_code="11", facility_qualifier="B", frequency_code="1",
               billing_name="LONE STAR FAMILY CLINIC", billing_npi="1234567893",
               billing_address1="1200 MAIN ST", billing_address2="SUITE 300",
               billing_city="DALLAS", billing_state="TX", billing_zip="752014321",
               billing_tax_id="751234567", billing_tax_qualifier="EI",
               sbr01="P", sbr02="18", group_number="GRP12345", plan_name="ACME CORP PLAN",
               claim_filing="CI", subscriber_last="DOE", subscriber_first="JOHN",
               member_id="W123456789", subscriber_state="TX", subscriber_birth=date(1980, 5, 12),
               payer_name="AETNA", payer_id_qualifier="PI", payer_id="60054",
               payer_address1="PO BOX 981106", payer_city="EL PASO", payer_state="TX",
               payer_zip="799981106", patient_is_subscriber=True, patient_last=None,
               patient_relationship=None, onset_date=date(2025, 3, 1), patient_paid="20",
               rendering_npi="1987654328", facility_npi=None,
               service_date_from=date(2025, 3, 3), service_date_to=date(2025, 3, 3))
    assert subset(c, **exp) == exp


def test_837p_service_facility_and_span(batch):
    c = claim(batch, "PCLM002")
    exp = dict(segment_index=35, total_charge="325", facility_code="22",
               facility_name="NORTH DALLAS SURGERY CENTER", facility_npi="1456789019",
               facility_city="PLANO", facility_state="TX", facility_zip="750241234",
               rendering_npi=None, member_id="W123456789", patient_paid=None,
               # lines on 03-04, 03-06 and 03-05: span is min..max, not first..last
               service_date_from=date(2025, 3, 4), service_date_to=date(2025, 3, 6))
    assert subset(c, **exp) == exp


def test_837p_patient_resolved_through_the_hl_chain(batch):
    c = claim(batch, "PCLM003")
    exp = dict(segment_index=62, patient_is_subscriber=False, patient_relationship="19",
               patient_last="ROE", patient_first="LILY", patient_birth=date(2015, 7, 9),
               patient_id=None,
               # the subscriber is the parent HL 3, not the first subscriber of the file
               subscriber_last="ROE", subscriber_first="MARY", member_id="W987654321",
               subscriber_birth=date(1975, 2, 3), sbr02=None, group_number="GRP55555",
               payer_id="60054", payer_address1=None,
               billing_npi="1234567893", billing_state="TX", billing_zip="752014321")
    assert subset(c, **exp) == exp


def test_837p_lines(batch):
    cols = ("line_number", "service_segment", "procedure_qualifier", "procedure_code",
            "modifiers", "charge", "unit_basis", "units", "place_of_service",
            "diagnosis_pointers", "line_date_from", "line_date_to", "revenue_code")
    got = [tuple(r[c] for c in cols) for r in lines_of(batch, "PCLM001")
           + lines_of(batch, "PCLM002")]
    d = date(2025, 3, 3)
    assert got == [
        ("1", "SV1", "HC", "99213", ["25"], "100", "UN", "1", "11", ["1", "2"], d, d, None),
        ("2", "SV1", "HC", "87880", [], "50", "UN", "1", "11", ["1"], d, d, None),
        ("1", "SV1", "HC", "20552", [], "200", "UN", "1", "22", ["1"],
         date(2025, 3, 4), date(2025, 3, 4), None),
        ("2", "SV1", "HC", "J1030", ["JW", "RT"], "75", "UN", "2", "22", ["1"],
         date(2025, 3, 6), date(2025, 3, 6), None),
        ("3", "SV1", "HC", "97110", ["GP"], "50", "UN", "2", None, ["1"],
         date(2025, 3, 5), date(2025, 3, 5), None),
    ]
    first = lines_of(batch, "PCLM001")[0]
    assert (first["lx_index"], first["service_index"]) == (29, 30)


def test_837i_claims(batch):
    c = claim(batch, "ICLM001")
    exp = dict(segment_index=23, version="005010X223A2", total_charge="1250", facility_code="13",
               facility_qualifier="A", admission_type="3",
               statement_from=date(2025, 3, 5), statement_to=date(2025, 3, 5),
               billing_name="RIVERSIDE GENERAL HOSPITAL", billing_npi="1678901236",
               billing_city="AUSTIN", billing_state="TX", billing_zip="787011234",
               facility_name="RIVERSIDE OUTPATIENT CENTER", facility_npi="1765432103",
               facility_state="TX", facility_zip="787011299", payer_city="LEXINGTON",
               payer_state="KY", payer_zip="405124079", member_id="W555666777",
               service_date_from=date(2025, 3, 5), service_date_to=date(2025, 3, 5))
    assert subset(c, **exp) == exp
    c = claim(batch, "ICLM002")
    exp = dict(segment_index=40, total_charge="3400", facility_code="11", admission_type="1",
               statement_from=date(2025, 3, 10), statement_to=date(2025, 3, 12),
               admission_date=date(2025, 3, 10), discharge_hour="1130", facility_npi=None,
               service_date_from=date(2025, 3, 10), service_date_to=date(2025, 3, 12))
    assert subset(c, **exp) == exp


def test_837i_lines(batch):
    cols = ("revenue_code", "procedure_qualifier", "procedure_code", "modifiers", "charge",
            "unit_basis", "units", "line_date_from", "line_date_to")
    d = date(2025, 3, 5)
    got = [tuple(r[c] for c in cols) for r in lines_of(batch, "ICLM001")
           + lines_of(batch, "ICLM002")]
    assert got == [
        ("0450", "HC", "99284", ["25"], "900", "UN", "1", d, d),
        ("0300", "HC", "80053", [], "150", "UN", "1", d, d),
        ("0320", "HC", "71046", ["26"], "200", "UN", "1", d, d),
        ("0120", None, None, [], "2400", "DA", "3", date(2025, 3, 10), date(2025, 3, 12)),
        ("0250", None, None, [], "1000", "UN", "10", None, None),
    ]


def test_837d_claim_and_lines(batch):
    c = claim(batch, "DCLM001")
    exp = dict(segment_index=21, version="005010X224A2", total_charge="310",
               claim_date_from=date(2025, 3, 18), claim_date_to=date(2025, 3, 18),
               billing_npi="1333444556", billing_zip="770301234", rendering_npi="1888777665",
               facility_name="BRIGHT SMILES DENTAL WEST", facility_npi="1222333449",
               facility_state="TX", facility_zip="770063210", payer_name="AETNA DENTAL",
               member_id="W246813579", bht04=date(2025, 3, 25))
    assert subset(c, **exp) == exp
    cols = ("service_segment", "procedure_qualifier", "procedure_code", "charge", "units",
            "place_of_service")
    got = [tuple(r[c] for c in cols) for r in lines_of(batch, "DCLM001")]
    assert got == [("SV3", "AD", "D0120", "60", "1", None), ("SV3", "AD", "D1110", "110", "1", None),
                   ("SV3", "AD", "D2391", "140", "1", "11")]


def test_charges_balance_in_the_samples(batch):
    # The samples are meant to be clean: CLM02 = sum of the line charges.
    sums = batch.lines.group_by("claim_key").agg(pl.col("charge").cast(pl.Float64).sum())
    joined = batch.claims.join(sums, on="claim_key")
    assert joined.height == batch.claims.height == 6  # every claim has lines to compare
    assert (joined["total_charge"].cast(pl.Float64) == joined["charge"]).all()


PATIENT_SET = """BHT*0019*00*B1*20250315*1200*CH
HL*1**20*1
NM1*85*2*CLINIC {n}*****XX*1234567893
HL*2*1*22*1
SBR*P**G{n}*******CI
NM1*IL*1*SUB{n}*A****MI*M{n}
NM1*PR*2*PAYER {n}*****PI*P{n}
HL*3*2*23*0
PAT*19
NM1*QC*1*PAT{n}*B
CLM*K{n}*10***11:B:1*Y*A*Y*Y
LX*1
SV1*HC:99213*10*UN*1***1"""


def test_hl_ids_repeat_across_transaction_sets(tmp_path):
    # Every set numbers its HLs from 1: the chain must stay inside its own set.
    sets = [transaction(f"000{n}", body=PATIENT_SET.format(n=n)) for n in (1, 2)]
    batch = check_files(write_edi(tmp_path, edi(interchange(*sets)))).batch
    got = batch.claims.select("claim_id", "billing_name", "subscriber_last", "member_id",
                              "payer_id", "patient_last").rows()
    assert got == [("K1", "CLINIC 1", "SUB1", "M1", "P1", "PAT1"),
                   ("K2", "CLINIC 2", "SUB2", "M2", "P2", "PAT2")]


def test_patient_parent_is_not_the_nearest_subscriber(tmp_path):
    # HL 4 (patient) points back to subscriber HL 2, although HL 3 (another subscriber)
    # stands between them.
    body = """BHT*0019*00*B1*20250315*1200*CH
HL*1**20*1
NM1*85*2*CLINIC*****XX*1234567893
HL*2*1*22*1
SBR*P**G1*******CI
NM1*IL*1*FIRST*A****MI*M1
NM1*PR*2*PAYER*****PI*P1
HL*3*1*22*0
SBR*P*18*G2*******CI
NM1*IL*1*SECOND*B****MI*M2
NM1*PR*2*PAYER*****PI*P2
CLM*OWN*10***11:B:1*Y*A*Y*Y
HL*4*2*23*0
PAT*01
NM1*QC*1*SPOUSE*C
CLM*DEP*10***11:B:1*Y*A*Y*Y"""
    batch = check_files(write_edi(tmp_path, edi(interchange(transaction(body=body))))).batch
    got = batch.claims.select("claim_id", "member_id", "payer_id", "patient_last",
                              "patient_is_subscriber", "billing_npi").rows()
    assert got == [("OWN", "M2", "P2", None, True, "1234567893"),
                   ("DEP", "M1", "P1", "SPOUSE", False, "1234567893")]


def test_other_subscriber_loops_do_not_leak_into_the_claim(tmp_path):
    # 2320/2330 (SBR, NM1*IL/PR of the other payer) and 2420 line loops are not claim data.
    body = PATIENT_SET.format(n=1).replace("CLM*K1*10***11:B:1*Y*A*Y*Y", """CLM*K1*10***11:B:1*Y*A*Y*Y
SBR*S*01*OTHERGRP******CI
NM1*IL*1*OTHER*X****MI*OTHERID
NM1*PR*2*OTHER PAYER*****PI*99999
NM1*77*2*NOT THE FACILITY*****XX*1456789019""") + "\nNM1*82*1*LINE*R****XX*1987654328"
    batch = check_files(write_edi(tmp_path, edi(interchange(transaction(body=body))))).batch
    c = batch.claims.to_dicts()[0]
    assert (c["member_id"], c["payer_id"], c["group_number"]) == ("M1", "P1", "G1")
    assert (c["facility_npi"], c["rendering_npi"]) == (None, None)
    assert batch.lines.height == 1



def _billing(hl: str, name: str) -> str:
    return f"HL*{hl}**20*1\nNM1*85*2*{name}*****XX*1234567893"


def _subscriber(hl: str, parent: str, n: int) -> str:
    """A 2000B subscriber loop with one claim ``C<n>`` for member ``M<n>``."""
    return (f"HL*{hl}*{parent}*22*0\nSBR*P*18*G{n}*******CI\nNM1*IL*1*SUB*A****MI*M{n}\n"
            f"NM1*PR*2*PAYER*****PI*P{n}\nCLM*C{n}*10***11:B:1*Y*A*Y*Y")


def _claims_of(tmp_path, *loops: str) -> list[tuple]:
    body = "\n".join(["BHT*0019*00*B1*20250315*1200*CH", *loops])
    batch = check_files(write_edi(tmp_path, edi(interchange(transaction(body=body))))).batch
    return batch.claims.select("claim_id", "billing_name", "member_id").rows()


def test_repeated_hl_ids_resolve_to_the_nearest_earlier_one(tmp_path):
    # HL IDs must be unique, but a sender restarted them: each parent ID then means the
    # nearest HL with that ID before the child; a forward reference resolves to nothing.
    got = _claims_of(tmp_path, _billing("1", "FIRST"), _subscriber("2", "1", 1),
                     _billing("1", "SECOND"), _subscriber("2", "1", 2),
                     _subscriber("3", "9", 3), _billing("9", "LATE"))
    assert got == [("C1", "FIRST", "M1"), ("C2", "SECOND", "M2"), ("C3", None, "M3")]


def test_forward_parent_reference_resolves_to_nothing(tmp_path):
    # Unique IDs, but the subscriber names a billing HL that only comes later.
    got = _claims_of(tmp_path, _billing("1", "CLINIC"), _subscriber("2", "3", 1),
                     _billing("3", "LATER"))
    assert got == [("C1", None, "M1")]
