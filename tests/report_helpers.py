"""Builders for the report and writer tests: small hand-made 837P batches and results."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl
from helpers import load_ruleset as load

from validator.engine import Result, Selection, check
from validator.rules.api import RunOptions

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'


@dataclass
class Claim:
    claim_id: str
    charge: str = "100"
    patient_last: str | None = None  # None: the subscriber is the patient
    patient_first: str | None = None
    subscriber_last: str = "SAMPLEMAN"
    subscriber_first: str = "ROBERTA"
    member_id: str = "XQ9876543210"
    subscriber_birth: str = "19610314"
    patient_birth: str = "20100515"
    payer_name: str = "ACME HEALTH PLAN"
    payer_id: str = "12345"
    plan: str = "ACME CHOICE PPO"
    unknown_segment: bool = False  # adds ``ZZZ*1`` inside the claim (ENV151, claim-level)


def isa(control: str = "000000001") -> str:
    return ("ISA*00*          *00*          *ZZ*SUBMITTER01    *ZZ*RECEIVER01     *260701*1200*^*"
            f"00501*{control}*0*P*:~")


def claim_segments(c: Claim, hl: int) -> list[str]:
    sub_child = "0" if c.patient_last is None else "1"
    segs = [
        f"HL*{hl}*1*22*{sub_child}",
        f"SBR*P*{'18' if c.patient_last is None else ''}"
        f"*GRP001*{c.plan}*****CI",
        f"NM1*IL*1*{c.subscriber_last}*{c.subscriber_first}****MI*{c.member_id}",
        "N3*12 MAIN ST", "N4*RENO*NV*89502",
        f"DMG*D8*{c.subscriber_birth}*F",
        f"NM1*PR*2*{c.payer_name}*****PI*{c.payer_id}",
    ]
    if c.patient_last is not None:
        segs += [f"HL*{hl + 1}*{hl}*23*0", "PAT*19",
                 f"NM1*QC*1*{c.patient_last}*{c.patient_first or ''}",
                 "N3*12 MAIN ST", "N4*RENO*NV*89502", f"DMG*D8*{c.patient_birth}*M"]
    segs += [f"CLM*{c.claim_id}*{c.charge}***11:B:1*Y*A*Y*Y"]
    if c.unknown_segment:
        segs.append("ZZZ*1")
    segs += ["HI*ABK:R69", "LX*1", f"SV1*HC:99213*{c.charge}*UN*1***1", "DTP*472*D8*20260115"]
    return segs


def edi_837p(claims: list[Claim], se_offset: int = 0, control: str = "000000001") -> str:
    """One interchange, one 837P transaction set holding ``claims`` under one billing
    provider; ``se_offset`` makes SE01 wrong (ENV131) when not 0."""
    body = [
        "ST*837*0001*005010X222A1",
        "BHT*0019*00*0001*20260701*1200*CH",
        "NM1*41*2*ACME BILLING*****46*ACME0001",
        "PER*IC*EDI DESK*TE*8005551212",
        "NM1*40*2*CLEARINGHOUSE*****46*RECEIVER01",
        "HL*1**20*1",
        "NM1*85*2*DESERT CLINIC LLC*****XX*1234567893",
        "N3*1 CLINIC WAY", "N4*RENO*NV*895021234", "REF*EI*123456789",
    ]
    hl = 2
    for c in claims:
        body += claim_segments(c, hl)
        hl += 1 if c.patient_last is None else 2
    body.append(f"SE*{len(body) + 1 + se_offset}*0001")
    segs = [isa(control), f"GS*HC*SUBMITTER01*RECEIVER01*20260701*1200*{int(control)}*X*005010X222A1",
            *body, f"GE*1*{int(control)}", f"IEA*1*{control}"]
    return "~\n".join(segs) + "~\n"


def sample_claims() -> list[Claim]:
    """A clean claim, two with an unknown segment, and the injection sample."""
    return [
        Claim("CLEAN001"),
        Claim("BAD0001", unknown_segment=True, patient_last="DOEFIELD", patient_first="JONATHAN",
              member_id="MEMBERID777"),
        Claim("BAD0002", unknown_segment=True, charge="250.5"),
        Claim(XSS_SCRIPT, unknown_segment=True, patient_last=XSS_SCRIPT, patient_first=XSS_IMG,
              payer_name=XSS_IMG),
    ]


def write_batch(folder: Path) -> list[Path]:
    """Three files: the sample claims, a file with a preamble and a wrong SE01, and an
    unreadable file."""
    folder.mkdir(parents=True, exist_ok=True)
    a = folder / "claims-a.837"
    a.write_text(edi_837p(sample_claims()))
    b = folder / "claims-b.837"
    # Text before the ISA (ENV101, a warning) and a wrong SE01 (ENV131, an error).
    b.write_text("EXPORTED BY BILLING SYSTEM\n"
                 + edi_837p([Claim("SEBAD01"), Claim("SEBAD02", unknown_segment=True)],
                            se_offset=1, control="000000002"))
    c = folder / "notes.837"
    c.write_text("this is not an X12 file\n")
    return [a, b, c]


def run(paths: list[Path], select: tuple[str, ...] = ("ENV", "FILE", "KP"), **options) -> Result:
    """Check ``paths`` with the rule families these tests were written against (other
    families, e.g. the generic edits, would add findings the assertions do not expect)."""
    rs = load("kp-cigna")
    return check(paths, rs, Selection.build(rs, select), RunOptions(**options),
                 inputs=[str(p) for p in paths])


def with_kp(result: Result) -> Result:
    """The result with a ``kp`` struct column as the KP ruleset's annotator adds it: the
    claim ``BAD0001`` is a KP member, the others are not."""
    is_kp = pl.col("claim_id") == "BAD0001"

    def when(value, dtype=pl.String):
        return pl.when(is_kp).then(pl.lit(value, dtype)).otherwise(pl.lit(None, dtype))

    kp = pl.struct(
        member=is_kp,
        source=when("payer_name"),
        product=when("PPO"),
        region=when("NCAL"),
        funding=when("insured"),
        service_state=when("TX"),
        in_kp_state=when(False, pl.Boolean),
        routed=when(True, pl.Boolean),
        expected_payer_id=when("62308"),
        expected_payer_name=when("Cigna Medical Claims"),
        expected_payer_address=when("P.O. Box 188061, Chattanooga, TN 37422-8061"),
        appeals=when("Call the number on the denial notice"),
        phone=when("888.831.0761"),
    )
    claims = result.claims.with_columns(kp=kp)
    return Result(result.batch, result.findings, claims, result.ruleset, result.inputs,
                  result.started, result.elapsed)


LAST = ("GARCIA", "NGUYEN", "OKAFOR", "LINDQVIST", "PATEL", "MORALES", "KOWALSKI", "TANAKA")
FIRST = ("ANA", "MINH", "CHIDI", "ELSA", "RAVI", "LUZ", "PIOTR", "YUKI", "OMAR")


def large_edi(n_claims: int) -> str:
    """``n_claims`` distinct claims with varied PHI, each with a malformed segment
    ``Z<number>*1`` (an ENV151 finding per claim)."""
    claims = [
        Claim(f"LRG{i:07d}", charge=f"{100 + i % 900}.{i % 100:02d}",
              patient_last=LAST[i % len(LAST)] if i % 3 else None,
              patient_first=FIRST[i % len(FIRST)],
              subscriber_last=LAST[(i // 7) % len(LAST)], member_id=f"M{i:010d}",
              payer_name=("ACME HEALTH PLAN", "KAISER PERMANENTE", "CIGNA")[i % 3])
        for i in range(n_claims)
    ]
    text = edi_837p(claims)
    # Turn each claim's HI into an extra malformed segment before it: "Z<number>*1".
    out, k = [], 0
    for seg in text.split("~\n"):
        if seg.startswith("HI*"):
            out.append(f"Z{k:06d}*1")
            k += 1
        out.append(seg)
    return "~\n".join(out)


@cache
def large_result(n_claims: int) -> Result:
    """The checked result of :func:`large_edi` (cached: the 100k batch is shared by the size
    test and the browser test of one session)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.837"
        path.write_text(large_edi(n_claims))
        return run([path])
