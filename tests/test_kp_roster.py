"""The ``--members`` roster: reading, validation errors naming file/row/column, and joins on
the subscriber's member ID or the patient's ID."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from tests.kp_helpers import P_FILE, ROSTER_FILE, Scenario, build
from validator.cli import main
from validator_kp.roster import RosterError, load

HEADER = "member_id,product,region,funding\n"


def _csv(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_sample_roster_loads():
    df = load(ROSTER_FILE)
    assert df.columns == ["member_id", "product", "region", "funding"]
    assert df.height == 6
    assert set(df["funding"]) == {"insured", "self-funded"}


def test_values_are_normalised_and_extra_columns_ignored(tmp_path: Path):
    path = _csv(tmp_path, " ab12 , pos2 , nw , Self Funded ,Jane\n",
                header="Member_ID,Product,Region,Funding,name\n")
    assert load(path).rows() == [("AB12", "POS2", "NW", "self-funded")]


def test_parquet_roster(tmp_path: Path):
    path = tmp_path / "roster.parquet"
    pl.DataFrame({"member_id": ["X1", "X2"], "product": ["HMO", "PPO"], "region": ["CO", "GA"],
                  "funding": ["insured", "insured"]}).write_parquet(path)
    assert load(path)["member_id"].to_list() == ["X1", "X2"]


def test_identical_duplicate_rows_are_accepted(tmp_path: Path):
    path = _csv(tmp_path, "A1,HMO,CO,insured\nA1,HMO,CO,insured\n")
    assert load(path).height == 1


BAD = [
    ("A1,HMO,CO\n", "member_id,product,region\n", "missing column(s) funding"),
    ("A1,HMO,CO,insured\nA2,POS,CO,insured\n", HEADER,
     "line 3, column product: 'POS' is not one of HMO, EPO, POS2, POS3, PPO"),
    ("A1,HMO,TX,insured\n", HEADER, "line 2, column region: 'TX' is not one of NCAL"),
    ("A1,HMO,CO,group\nA2,HMO,CO,\n", HEADER,
     "line 2, column funding: 'group' is not one of insured, self-funded (1 more row(s) like it)"),
    ("A1,HMO,CO,insured\n,HMO,CO,insured\n", HEADER, "line 3, column member_id: empty member ID"),
    ("A1,HMO,CO,insured\nA1,PPO,CO,insured\n", HEADER,
     "lines 2, 3: the same member ID with different product/region/funding"),
    ("", HEADER, "no member rows"),
    ("A1,HMO,CO,insured,extra,more\n", HEADER, "not a readable CSV file"),
]


@pytest.mark.parametrize(("body", "header", "needle"), BAD, ids=[b[2] for b in BAD])
def test_bad_roster_errors_name_file_row_and_column(tmp_path: Path, body, header, needle):
    path = _csv(tmp_path, body, header)
    with pytest.raises(RosterError) as info:
        load(path)
    message = str(info.value)
    assert needle in message
    assert str(path) in message
    assert "A1" not in message and "A2" not in message  # member IDs stay out of messages


def test_unreadable_parquet(tmp_path: Path):
    path = tmp_path / "roster.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(RosterError, match="not a readable Parquet file"):
        load(path)


def test_cli_bad_roster_is_a_usage_error(tmp_path: Path):
    path = _csv(tmp_path, "A1,HMO,CO,insured\nA2,HMO,ATLANTIS,insured\n")
    res = CliRunner().invoke(main, ["check", str(P_FILE), "--members", str(path), "--format",
                                    "json", "--no-ig"])
    assert res.exit_code == 2
    assert f"member roster {path}: line 3, column region" in res.stderr
    assert "Traceback" not in res.output + res.stderr
    assert res.stdout == ""


def _with_dependent(tmp_path: Path, scenario: Scenario, patient_id: str) -> Path:
    """A one-claim 837P whose patient is a dependent carrying its own ID (2010CA NM109)."""
    segs = build([scenario], "P").rstrip("~\n").split("~\n")
    i = next(k for k, s in enumerate(segs) if s.startswith("CLM*"))
    segs[segs.index("HL*2*1*22*0")] = "HL*2*1*22*1"
    sbr = next(k for k, s in enumerate(segs) if s.startswith("SBR*"))
    segs[sbr] = segs[sbr].replace("SBR*P*18*", "SBR*P**", 1)
    segs[i:i] = ["HL*3*2*23*0", "PAT*19", f"NM1*QC*1*DOE*JIMMY****MI*{patient_id}",
                 "N3*1 ELM ST", "N4*MIAMI*FL*331010000", "DMG*D8*20100101*M"]
    st = next(k for k, s in enumerate(segs) if s.startswith("ST*"))
    se = next(k for k, s in enumerate(segs) if s.startswith("SE*"))
    segs[se] = f"SE*{se - st + 1}*0001"
    path = tmp_path / "dependent.edi"
    path.write_text("~\n".join(segs) + "~\n", encoding="ascii")
    return path


def _kp(edi: Path, roster: Path) -> tuple[dict, set[str]]:
    res = CliRunner().invoke(main, ["check", str(edi), "--members", str(roster), "--format",
                                    "json", "-q", "--no-ig", "--select", "KP"])
    assert res.exit_code in (0, 1), res.output
    doc = json.loads(res.stdout)
    return doc["claims"][0]["kp"], {f["rule"] for f in doc["findings"]}


def test_roster_joins_on_the_patient_id(tmp_path: Path):
    s = Scenario("DEPENDENT-NW-PPO", set(), plan="OPEN ACCESS PLUS", payer_name="CIGNA",
                 member_id="SUB0001")
    edi = _with_dependent(tmp_path, s, "DEP0001")
    kp, codes = _kp(edi, _csv(tmp_path, "DEP0001,PPO,NW,insured\n"))
    assert (kp["source"], kp["product"], kp["region"]) == ("roster", "PPO", "NW")
    assert codes == {"KP120"}


def test_patient_row_wins_over_subscriber_row(tmp_path: Path):
    s = Scenario("DEPENDENT-BOTH", set(), plan="OPEN ACCESS PLUS", payer_name="CIGNA",
                 member_id="SUB0001")
    edi = _with_dependent(tmp_path, s, "DEP0001")
    roster = _csv(tmp_path, "SUB0001,HMO,WA,insured\nDEP0001,EPO,GA,insured\n")
    kp, codes = _kp(edi, roster)
    assert (kp["product"], kp["region"], kp["funding"]) == ("EPO", "GA", "insured")
    assert codes == set()


def test_roster_joins_on_the_subscriber_member_id(tmp_path: Path):
    s = Scenario("DEPENDENT-BY-SUBSCRIBER", set(), plan="OPEN ACCESS PLUS", payer_name="CIGNA",
                 member_id="SUB0001", pos="11")
    edi = _with_dependent(tmp_path, s, "DEP0009")
    kp, codes = _kp(edi, _csv(tmp_path, "SUB0001,HMO,SCAL,insured\n"))
    assert (kp["source"], kp["product"], kp["region"]) == ("roster", "HMO", "SCAL")
    assert codes == set()  # the line's 99283 still marks emergency care
