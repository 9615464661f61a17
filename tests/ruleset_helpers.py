"""Test cases of the shipped ``kp-cigna`` ruleset and of the worked example ``acme-billing``.

Each case is an EDI file plus its expectations (``rulesets/README.md``, "Test cases"),
written from the definitions below. Regenerate after editing a case:
``python -m tests.ruleset_helpers`` (``tests/test_ruleset_cases.py`` fails when the
committed files are out of date). The expectations are checked by ``ruleset test``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.edi_builder import KPIC, ClaimFields, Line, Names, fields_edi

ROOT = Path(__file__).resolve().parents[1]
KP_TESTS = ROOT / "rulesets" / "tests" / "kp-cigna"
ACME_TESTS = ROOT / "rulesets" / "examples" / "tests" / "acme-billing"


@dataclass
class Claim(ClaimFields):
    """One claim of a case: what it carries, which codes it must raise and why."""

    claim_id: str
    expect: list[str]
    why: str

    def __post_init__(self) -> None:
        # 837I lines are dated at the end of the statement period.
        self.line_date = self.line_date or self.statement_to


@dataclass
class Case:
    name: str
    kind: str  # P or I
    description: str
    claims: list[Claim]
    roster: str | None = None


OFFICE = [Line("99213", revenue="0510")]
ELECTIVE = [Line("80053", revenue="0300")]
ROSTER_PLAN = {"plan": "OPEN ACCESS PLUS", "payer_name": "CIGNA"}
SELF_FUNDED_KPIC = {"payer_name": "KPIC", "payer_id": "94320", "payer_address": KPIC}

KP_CASES = [
    Case("kp100-payer-id", "P", "KP100: the claim goes to the payer ID of the member's funding", [
        Claim("P100-OK-INSURED-TO-CIGNA", [], "insured HMO member's ER visit sent to Cigna 62308"),
        Claim("P100-WRONG-PAYER-ID", ["KP100"], "insured member, payer ID 12345", payer_id="12345"),
        Claim("P100-SELF-FUNDED-TO-CIGNA", ["KP100"], "self-funded plans go to KPIC 94320",
              plan="KAISER NCAL HMO SELF-FUNDED"),
        Claim("P100-INSURED-TO-KPIC", ["KP100"], "insured plans go to Cigna 62308, not 94320",
              plan="KAISER SCAL HMO", **SELF_FUNDED_KPIC),
        Claim("P100-OK-SELF-FUNDED-TO-KPIC", [], "ASO plan sent to KPIC 94320",
              plan="KP CO PPO ASO", pos="11", lines=OFFICE, **SELF_FUNDED_KPIC),
    ]),
    Case("kp101-payer-address", "P", "KP101: the payer address matches the route", [
        Claim("P101-WRONG-ADDRESS", ["KP101"], "right payer ID, another address",
              payer_address=("PO BOX 740800", "ATLANTA", "GA", "30374")),
        Claim("P101-OK-NORMALISED", [], "case, P.O./PO and 5- vs 9-digit ZIP do not matter",
              payer_address=("po box 188061", "chattanooga", "TN", "37422")),
        Claim("P101-OK-NO-ADDRESS", [], "no payer N3/N4: nothing to compare", payer_address=None),
        Claim("P101-WRONG-ID-ADDRESS-NOT-CHECKED", ["KP100"], "address only checked when the "
              "payer ID is right", payer_id="12345", payer_address=("PO BOX 1", "MIAMI", "FL", "33101")),
    ]),
    Case("kp110-effective-dates", "P", "KP110: service on or after the product's effective date", [
        Claim("P110-HMO-DAY-BEFORE", ["KP110"], "HMO from 2022-08-01", date="20220731"),
        Claim("P110-OK-HMO-ON-DATE", [], "exactly the effective date", date="20220801"),
        Claim("P110-POS2-DAY-BEFORE", ["KP110"], "POS 2-Tier from 2022-10-01",
              plan="KAISER GA POS 2-TIER", date="20220930"),
        Claim("P110-OK-POS2-ON-DATE", [], "exactly the effective date", plan="KAISER GA POS 2-TIER",
              date="20221001"),
        Claim("P110-PPO-DAY-BEFORE", ["KP110"], "PPO from 2023-01-01", plan="KAISER NCAL PPO",
              date="20221231", pos="11", lines=OFFICE),
        Claim("P110-OK-PPO-ON-DATE", [], "exactly the effective date", plan="KAISER NCAL PPO",
              date="20230101", pos="11", lines=OFFICE),
        Claim("P110-POS3-EARLY", ["KP110"], "POS 3-Tier (Flexible Choice) from 2023-01-01",
              plan="KAISER MAS FLEXIBLE CHOICE", date="20221215"),
    ]),
    Case("kp120-region-exclusions", "P", "KP120: regions excluded from the Cigna route", [
        Claim("P120-NW-PPO", ["KP120"], "Northwest PPO is excluded", plan="KAISER NORTHWEST PPO"),
        Claim("P120-OK-NW-HMO", [], "Northwest HMO is routed", plan="KAISER NW HMO"),
        Claim("P120-WA-HMO-TO-CIGNA", ["KP120"], "Washington: no Cigna route",
              plan="KAISER WASHINGTON HMO"),
        Claim("P120-OK-WA-HMO-TO-KAISER", [], "Washington claim sent elsewhere: no KP100, no KP120",
              plan="KAISER WASHINGTON HMO", payer_name="KAISER FOUNDATION HEALTH PLAN OF WA",
              payer_id="99999", payer_address=None),
        Claim("P120-OK-WA-SELF-FUNDED", [], "self-funded plans are routed for every region",
              plan="KAISER WA HMO SELF FUNDED", **SELF_FUNDED_KPIC),
    ]),
    Case("kp130-kp-states", "P", "KP130: care inside a KP state goes to KP directly", [
        Claim("P130-FACILITY-IN-CO", ["KP130"], "service facility in Colorado", facility_state="CO"),
        Claim("P130-BILLING-IN-OR", ["KP130"], "no facility: the billing provider's state",
              facility_state=None, billing_state="OR"),
        Claim("P130-OK-FACILITY-TX-BILLING-CA", [], "the facility's state wins",
              billing_state="CA"),
        Claim("P130-OK-SELF-FUNDED-IN-VA", [], "only insured claims are checked",
              plan="KAISER MAS HMO SELF FUNDED", facility_state="VA", **SELF_FUNDED_KPIC),
        Claim("P130-OK-CA-OFFICE-TO-KAISER", [], "in a KP state and billed to Kaiser: no KP rule "
              "applies", payer_name="KAISER PERMANENTE NCAL", payer_id="94135", payer_address=None,
              facility_state="CA", pos="11", lines=OFFICE, f5="20", date="20220601"),
    ]),
    Case("kp140-emergency", "P", "KP140: HMO, EPO and POS 2-Tier cover emergency/urgent care", [
        Claim("P140-HMO-OFFICE-VISIT", ["KP140"], "office visit, place of service 11", pos="11",
              lines=OFFICE),
        Claim("P140-OK-EPO-LINE-POS-20", [], "a line at place of service 20 (urgent care)",
              plan="KAISER HI EPO", pos="11", lines=[Line("99213", pos="20")]),
        Claim("P140-OK-EPO-S9083", [], "urgent care procedure S9083", plan="KAISER HI EPO",
              pos="11", lines=[Line("S9083")]),
        Claim("P140-OK-POS2-99285", [], "one ER procedure among the lines",
              plan="KAISER CO 2 TIER POS", pos="11", lines=[Line("99213"), Line("99285")]),
        Claim("P140-OK-PPO-OFFICE-VISIT", [], "PPO covers more than emergencies",
              plan="KAISER NCAL PPO", pos="11", lines=OFFICE),
        Claim("P140-OK-SV109-EMERGENCY", [], "the line's emergency indicator SV109 = Y",
              pos="11", lines=[Line("99213", emergency=True)]),
    ]),
    Case("kp150-cost-share", "P", "KP150: no cost share up front for HMO, EPO, POS 2-Tier", [
        Claim("P150-HMO-PAID", ["KP150"], "AMT*F5 50 on an HMO claim", f5="50"),
        Claim("P150-OK-HMO-ZERO", [], "AMT*F5 0", f5="0"),
        Claim("P150-OK-PPO-PAID", [], "PPO may collect cost share", plan="KAISER NCAL PPO",
              pos="11", lines=OFFICE, f5="20"),
    ]),
    Case("kp160-product", "P", "KP160: product or POS tier undetermined", [
        Claim("P160-POS-NO-TIER", ["KP160"], "POS without a tier: product rules are skipped",
              plan="KAISER CO POS", date="20221001", pos="11", lines=OFFICE, f5="30"),
        Claim("P160-POS-NO-TIER-EARLY", ["KP110", "KP160"], "before the earliest POS date "
              "(2022-10-01) whatever the tier", plan="KAISER CO POS", date="20220901", pos="11",
              lines=OFFICE),
        Claim("P160-NO-PRODUCT", ["KP160"], "no product word, SBR09 CI", plan="KAISER GA"),
        Claim("P160-OK-SBR09-HM", [], "SBR09 HM means HMO", plan="KAISER GA", sbr09="HM"),
        Claim("P160-SBR09-13", ["KP160"], "SBR09 13 is POS with unknown tier", plan="KAISER GA",
              sbr09="13"),
    ]),
    Case("kp161-region", "P", "KP161: region undetermined on an insured claim", [
        Claim("P161-NO-REGION", ["KP161"], "no region word", plan="KAISER HMO"),
        Claim("P161-OK-SELF-FUNDED", [], "self-funded claims need no region",
              plan="KAISER HMO SELF-FUNDED", **SELF_FUNDED_KPIC),
        Claim("P161-BY-PAYER-ID-ONLY", ["KP100", "KP160", "KP161"], "payer ID 94320 alone: "
              "insured, product and region unknown", plan=None, **SELF_FUNDED_KPIC),
    ]),
    Case("kp-identification", "P", "Who is a KP member; several failures at once", [
        Claim("PID-OK-BY-PAYER-NAME", [], "KAISER in the payer name", plan="NCAL HMO",
              payer_name="KAISER PERMANENTE"),
        Claim("PID-NONKP-CIGNA", [], "a Cigna member: no KP rule applies", plan="CIGNA OPEN ACCESS "
              "PLUS", payer_name="CIGNA", pos="11", lines=OFFICE, f5="40", facility_state="CA",
              date="20220101"),
        Claim("PID-NONKP-NOT-A-WORD", [], "KP inside another word is not KP", plan="SKPX HMO",
              payer_name="CIGNA", pos="11", lines=OFFICE),
        Claim("PID-MANY-FAILURES", ["KP100", "KP110", "KP140", "KP150"], "wrong payer, "
              "too early, office visit, cost share", plan="KAISER SCAL HMO",
              payer_id="12345", payer_address=("PO BOX 1", "PHOENIX", "AZ", "85004"),
              date="20220701", pos="11", lines=OFFICE, f5="25"),
    ]),
    Case("kp-roster", "P", "A --members roster fixes product, region and funding", [
        Claim("PRO-NW-PPO", ["KP120"], "roster: PPO, Northwest, insured", member_id="RSTR0001",
              **ROSTER_PLAN),
        Claim("PRO-SELF-FUNDED-TO-CIGNA", ["KP100"], "roster: self-funded HMO sent to 62308",
              member_id="RSTR0002", **ROSTER_PLAN),
        Claim("PRO-EPO-OFFICE-VISIT", ["KP140"], "roster: EPO, office visit", member_id="RSTR0003",
              pos="11", lines=OFFICE, **ROSTER_PLAN),
        Claim("PRO-OVERRIDES-PLAN-NAME", [], "roster says NCAL, SBR04 says Washington",
              plan="KAISER WASHINGTON HMO", member_id="RSTR0004"),
        Claim("PRO-NOT-IN-ROSTER", [], "not in the roster, not KP by payer or plan",
              member_id="OTHER0001", **ROSTER_PLAN),
    ], roster="member_id,product,region,funding\nRSTR0001,PPO,NW,insured\n"
              "RSTR0002,HMO,CO,self-funded\nRSTR0003,EPO,SCAL,insured\nRSTR0004,HMO,NCAL,insured\n"),
    Case("kp-837i", "I", "Institutional claims: the KP rules on an 837I", [
        Claim("I-OK-HMO-ER-REV0450", [], "emergency room revenue code 0450"),
        Claim("I-OK-EPO-URGENT-CL101-2", [], "admission type 2 (urgent)", plan="KAISER CO EPO",
              cl101="2", lines=ELECTIVE),
        Claim("I-OK-POS2-REV0516", [], "urgent care clinic revenue code 0516",
              plan="KAISER GA POS 2", cl101="3", lines=[Line("99213", revenue="0516")]),
        Claim("I-KP100-SELF-FUNDED-TO-CIGNA", ["KP100"], "ASO plan sent to 62308",
              plan="KAISER HI EPO ASO"),
        Claim("I-KP101-KPIC-ADDRESS", ["KP101"], "KPIC's payer ID, wrong box number",
              plan="KAISER HI EPO ASO", payer_name="KPIC", payer_id="94320",
              payer_address=("P.O. BOX 30574", "SALT LAKE CITY", "UT", "84130")),
        Claim("I-KP110-STATEMENT-EARLY", ["KP110"], "statement starts before 2022-08-01",
              plan="KAISER CO EPO", date="20220725", statement_to="20220802"),
        Claim("I-KP120-NW-POS3", ["KP120"], "Northwest POS 3-Tier is excluded",
              plan="KAISER NW POS 3-TIER"),
        Claim("I-KP130-FACILITY-IN-MD", ["KP130"], "service facility in Maryland",
              plan="KAISER MAS HMO", facility_state="MD"),
        Claim("I-KP140-ELECTIVE", ["KP140"], "elective admission, lab revenue code", cl101="3",
              lines=ELECTIVE),
        Claim("I-KP140-BILL-TYPE-23", ["KP140"], "bill type 23 is not place of service 23",
              tob="23", cl101="3", lines=ELECTIVE),
        Claim("I-KP150-VALUE-CODE-FC", ["KP150"], "patient paid amount as value code FC",
              value_fc="50"),
        Claim("I-OK-TRAUMA-CL101-5", [], "admission type 5 (trauma)", cl101="5", lines=ELECTIVE),
        Claim("I-KP160-POS-NO-TIER", ["KP160"], "POS without a tier", plan="KAISER SCAL POS",
              cl101="3", lines=ELECTIVE),
        Claim("I-KP161-NO-REGION", ["KP161"], "no region word", plan="KAISER EPO"),
        Claim("I-NONKP-CIGNA", [], "not a KP member", plan="CIGNA OPEN ACCESS PLUS",
              payer_name="CIGNA", cl101="3", lines=ELECTIVE, facility_state="CA"),
    ]),
]

ACME_CASES = [
    Case("acme-identification", "P", "Our payer names identify KP members (extra_patterns)", [
        Claim("ACME-KFHP-OK", [], "KFHP in the payer name: KP, routed right", plan="GA HMO",
              payer_name="KFHP GEORGIA"),
        Claim("ACME-KFHP-WRONG-PAYER", ["KP100"], "identified by KFHP, wrong payer ID",
              plan="GA HMO", payer_name="KFHP GEORGIA", payer_id="12345"),
        Claim("ACME-NOT-KP", [], "another payer", plan="GA HMO", payer_name="AETNA",
              payer_id="60054", payer_address=None, pos="11", lines=OFFICE),
    ]),
    Case("acme-emergency", "P", "Our extra emergency codes (extra_procedures)", [
        Claim("ACME-G0380-OK", [], "hospital ED visit G0380 counts as emergency", pos="11",
              lines=[Line("G0380")]),
        Claim("ACME-OFFICE-VISIT", ["KP140"], "still not emergency care", pos="11", lines=OFFICE),
    ]),
    Case("acme-severity", "P", "Severity overrides and ignored codes", [
        Claim("ACME-ADDRESS-IS-AN-ERROR", ["KP101:error"], "KP101 raised as an error here",
              payer_address=("PO BOX 740800", "ATLANTA", "GA", "30374")),
        Claim("ACME-NO-REGION-IGNORED", [], "KP161 is ignored by this ruleset", plan="KAISER HMO"),
        Claim("ACME-COST-SHARE", ["KP150:warning"], "KP150 keeps its warning severity", f5="50"),
    ]),
]


# -- EDI -----------------------------------------------------------------------------------

NAMES = Names(sender="RULESETTESTS", submitter="RULESET TESTS", submitter_id="RSTESTS",
              provider="CASE")


def edi(case: Case, control: int) -> str:
    """One interchange, one 837 transaction holding every claim of the case."""
    return fields_edi(case.claims, case.kind, NAMES, isa13=f"{control:09d}", gs06=str(control),
                      bht03=case.name[:30].upper())


def expectations(case: Case) -> str:
    out = [f"# {case.description}.", "# Generated by tests/ruleset_helpers.py "
           "(python -m tests.ruleset_helpers); run: claims-validator ruleset test <this file>",
           "", "[case]", f'edi = "{case.name}.edi"', f'description = "{case.description}"']
    if case.roster:
        out.append(f'roster = "{case.name}-members.csv"')
    out += ['only = "KP"', "", "[claims]"]
    for c in case.claims:
        codes = ", ".join(f'"{x}"' for x in c.expect)
        out += [f"# {c.why}", f'"{c.claim_id}" = [{codes}]']
    return "\n".join(out) + "\n"


def expected_files() -> dict[Path, str]:
    files: dict[Path, str] = {}
    control = 600
    for folder, cases in ((KP_TESTS, KP_CASES), (ACME_TESTS, ACME_CASES)):
        for case in cases:
            control += 1
            files[folder / f"{case.name}.edi"] = edi(case, control)
            files[folder / f"{case.name}.toml"] = expectations(case)
            if case.roster:
                files[folder / f"{case.name}-members.csv"] = case.roster
    return files


def write_cases() -> None:
    for path, text in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="ascii")


if __name__ == "__main__":
    write_cases()
