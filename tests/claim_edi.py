"""Test claims written as 837P/837I EDI: the loops shared by the KP scenario samples
(``tests/kp_helpers.py``) and the ruleset test cases (``tests/ruleset_helpers.py``).

Each helper's claim class extends :class:`ClaimFields` with what it checks (expected codes,
reasons).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

CIGNA = ("P.O. BOX 188061", "CHATTANOOGA", "TN", "374228061")
KPIC = ("P.O. BOX 30547", "SALT LAKE CITY", "UT", "841300547")
CITY = {"FL": ("MIAMI", "331110000"), "TX": ("DALLAS", "752010000"), "OR": ("PORTLAND", "972010000"),
        "CA": ("LOS ANGELES", "900120000"), "CO": ("DENVER", "802020000"),
        "MD": ("BALTIMORE", "212010000"), "GA": ("ATLANTA", "303030000"),
        "VA": ("RICHMOND", "232190000"), "AZ": ("PHOENIX", "850040000"),
        "NC": ("CHARLOTTE", "282020000")}
GUIDE = {"P": "005010X222A1", "I": "005010X223A2"}


@dataclass
class Line:
    procedure: str = "99283"
    pos: str | None = None  # 837P SV105, only when it differs from CLM05-1
    revenue: str = "0450"  # 837I SV201
    charge: int = 100
    emergency: bool = False  # 837P SV109 = Y


@dataclass(kw_only=True)
class ClaimFields:
    """What a test claim carries. Keyword-only: each helper's own class declares the claim ID
    and its expectations, which come first."""

    plan: str | None = "KAISER NCAL HMO"  # SBR04
    sbr09: str = "CI"
    payer_name: str = "CIGNA MEDICAL CLAIMS"
    payer_id: str = "62308"
    payer_address: tuple[str, str, str, str] | None = CIGNA
    member_id: str = "KPM100001"
    date: str = "20230315"  # 837P line DTP*472 / 837I statement start
    statement_to: str | None = None  # 837I DTP*434 end (default: date)
    pos: str = "23"  # 837P CLM05-1
    tob: str = "13"  # 837I CLM05-1 (bill type)
    cl101: str | None = "1"  # 837I admission type
    lines: list[Line] = field(default_factory=lambda: [Line()])
    line_date: str | None = None  # the lines' DTP*472 (default: date)
    f5: str | None = None  # AMT*F5 (837P only: the 837I 2300 loop has no AMT*F5)
    value_fc: str | None = None  # 837I HI*BE:FC (patient paid amount value code)
    facility_state: str | None = "TX"
    billing_state: str = "FL"


@dataclass(frozen=True)
class Names:
    """Who sends the file and what the providers are called."""

    sender: str  # ISA06, GS02
    submitter: str  # 1000A NM103
    submitter_id: str  # 1000A NM109
    provider: str  # "<provider> MEDICAL GROUP", "<provider> URGENT CARE"


def _parties(c: ClaimFields, hl: int, names: Names) -> list[str]:
    """Billing provider (2000A) and subscriber with payer (2000B)."""
    city, zip_ = CITY[c.billing_state]
    out = [f"HL*{hl}**20*1", f"NM1*85*2*{names.provider} MEDICAL GROUP*****XX*1234567893",
           "N3*100 MAIN ST", f"N4*{city}*{c.billing_state}*{zip_}", "REF*EI*123456789",
           f"HL*{hl + 1}*{hl}*22*0", f"SBR*P*18**{c.plan or ''}*****{c.sbr09}",
           f"NM1*IL*1*DOE*JANE****MI*{c.member_id}", "N3*1 ELM ST", "N4*MIAMI*FL*331010000",
           "DMG*D8*19800101*F", f"NM1*PR*2*{c.payer_name}*****PI*{c.payer_id}"]
    if c.payer_address:
        street, pcity, state, pzip = c.payer_address
        out += [f"N3*{street}", f"N4*{pcity}*{state}*{pzip}"]
    return out


def _facility(c: ClaimFields, names: Names) -> list[str]:
    if not c.facility_state:
        return []
    city, zip_ = CITY[c.facility_state]
    return [f"NM1*77*2*{names.provider} URGENT CARE*****XX*1234567893", "N3*200 CARE WAY",
            f"N4*{city}*{c.facility_state}*{zip_}"]


def _claim(c: ClaimFields, kind: str, names: Names) -> list[str]:
    """The 2300 loop and its service lines."""
    total = sum(line.charge for line in c.lines)
    day = c.line_date or c.date
    if kind == "P":
        out = [f"CLM*{c.claim_id}*{total}***{c.pos}:B:1*Y*A*Y*Y"]
        out += [f"AMT*F5*{c.f5}"] if c.f5 is not None else []
        out += ["HI*ABK:R69", *_facility(c, names)]
        for n, line in enumerate(c.lines, 1):
            sv1 = f"SV1*HC:{line.procedure}*{line.charge}*UN*1*{line.pos or ''}**1"
            out += [f"LX*{n}", sv1 + ("**Y" if line.emergency else ""), f"DTP*472*D8*{day}"]
        return out
    if c.f5 is not None:
        raise ValueError(f"{c.claim_id}: the 837I claim loop has no AMT*F5 (patient paid)")
    out = [f"CLM*{c.claim_id}*{total}***{c.tob}:A:1**A*Y*Y",
           f"DTP*434*RD8*{c.date}-{c.statement_to or c.date}"]
    out += [f"CL1*{c.cl101}*7*01"] if c.cl101 else []
    out += ["HI*ABK:R69"] + ([f"HI*BE:FC:::{c.value_fc}"] if c.value_fc else [])
    out += ["NM1*71*1*DOE*JOHN****XX*1234567893", *_facility(c, names)]
    for n, line in enumerate(c.lines, 1):
        out += [f"LX*{n}", f"SV2*{line.revenue}*HC:{line.procedure}*{line.charge}*UN*1",
                f"DTP*472*D8*{day}"]
    return out


def interchange(claims: Sequence[ClaimFields], kind: str, names: Names, *, isa13: str,
                gs06: str, bht03: str) -> str:
    """One interchange with one 837 transaction holding every claim (each under its own
    billing provider and subscriber)."""
    guide = GUIDE[kind]
    body = [f"ST*837*0001*{guide}", f"BHT*0019*00*{bht03}*20240115*1200*CH",
            f"NM1*41*2*{names.submitter}*****46*{names.submitter_id}",
            "PER*IC*BILLING OFFICE*TE*5555550100", "NM1*40*2*CLEARINGHOUSE*****46*CLEARINGHOUSE"]
    for i, c in enumerate(claims):
        body += _parties(c, 2 * i + 1, names) + _claim(c, kind, names)
    body.append(f"SE*{len(body) + 1}*0001")
    isa = ("ISA*00*          *00*          *ZZ*" + names.sender.ljust(15) + "*ZZ*"
           + "CLEARINGHOUSE".ljust(15) + f"*240115*1200*^*00501*{isa13}*0*T*:")
    segs = [isa, f"GS*HC*{names.sender}*CLEARINGHOUSE*20240115*1200*{gs06}*X*{guide}", *body,
            f"GE*1*{gs06}", f"IEA*1*{isa13}"]
    return "~\n".join(segs) + "~\n"
