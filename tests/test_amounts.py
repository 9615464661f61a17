"""Amounts and units that are not X12 decimals (NaN, inf, exponents, too many digits) are
findings on their own claim, never an internal error that takes the whole batch down."""

from __future__ import annotations

import json

import polars as pl
import pytest
from edi_builder import build, claim
from generic_helpers import codes, run
from helpers import SAMPLES, run_cli

from validator.rules.generic._common import cents

ARGS = ["check", "--format", "json", "--no-ig"]
BAD_VALUES = ["NaN", "inf", "-inf", "1e25", "1E2", "9223372036854775807", "abc", "+5"]


def test_cents_accepts_only_x12_decimals():
    texts = ["50", "50.", ".5", "-1.5", "1234567890123456.78", "0", *BAD_VALUES, "", None,
             " 5", "1.2.3", "-", ".", "99999999999999999999"]
    got = pl.DataFrame({"a": texts}, schema={"a": pl.String}).select(cents(pl.col("a")))
    assert got.to_series().to_list()[:6] == [5000, 5000, 50, -150, 123456789012345678, 0]
    assert got.to_series().to_list()[6:] == [None] * (len(texts) - 6)


def _findings(args: list[str]) -> tuple[int, dict]:
    code, out, err = run_cli([*ARGS, *args])
    assert "Traceback" not in err
    return code, json.loads(out)


@pytest.fixture(scope="module")
def baseline() -> tuple[int, list[dict]]:
    code, doc = _findings([str(SAMPLES)])
    return code, doc["findings"]


# (original text, replacement template, rule that reports it, the claim it is on)
EDITS = {
    "line charge": ("SV1*HC:87880*50*", "SV1*HC:87880*{}*", "BAL302", "ZPCLM001"),
    "claim total": ("CLM*ZPCLM002*325*", "CLM*ZPCLM002*{}*", "BAL303", "ZPCLM002"),
    "units": ("SV1*HC:99214*120*UN*1*", "SV1*HC:99214*120*UN*{}*", "SIT416", "ZPCLM003"),
}


@pytest.mark.parametrize("value", ["NaN", "inf", "1e25", "9223372036854775807", "1e400", "abc"])
@pytest.mark.parametrize("where", list(EDITS))
def test_bad_amount_is_a_finding_on_its_claim_only(baseline, tmp_path, where, value):
    old, new, rule, claim_id = EDITS[where]
    # A copy of the clean 837P under new claim IDs (no DUP401 against the original).
    text = (SAMPLES / "clean-837p.edi").read_text().replace("CLM*PCLM", "CLM*ZPCLM")
    assert old in text
    bad = tmp_path / "bad.edi"
    bad.write_text(text.replace(old, new.format(value)))
    code, doc = _findings([str(SAMPLES), str(bad)])  # the bad file last: duplicates land on it
    assert code == baseline[0] == 1
    mine = [f for f in doc["findings"] if f["file"] == str(bad)]
    assert [f for f in doc["findings"] if f not in mine] == baseline[1]
    assert not [f for f in mine if f["rule"] == "INT001"]
    hits = [f for f in mine if f["rule"] == rule]
    assert len(hits) == 1 and hits[0]["claim_id"] == claim_id and value in hits[0]["found"]
    # Everything else on the copy is a probable duplicate of the original (a warning) or
    # its interchange control number, used again by the copy (ENV160).
    assert {f["rule"] for f in mine if f["claim_id"] != claim_id} <= {"DUP402", "ENV160"}


@pytest.mark.parametrize("paid, cas", [("NaN", "CAS*CO*45*30"), ("70", "CAS*CO*45*1e1"),
                                       ("abc", "CAS*CO*45*30"), ("70", "CAS*CO*45*inf")])
def test_bal304_reports_paid_or_adjustment_that_is_not_an_amount(tmp_path, paid, cas):
    svd = f"SVD*PAYER1*{paid}*HC:99213**1"
    bad = claim("P", total="100", lines=[["SV1*HC:99213*100*UN*1***1", "DTP*472*D8*20240115",
                                          svd, cas, "DTP*573*D8*20240201"]])
    f = run(build("P", claims=[bad]), tmp_path)
    assert "INT001" not in codes(f)
    hit = f.filter(pl.col("rule") == "BAL304")
    assert hit.height == 1 and "is not an amount" in hit["message"][0]
