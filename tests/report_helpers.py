"""The batches of the report and writer tests (837P files built by ``edi_builder.phi_edi``
from :class:`~edi_builder.PhiClaim` claims) and their checked results."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

import polars as pl

from tests.edi_builder import PhiClaim, phi_edi
from tests.helpers import load_ruleset as load
from validator.engine import Result, Selection, check
from validator.rules.api import RunOptions

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'


def sample_claims() -> list[PhiClaim]:
    """A clean claim, two with an unknown segment, and the injection sample."""
    return [
        PhiClaim("CLEAN001"),
        PhiClaim("BAD0001", unknown_segment=True, patient_last="DOEFIELD", patient_first="JONATHAN",
              member_id="MEMBERID777"),
        PhiClaim("BAD0002", unknown_segment=True, charge="250.5"),
        PhiClaim(XSS_SCRIPT, unknown_segment=True, patient_last=XSS_SCRIPT, patient_first=XSS_IMG,
              payer_name=XSS_IMG),
    ]


def write_batch(folder: Path) -> list[Path]:
    """Three files: the sample claims, a file with a preamble and a wrong SE01, and an
    unreadable file."""
    folder.mkdir(parents=True, exist_ok=True)
    a = folder / "claims-a.837"
    a.write_text(phi_edi(sample_claims()))
    b = folder / "claims-b.837"
    # Text before the ISA (ENV101, a warning) and a wrong SE01 (ENV131, an error).
    b.write_text("EXPORTED BY BILLING SYSTEM\n"
                 + phi_edi([PhiClaim("SEBAD01"), PhiClaim("SEBAD02", unknown_segment=True)],
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
        PhiClaim(f"LRG{i:07d}", charge=f"{100 + i % 900}.{i % 100:02d}",
              patient_last=LAST[i % len(LAST)] if i % 3 else None,
              patient_first=FIRST[i % len(FIRST)],
              subscriber_last=LAST[(i // 7) % len(LAST)], member_id=f"M{i:010d}",
              payer_name=("ACME HEALTH PLAN", "KAISER PERMANENTE", "CIGNA")[i % 3])
        for i in range(n_claims)
    ]
    text = phi_edi(claims)
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
