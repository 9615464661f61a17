"""KP scenario claims: one definition per claim (what it carries and which KP codes it must
raise), and the writer of the ``sample_edi/kp-*`` files built from them.

Regenerate the samples after editing a scenario: ``python -m tests.kp_helpers``
(``tests/test_kp_scenarios.py`` fails when the committed files are out of date).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from tests.edi_builder import KPIC, ClaimFields, Line, Names, fields_edi

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_edi"
P_FILE = SAMPLES / "kp-837p-scenarios.edi"
I_FILE = SAMPLES / "kp-837i-scenarios.edi"
ROSTER_FILE = SAMPLES / "kp-roster.csv"


@dataclass
class Scenario(ClaimFields):
    """One claim. ``expect`` = KP codes without a roster; ``with_roster`` = with kp-roster.csv
    (defaults to ``expect``)."""

    claim_id: str
    expect: set[str]
    with_roster: set[str] | None = None

    @property
    def roster_expect(self) -> set[str]:
        return self.expect if self.with_roster is None else self.with_roster


OFFICE = [Line("99213", revenue="0510")]
ELECTIVE_I = [Line("80053", revenue="0300")]
ROSTER_PLAN = {"plan": "OPEN ACCESS PLUS", "payer_name": "CIGNA"}

P_SCENARIOS = [
    Scenario("P-OK-NCAL-HMO-ER", set()),
    Scenario("P-KP100-WRONG-PAYER-ID", {"KP100"}, payer_id="12345"),
    Scenario("P-KP100-SELF-FUNDED-TO-62308", {"KP100"}, plan="KAISER NCAL HMO SELF-FUNDED"),
    Scenario("P-KP100-INSURED-TO-94320", {"KP100"}, plan="KAISER SCAL HMO", payer_name="KPIC",
             payer_id="94320", payer_address=KPIC),
    Scenario("P-OK-SELF-FUNDED-CO-PPO-ASO", set(), plan="KP CO PPO ASO",
             payer_name="KAISER PERMANENTE INSURANCE COMPANY", payer_id="94320",
             payer_address=KPIC, pos="11", lines=OFFICE),
    Scenario("P-KP101-PAYER-ADDRESS", {"KP101"},
             payer_address=("PO BOX 740800", "ATLANTA", "GA", "30374")),
    Scenario("P-OK-ADDRESS-NORMALISED", set(),
             payer_address=("p.o. box 188061", "chattanooga", "TN", "37422")),
    Scenario("P-OK-NO-PAYER-ADDRESS", set(), payer_address=None),
    Scenario("P-KP110-HMO-EARLY", {"KP110"}, date="20220731"),
    Scenario("P-OK-HMO-ON-EFFECTIVE-DATE", set(), date="20220801"),
    Scenario("P-KP110-POS2-EARLY", {"KP110"}, plan="KAISER GA POS 2-TIER", date="20220930"),
    Scenario("P-OK-POS2-ON-EFFECTIVE-DATE", set(), plan="KAISER GA POS 2-TIER", date="20221001"),
    Scenario("P-KP110-PPO-EARLY", {"KP110"}, plan="KAISER NCAL PPO", date="20221231", pos="11",
             lines=OFFICE),
    Scenario("P-OK-PPO-OFFICE-VISIT-F5", set(), plan="KAISER NCAL PPO", date="20230101", pos="11",
             lines=OFFICE, f5="20"),
    Scenario("P-KP110-POS3-EARLY", {"KP110"}, plan="KAISER MAS FLEXIBLE CHOICE", date="20221215"),
    Scenario("P-KP120-NW-PPO", {"KP120"}, plan="KAISER NORTHWEST PPO"),
    Scenario("P-OK-NW-HMO", set(), plan="KAISER NW HMO"),
    Scenario("P-KP120-WA-HMO-TO-62308", {"KP120"}, plan="KAISER WASHINGTON HMO"),
    Scenario("P-OK-WA-HMO-TO-KAISER", set(), plan="KAISER WASHINGTON HMO",
             payer_name="KAISER FOUNDATION HEALTH PLAN OF WA", payer_id="99999",
             payer_address=None, pos="11", lines=OFFICE, f5="20"),
    Scenario("P-KP161-WA-AND-CO-NAMED", {"KP161"}, plan="KAISER WA HMO CO-PAY"),
    Scenario("P-KP161-INSURANCE-CO-NW-PPO", {"KP161"},
             plan="KAISER PERMANENTE INSURANCE CO NW PPO", pos="11", lines=OFFICE),
    Scenario("P-OK-MID-ATLANTIC-HMO", set(), plan="KAISER MID ATLANTIC HMO"),
    Scenario("P-KP130-FACILITY-IN-CO", {"KP130"}, facility_state="CO"),
    Scenario("P-KP130-CA-HMO-OFFICE-TO-62308", {"KP130"}, pos="11", lines=OFFICE, f5="20",
             facility_state="CA", date="20220601"),
    Scenario("P-OK-CA-HMO-OFFICE-TO-KAISER", set(), payer_name="KAISER PERMANENTE NCAL",
             payer_id="94135", payer_address=None, pos="11", lines=OFFICE, f5="20",
             facility_state="CA", date="20220601"),
    Scenario("P-KP130-BILLING-IN-OR-NO-FACILITY", {"KP130"}, facility_state=None,
             billing_state="OR"),
    Scenario("P-OK-FACILITY-TX-BILLING-IN-CA", set(), billing_state="CA"),
    Scenario("P-OK-SELF-FUNDED-FACILITY-IN-VA", set(), plan="KAISER MAS HMO SELF FUNDED",
             payer_name="KPIC", payer_id="94320", payer_address=KPIC, facility_state="VA"),
    Scenario("P-KP140-HMO-OFFICE-VISIT", {"KP140"}, pos="11", lines=OFFICE),
    Scenario("P-OK-HMO-SV109-EMERGENCY", set(), pos="11",
             lines=[Line("99213", revenue="0510", emergency=True)]),
    Scenario("P-OK-HMO-AMBULANCE-A0427", set(), pos="41", lines=[Line("A0427")]),
    Scenario("P-OK-EPO-LINE-POS-20", set(), plan="KAISER HI EPO", pos="11",
             lines=[Line("99213", pos="20")]),
    Scenario("P-OK-EPO-PROC-S9083", set(), plan="KAISER HI EPO", pos="11", lines=[Line("S9083")]),
    Scenario("P-OK-POS2-PROC-99285", set(), plan="KAISER CO 2 TIER POS", pos="11",
             lines=[Line("99213"), Line("99285")]),
    Scenario("P-KP150-HMO-PAID-UP-FRONT", {"KP150"}, f5="50"),
    Scenario("P-OK-HMO-F5-ZERO", set(), f5="0"),
    Scenario("P-KP110-KP160-POS-NO-TIER-EARLY", {"KP110", "KP160"}, plan="KAISER CO POS",
             date="20220901", pos="11", lines=OFFICE, f5="30"),
    Scenario("P-KP160-POS-NO-TIER", {"KP160"}, plan="KAISER CO POS", date="20221001", pos="11",
             lines=OFFICE, f5="30"),
    Scenario("P-KP160-NO-PRODUCT", {"KP160"}, plan="KAISER GA"),
    Scenario("P-OK-SBR09-HM-IS-HMO", set(), plan="KAISER GA", sbr09="HM"),
    Scenario("P-KP160-SBR09-13-POS", {"KP160"}, plan="KAISER GA", sbr09="13"),
    Scenario("P-KP161-NO-REGION", {"KP161"}, plan="KAISER HMO"),
    Scenario("P-KP100-KP160-KP161-BY-PAYER-ID", {"KP100", "KP160", "KP161"}, plan=None,
             payer_name="KPIC", payer_id="94320", payer_address=KPIC),
    Scenario("P-KP-MULTI-FAILURES", {"KP100", "KP110", "KP140", "KP150"},
             plan="KAISER SCAL HMO", payer_id="12345", payer_address=("PO BOX 1", "NOWHERE", "AZ",
                                                                          "85004"),
             date="20220701", pos="11", lines=OFFICE, f5="25"),
    Scenario("P-OK-KP-BY-PAYER-NAME", set(), plan="NCAL HMO", payer_name="KAISER PERMANENTE"),
    Scenario("P-NONKP-CIGNA-OAP", set(), plan="CIGNA OPEN ACCESS PLUS", payer_name="CIGNA",
             pos="11", lines=OFFICE, f5="40", facility_state="CA", date="20220101"),
    Scenario("P-NONKP-WORD-NOT-SUBSTRING", set(), plan="SKPX HMO", payer_name="CIGNA", pos="11",
             lines=OFFICE),
    Scenario("P-ROSTER-NW-PPO", set(), {"KP120"}, member_id="RSTR0001", **ROSTER_PLAN),
    Scenario("P-ROSTER-SF-CO-HMO-TO-62308", set(), {"KP100"}, member_id="RSTR0002", **ROSTER_PLAN),
    Scenario("P-ROSTER-SCAL-EPO-OFFICE", set(), {"KP140"}, member_id="RSTR0003", pos="11",
             lines=OFFICE, **ROSTER_PLAN),
    Scenario("P-ROSTER-OVERRIDES-PLAN-NAME", {"KP120"}, set(), plan="KAISER WASHINGTON HMO",
             member_id="rstr0004"),
]

I_SCENARIOS = [
    Scenario("I-OK-NCAL-HMO-REV0450", set()),
    Scenario("I-OK-EPO-URGENT-CL101-2", set(), plan="KAISER CO EPO", cl101="2", lines=ELECTIVE_I),
    Scenario("I-OK-POS2-REV0516", set(), plan="KAISER GA POS 2", cl101="3",
             lines=[Line("99213", revenue="0516")]),
    Scenario("I-OK-HMO-REV0526-ELECTIVE", set(), cl101="3", lines=[Line("99213", revenue="0526")]),
    Scenario("I-KP140-HMO-ELECTIVE", {"KP140"}, cl101="3", lines=ELECTIVE_I),
    Scenario("I-KP140-BILL-TYPE-23-IS-NOT-POS", {"KP140"}, tob="23", cl101="3", lines=ELECTIVE_I),
    Scenario("I-KP110-EPO-STATEMENT-EARLY", {"KP110"}, plan="KAISER CO EPO", date="20220725",
             statement_to="20220802", line_date="20220802"),
    Scenario("I-OK-EPO-STATEMENT-ON-DATE", set(), plan="KAISER CO EPO", date="20220801"),
    Scenario("I-KP130-FACILITY-IN-MD", {"KP130"}, plan="KAISER MAS HMO", facility_state="MD"),
    Scenario("I-OK-WA-SELF-FUNDED-94320", set(), plan="KAISER WA HMO SELF FUNDED",
             payer_name="KPIC", payer_id="94320", payer_address=KPIC),
    Scenario("I-KP100-SELF-FUNDED-TO-62308", {"KP100"}, plan="KAISER HI EPO ASO"),
    Scenario("I-KP101-KPIC-ADDRESS", {"KP101"}, plan="KAISER HI EPO ASO", payer_name="KPIC",
             payer_id="94320", payer_address=("P.O. BOX 30574", "SALT LAKE CITY", "UT", "84130")),
    Scenario("I-OK-KPIC-ADDRESS-ZIP9", set(), plan="KAISER HI EPO ASO", payer_name="KPIC",
             payer_id="94320", payer_address=("PO Box 30547", "Salt Lake City", "UT", "841300547")),
    Scenario("I-KP120-NW-POS3", {"KP120"}, plan="KAISER NW POS 3-TIER"),
    Scenario("I-OK-NW-POS2", set(), plan="KAISER NW POS 2 TIER"),
    Scenario("I-OK-WA-EPO-TO-KAISER", set(), plan="KAISER WASHINGTON EPO", payer_id="91051",
             payer_name="KAISER WA", payer_address=None),
    Scenario("I-KP160-POS-NO-TIER", {"KP160"}, plan="KAISER SCAL POS", cl101="3",
             lines=ELECTIVE_I),
    Scenario("I-KP161-NO-REGION", {"KP161"}, plan="KAISER EPO"),
    Scenario("I-KP-MULTI-FAILURES", {"KP100", "KP110", "KP140", "KP150"},
             plan="KAISER GA HMO", payer_id="00000", date="20220715", cl101="3",
             lines=ELECTIVE_I, value_fc="75"),
    Scenario("I-OK-GA-HMO-IN-GA-TO-KAISER", set(), plan="KAISER GA HMO", payer_id="00000",
             payer_name="KAISER PERMANENTE GEORGIA", payer_address=None, cl101="3",
             lines=ELECTIVE_I, facility_state="GA"),
    Scenario("I-KP150-HMO-VALUE-CODE-FC", {"KP150"}, value_fc="50"),
    Scenario("I-OK-HMO-VALUE-CODE-FC-ZERO", set(), value_fc="0"),
    Scenario("I-OK-HMO-TRAUMA-CL101-5", set(), cl101="5", lines=ELECTIVE_I),
    Scenario("I-NONKP-CIGNA", set(), plan="CIGNA OPEN ACCESS PLUS", payer_name="CIGNA", cl101="3",
             lines=ELECTIVE_I, facility_state="CA"),
    Scenario("I-ROSTER-WA-HMO", set(), {"KP120"}, member_id="RSTR0005", **ROSTER_PLAN),
    Scenario("I-ROSTER-SF-NW-PPO-94320", {"KP100", "KP160", "KP161"}, set(),
             plan="OPEN ACCESS PLUS", payer_name="KPIC", payer_id="94320", payer_address=KPIC,
             member_id="RSTR0006"),
]

ROSTER = """member_id,product,region,funding
RSTR0001,PPO,NW,insured
RSTR0002,HMO,CO,self-funded
RSTR0003,EPO,SCAL,insured
RSTR0004,HMO,NCAL,insured
RSTR0005,HMO,WA,insured
RSTR0006,PPO,NW,self-funded
"""


NAMES = Names(sender="KPSCENARIOS", submitter="KP SCENARIO BILLING", submitter_id="KPSCEN",
              provider="SCENARIO")


def distinct_members(scenarios: list[Scenario], kind: str) -> list[Scenario]:
    """Each scenario a member of its own (unless it names one): the claims are distinct
    encounters, not repeats of one member's visit (which DUP402 would rightly flag)."""
    default = Scenario.__dataclass_fields__["member_id"].default
    return [s if s.member_id != default else replace(s, member_id=f"KPM{kind}{i:05d}")
            for i, s in enumerate(scenarios, 1)]


def build(scenarios: list[Scenario], kind: str) -> str:
    """One interchange with one 837 transaction holding every scenario claim."""
    control = "000000101" if kind == "P" else "000000102"
    return fields_edi(distinct_members(scenarios, kind), kind, NAMES, isa13=control, gs06="1",
                      bht03=f"KPSCEN{kind}")


def expected_files() -> dict[Path, str]:
    return {P_FILE: build(P_SCENARIOS, "P"), I_FILE: build(I_SCENARIOS, "I"), ROSTER_FILE: ROSTER}


def write_samples() -> None:
    for path, text in expected_files().items():
        path.write_text(text, encoding="ascii")


if __name__ == "__main__":
    write_samples()
