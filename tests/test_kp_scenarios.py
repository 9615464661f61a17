"""The KP scenario files: the exact set of KP codes per claim, with and without the roster,
and the ``kp`` object of the JSON report."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest
from click.testing import CliRunner

from tests.kp_helpers import (
    I_FILE,
    I_SCENARIOS,
    P_FILE,
    P_SCENARIOS,
    ROSTER_FILE,
    expected_files,
)
from validator.cli import main
from validator.engine import Selection, check
from validator.rules.api import RunOptions

SCENARIOS = P_SCENARIOS + I_SCENARIOS


def _run(ruleset, members=None):
    return check([P_FILE, I_FILE], ruleset, Selection.build(ruleset),
                 RunOptions(jobs=1, plugin={"members": members} if members else {}))


@pytest.fixture(scope="module")
def plain(ruleset):
    return _run(ruleset)


@pytest.fixture(scope="module")
def rostered(ruleset):
    return _run(ruleset, ROSTER_FILE)


def _kp_codes(result) -> dict[str, set[str]]:
    f = result.findings.filter(pl.col("rule").str.starts_with("KP")).join(
        result.claim_frame(["claim_key", "claim_id"]), on="claim_key", how="left")
    out: dict[str, set[str]] = {}
    for claim_id, code in f.select("claim_id", "rule").iter_rows():
        out.setdefault(claim_id, set()).add(code)
    return out


def test_samples_are_up_to_date():
    for path, text in expected_files().items():
        assert path.read_text(encoding="ascii") == text, (
            f"{path.name} is stale: run `python -m tests.kp_helpers`")


def test_scenario_ids_are_unique_and_every_claim_is_read(plain):
    ids = [s.claim_id for s in SCENARIOS]
    assert len(ids) == len(set(ids))
    assert sorted(plain.batch.claims["claim_id"].to_list()) == sorted(ids)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.claim_id)
def test_kp_codes_without_roster(plain, scenario):
    assert _kp_codes(plain).get(scenario.claim_id, set()) == scenario.expect


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.claim_id)
def test_kp_codes_with_roster(rostered, scenario):
    assert _kp_codes(rostered).get(scenario.claim_id, set()) == scenario.roster_expect


def test_every_rule_fires_and_is_silent_somewhere_in_both_transaction_types(plain):
    # What the run raised (not the scenario table): every KP rule fires on some claim of
    # each transaction type, and some claims of each type raise no KP code at all.
    codes = {"KP100", "KP101", "KP110", "KP120", "KP130", "KP140", "KP150", "KP160", "KP161"}
    raised = _kp_codes(plain)
    for group in (P_SCENARIOS, I_SCENARIOS):
        fired = set().union(*(raised.get(s.claim_id, set()) for s in group))
        assert fired == codes
        assert any(not raised.get(s.claim_id) for s in group)


def test_findings_point_at_the_claim_and_segment(plain):
    f = plain.findings.filter(pl.col("rule").str.starts_with("KP"))
    assert f["claim_key"].null_count() == 0
    assert f["segment_index"].null_count() == 0
    by_rule = dict(f.group_by("rule").agg(pl.col("segment_id").unique().sort()).iter_rows())
    assert by_rule["KP100"] == ["NM1"]
    assert by_rule["KP101"] == ["N3"]
    assert by_rule["KP130"] == ["N4"]
    assert by_rule["KP150"] == ["AMT", "HI"]  # 837P AMT*F5, 837I value code FC
    assert set(by_rule["KP120"]) <= {"SBR", "CLM"}


def test_messages_are_actionable_and_free_of_member_data(rostered):
    f = rostered.findings.filter(pl.col("rule").str.starts_with("KP"))
    member_ids = {s.member_id.strip().upper() for s in SCENARIOS}
    for rule, message, expected, found in f.select("rule", "message", "expected",
                                                   "found").iter_rows():
        text = f"{message} {expected} {found}".upper()
        assert not any(m in text for m in member_ids), (rule, message)
        assert "DOE" not in text and "JANE" not in text and "19800101" not in text
        if rule != "KP101":
            assert "888.831.0761" in message, (rule, message)
    kp100 = f.filter(pl.col("rule") == "KP100")
    for message, expected in kp100.select("message", "expected").iter_rows():
        assert expected in ("62308", "94320")
        if expected == "62308":
            assert "Cigna Medical Claims, P.O. Box 188061, Chattanooga, TN 37422-8061" in message
        else:
            assert ("Kaiser Permanente Insurance Company Claims Administrator, P.O. Box 30547, "
                    "Salt Lake City, UT 84130-0547") in message
    sf = kp100.join(rostered.claim_frame(["claim_key", "claim_id"]), on="claim_key")
    row = sf.filter(pl.col("claim_id") == "P-KP100-SELF-FUNDED-TO-62308").row(0, named=True)
    assert (row["expected"], row["found"]) == ("94320", "62308")
    row = sf.filter(pl.col("claim_id") == "P-KP100-INSURED-TO-94320").row(0, named=True)
    assert (row["expected"], row["found"]) == ("62308", "94320")
    assert "self-funded" in row["message"]


def test_multi_failure_messages_name_the_values_found(plain):
    f = plain.findings.join(plain.claim_frame(["claim_key", "claim_id"]), on="claim_key")
    multi = dict(f.filter(pl.col("claim_id") == "P-KP-MULTI-FAILURES")
                 .select("rule", "message").iter_rows())
    assert "payer ID 12345" in multi["KP100"]
    assert "2022-07-01" in multi["KP110"] and "2022-08-01" in multi["KP110"]
    assert "place of service 11" in multi["KP140"] and "99213" in multi["KP140"]
    assert "25" in multi["KP150"]
    in_ca = dict(f.filter(pl.col("claim_id") == "P-KP130-CA-HMO-OFFICE-TO-62308")
                 .select("rule", "message").iter_rows())
    assert "service facility state CA" in in_ca["KP130"] and "payer ID 62308" in in_ca["KP130"]
    fc = f.filter(pl.col("claim_id") == "I-KP-MULTI-FAILURES", pl.col("rule") == "KP150")
    assert "75 (value code FC)" in fc["message"].item()
    several = f.filter(pl.col("claim_id") == "P-KP161-WA-AND-CO-NAMED", pl.col("rule") == "KP161")
    several = several["message"].item()
    assert "names several regions (CO, WA)" in several


def _json(args) -> dict:
    res = CliRunner().invoke(main, ["check", *args, "--format", "json", "-q", "--no-ig"])
    assert res.exit_code == 1, res.output
    return json.loads(res.stdout)


def test_json_kp_object():
    doc = _json([str(P_FILE), str(I_FILE), "--members", str(ROSTER_FILE)])
    kp = {c["claim_id"]: c["kp"] for c in doc["claims"]}
    assert kp["P-NONKP-CIGNA-OAP"] == {"member": False}
    assert kp["I-NONKP-CIGNA"] == {"member": False}
    ok = kp["P-OK-NCAL-HMO-ER"]
    assert ok["member"] is True and ok["source"] == "plan_name"
    assert (ok["product"], ok["region"], ok["funding"]) == ("HMO", "NCAL", "insured")
    assert ok["expected_payer_id"] == "62308"
    assert ok["expected_payer_name"] == "Cigna Medical Claims"
    assert ok["expected_payer_address"] == "P.O. Box 188061, Chattanooga, TN 37422-8061"
    assert ok["phone"] == "888.831.0761"
    assert "P.O. Box 23100, Oakland, CA 94623" in ok["appeals"]
    assert kp["P-OK-KP-BY-PAYER-NAME"]["source"] == "payer_name"
    assert kp["P-KP100-KP160-KP161-BY-PAYER-ID"]["source"] == "payer_id"
    assert kp["P-KP100-KP160-KP161-BY-PAYER-ID"]["product"] is None
    roster = kp["P-ROSTER-SF-CO-HMO-TO-62308"]
    assert roster["source"] == "roster"
    assert (roster["product"], roster["region"], roster["funding"]) == ("HMO", "CO", "self-funded")
    assert roster["expected_payer_id"] == "94320"
    assert "Salt Lake City" in roster["appeals"]
    assert kp["P-ROSTER-OVERRIDES-PLAN-NAME"]["region"] == "NCAL"
    ppo = kp["P-OK-PPO-OFFICE-VISIT-F5"]
    assert ppo["appeals"].startswith("Call the number listed on the claim denial notice")
    excluded = kp["P-KP120-NW-PPO"]
    assert excluded["routed"] is False and excluded["expected_payer_id"] is None
    assert kp["P-KP160-POS-NO-TIER"]["product"] == "POS"
    assert kp["I-OK-WA-SELF-FUNDED-94320"]["routed"] is True
    in_state = kp["P-OK-CA-HMO-OFFICE-TO-KAISER"]
    assert (in_state["service_state"], in_state["in_kp_state"]) == ("CA", True)
    assert in_state["routed"] is False and in_state["expected_payer_id"] is None
    assert (ok["service_state"], ok["in_kp_state"]) == ("TX", False)


def test_json_has_no_member_ids():
    doc = _json([str(P_FILE), str(I_FILE), "--members", str(ROSTER_FILE)])
    text = json.dumps(doc["findings"])
    assert not re.search(r"KPM100001|RSTR000\d", text, re.I)


def test_kp_rules_can_be_deselected():
    def kp_codes(doc: dict) -> set[str]:
        return {f["rule"] for f in doc["findings"] if f["rule"].startswith("KP")}

    assert kp_codes(_json([str(P_FILE)]))  # the file raises KP codes...
    res = CliRunner().invoke(main, ["check", str(P_FILE), "--format", "json", "-q", "--no-ig",
                                    "--ignore", "KP"])
    doc = json.loads(res.stdout)
    assert kp_codes(doc) == set()  # ...that --ignore KP leaves out
    # Every claim is still read and annotated; the members are still recognised.
    assert len(doc["claims"]) == len(P_SCENARIOS)
    assert all("kp" in c for c in doc["claims"])
    assert any(c["kp"]["member"] for c in doc["claims"])


@pytest.mark.parametrize("path", [P_FILE, I_FILE], ids=lambda p: p.name)
def test_scenario_files_pass_the_implementation_guide(path):
    """The samples break KP rules only: pyx12 finds nothing wrong with them as X12."""
    import io
    import logging

    x12n = pytest.importorskip("pyx12.x12n_document")
    import pyx12.params

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    with path.open(encoding="ascii") as src:
        assert x12n.x12n_document(param=pyx12.params.params(), src_file=src, fd_997=io.StringIO(),
                                  fd_html=None, fd_xmldoc=None, map_path=None)


def test_dental_claims_get_the_kp_object_but_no_kp_rule(tmp_path):
    """The arrangement concerns medical care: a KP member's 837D claim is identified, not
    checked (here it names a Kaiser HMO plan and goes to another payer)."""
    src = (P_FILE.parent / "clean-837d.edi").read_text(encoding="ascii")
    path = tmp_path / "kp-dental.edi"
    path.write_text(src.replace("SBR*P*18*GRP24680******CI~", "SBR*P*18**KAISER NCAL HMO*****CI~"),
                    encoding="ascii")
    res = CliRunner().invoke(main, ["check", str(path), "--format", "json", "-q", "--no-ig"])
    doc = json.loads(res.stdout)
    assert doc["claims"] and all(c["kp"]["member"] for c in doc["claims"])
    assert not [f for f in doc["findings"] if f["rule"].startswith("KP")]
