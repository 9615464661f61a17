"""Identification and derivation of product, region and funding (whole-column, per claim)."""

from __future__ import annotations

import polars as pl
import pytest
from helpers import load_ruleset as load

from validator.model.batch import Batch
from validator.rules.api import Context, RunOptions
from validator_kp.identify import kp_claims, words

COLS = ("member_id", "patient_id", "payer_id", "payer_name", "plan_name", "claim_filing",
        "facility_state", "billing_state")


def _kp(rows: list[dict]) -> list[dict]:
    claims = pl.DataFrame(
        [{"claim_key": i, "supported": True, **{c: r.get(c) for c in COLS}}
         for i, r in enumerate(rows)],
        schema={"claim_key": pl.UInt32, "supported": pl.Boolean, **{c: pl.String for c in COLS}},
    )
    empty = pl.DataFrame()
    ctx = Context(Batch(empty, empty, empty, claims, empty, empty), load(), RunOptions())
    return kp_claims(ctx).sort("claim_key").to_dicts()


@pytest.mark.parametrize(("plan", "sbr09", "product"), [
    ("KAISER NCAL POS 3 TIER", None, "POS3"),
    ("KAISER NCAL POS 3-TIER", None, "POS3"),
    ("KP MAS FLEXIBLE CHOICE", None, "POS3"),
    ("kaiser co pos 2", None, "POS2"),
    ("KAISER CO 2-TIER POS", None, "POS2"),
    ("KAISER GA DUAL CHOICE", None, "PPO"),
    ("KAISER MAS OUT OF AREA PPO", None, "PPO"),
    ("KPIC PPO", None, "PPO"),
    ("KAISER HI EPO", None, "EPO"),
    ("KAISER SCAL HMO", "12", "HMO"),  # SBR04 wins over SBR09
    ("KAISER SCAL POS", None, "POS"),
    ("KAISER GA", "HM", "HMO"),
    ("KAISER GA", "14", "EPO"),
    ("KAISER GA", "13", "POS"),
    ("KAISER GA", "12", "PPO"),
    ("KAISER GA", "CI", None),
    ("KAISER GA", None, None),
    ("KAISER SHMO GA", None, None),  # whole words only
    ("KAISER POS 3 TIER HMO", None, "POS3"),  # keyword order, not position
])
def test_product(plan, sbr09, product):
    [kp] = _kp([{"plan_name": plan, "claim_filing": sbr09}])
    assert kp["member"] is True
    assert kp["product"] == product


@pytest.mark.parametrize(("plan", "region"), [
    ("KAISER NCAL HMO", "NCAL"), ("KAISER NORTHERN CALIFORNIA HMO", "NCAL"),
    ("KAISER SOUTHERN  CALIFORNIA HMO", "SCAL"), ("KAISER SCAL HMO", "SCAL"),
    ("KAISER CO HMO", "CO"), ("KAISER COLORADO HMO", "CO"), ("KAISER GEORGIA", "GA"),
    ("KP HI EPO", "HI"), ("KP HAWAII EPO", "HI"), ("KP MID-ATLANTIC HMO", "MAS"),
    ("KP MAS HMO", "MAS"), ("KP NW HMO", "NW"), ("KAISER NORTHWEST PPO", "NW"),
    ("KAISER WA HMO", "WA"), ("KAISER WASHINGTON HMO", "WA"), ("KAISER CALIFORNIA HMO", None),
    ("KAISER COLORADOAN HMO", None), ("KAISER HMO", None), ("KAISER MID ATLANTIC HMO", "MAS"),
    # Several regions named (two-letter codes collide with words): none is taken (KP161).
    ("KAISER WA HMO CO-PAY", None), ("KAISER PERMANENTE INSURANCE CO NW PPO", None),
    ("KAISER NW PPO HI DEDUCTIBLE", None),
])
def test_region(plan, region):
    [kp] = _kp([{"plan_name": plan}])
    assert kp["region"] == region


@pytest.mark.parametrize(("plan", "funding"), [
    ("KAISER NCAL HMO SELF-FUNDED", "self-funded"), ("KAISER NCAL HMO SELF FUNDED", "self-funded"),
    ("KAISER CO PPO ASO", "self-funded"), ("KAISER CO PPO", "insured"),
    ("KAISER BASOMETHING HMO", "insured"),
])
def test_funding(plan, funding):
    [kp] = _kp([{"plan_name": plan}])
    assert kp["funding"] == funding


def test_payer_id_94320_alone_does_not_make_a_plan_self_funded():
    [kp] = _kp([{"payer_id": "94320", "payer_name": "ANY PAYER", "plan_name": "GROUP 7"}])
    assert (kp["member"], kp["source"], kp["funding"]) == (True, "payer_id", "insured")
    assert kp["expected_payer_id"] == "62308"


def test_source_order_and_non_members():
    rows = [
        {"payer_id": "94320", "payer_name": "KAISER", "plan_name": "KAISER"},
        {"payer_id": "62308", "payer_name": "Kaiser Permanente", "plan_name": "KAISER"},
        {"payer_id": "62308", "payer_name": "CIGNA", "plan_name": "kpic ppo"},
        {"payer_id": "62308", "payer_name": "CIGNA", "plan_name": "OPEN ACCESS PLUS"},
        {"payer_id": "62308", "payer_name": "CIGNA", "plan_name": "KPX PLAN"},
        {"payer_id": "62308", "payer_name": "KAISERS", "plan_name": None},
        {"payer_id": None, "payer_name": None, "plan_name": "KP-CO-HMO"},
    ]
    got = [(k["member"], k["source"]) for k in _kp(rows)]
    assert got == [(True, "payer_id"), (True, "payer_name"), (True, "plan_name"), (False, None),
                   (False, None), (False, None), (True, "plan_name")]
    non = _kp(rows)[3]
    assert all(non[c] is None for c in ("product", "region", "funding", "expected_payer_id",
                                         "appeals", "phone"))


def test_routes_and_appeals():
    rows = [
        {"plan_name": "KAISER NW HMO"},
        {"plan_name": "KAISER NW PPO"},
        {"plan_name": "KAISER NW POS"},  # tier unknown: cannot tell, so not excluded
        {"plan_name": "KAISER WA"},  # every product excluded: excluded even without a product
        {"plan_name": "KAISER WA HMO ASO"},
        {"plan_name": "KAISER CO POS 3"},
    ]
    kp = _kp(rows)
    assert [k["routed"] for k in kp] == [True, False, True, False, True, True]
    assert kp[0]["appeals"].startswith("Kaiser Permanente Northwest")
    assert kp[1]["expected_payer_id"] is None
    assert kp[2]["appeals"] is None
    assert kp[4]["expected_payer_id"] == "94320"
    assert "Salt Lake City" in kp[4]["expected_payer_address"]
    assert kp[5]["appeals"].startswith("Call the number listed")


def test_regions_named_lists_every_match():
    [one, two] = _kp([{"plan_name": "KAISER NCAL HMO"}, {"plan_name": "KAISER WA HMO CO-PAY"}])
    assert (one["regions_named"], two["regions_named"]) == (["NCAL"], ["CO", "WA"])


def test_service_state_and_route_inside_kp_states():
    rows = [
        {"plan_name": "KAISER NCAL HMO", "facility_state": "CA", "billing_state": "TX"},
        {"plan_name": "KAISER NCAL HMO", "facility_state": None, "billing_state": " ca "},
        {"plan_name": "KAISER NCAL HMO", "facility_state": "TX", "billing_state": "CA"},
        {"plan_name": "KAISER NCAL HMO ASO", "facility_state": "CA"},  # self-funded: KPIC
        {"plan_name": "KAISER NCAL HMO", "facility_state": "", "billing_state": None},
    ]
    kp = _kp(rows)
    assert [k["service_state"] for k in kp] == ["CA", "CA", "TX", "CA", None]
    assert [k["in_kp_state"] for k in kp] == [True, True, False, True, False]
    assert [k["routed"] for k in kp] == [False, False, True, True, True]
    assert [k["expected_payer_id"] for k in kp] == [None, None, "62308", "94320", "62308"]


def test_words_regex_is_whole_word():
    rx = words(["KP", "3-TIER", "OUT OF AREA PPO"])
    s = pl.Series(["KP", "a kp b", "KPX", "SKP", "KP-CO", "3-TIER", "33-TIER", "OUT  OF AREA PPO",
                   "OUT OF AREA PPOS"])
    assert s.str.contains(rx).to_list() == [True, True, False, False, True, True, False, True,
                                            False]
