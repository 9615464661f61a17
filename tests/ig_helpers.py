"""Small hand-written 837 files for the implementation-guide (pyx12) tests.

Fictional data only. ``P_SEGMENTS``/``I_SEGMENTS`` are complete, valid 5010 interchanges
(pyx12 reports nothing on them); tests copy the list, change a segment and write it with
:func:`write`, which recomputes SE01 so that only the intended error is present.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from edi_builder import edi, fix_counts, interchange, transaction

HEADER = [
    "BHT*0019*00*0001*20260701*1200*CH",
    "NM1*41*2*ACME BILLING*****46*ACME0001",
    "PER*IC*EDI SUPPORT*TE*8005551212",
    "NM1*40*2*RECEIVER CLEARINGHOUSE*****46*RECEIVER01",
    "HL*1**20*1",
    "NM1*85*2*CEDAR PARK CLINIC*****XX*1234567893",
    "N3*1090 MAPLE DR",
    "N4*RENO*NV*895022202",
    "REF*EI*360657498",
    "HL*2*1*22*0",
    "SBR*P*18*GRP100******CI",
    "NM1*IL*1*DOE*JANE****MI*MEMBER0001",
    "N3*12 ELM ST",
    "N4*RENO*NV*895021234",
    "DMG*D8*19700101*F",
    "NM1*PR*2*ACME HEALTH PLAN*****PI*12345",
]
P_CLAIMS = [
    "CLM*PCLAIM001*150***11:B:1*Y*A*Y*Y",
    "HI*ABK:J069",
    "LX*1",
    "SV1*HC:99213*100*UN*1***1",
    "DTP*472*D8*20260115",
    "LX*2",
    "SV1*HC:87880*50*UN*1***1",
    "DTP*472*D8*20260115",
    "CLM*PCLAIM002*80***11:B:1*Y*A*Y*Y",
    "HI*ABK:R051",
    "LX*1",
    "SV1*HC:99212*80*UN*1***1",
    "DTP*472*D8*20260120",
]
I_CLAIMS = [
    "CLM*ICLAIM001*500***13:A:1**A*Y*Y",
    "DTP*434*RD8*20260110-20260110",
    "CL1*2*1*01",
    "HI*ABK:R519",
    "NM1*71*1*BROWN*MARY****XX*1234567893",
    "LX*1",
    "SV2*0300*HC:82565*200*UN*1",
    "DTP*472*D8*20260110",
    "LX*2",
    "SV2*0450*HC:99283*300*UN*1",
    "DTP*472*D8*20260110",
]


def ig_interchange(version: str, claims: list[str], n_st: int = 1) -> list[str]:
    """ISA/GS with ``n_st`` transaction sets of the same claims."""
    sets = [transaction(f"{k:04d}", version, [*HEADER, *claims]) for k in range(1, n_st + 1)]
    return interchange(*sets, isa13="000000101", gs06="101", version=version,
                       sender="SUBMITTER01", receiver="RECEIVER01", date="20260701")


P_SEGMENTS = ig_interchange("005010X222A1", P_CLAIMS)
I_SEGMENTS = ig_interchange("005010X223A2", I_CLAIMS)


def write(path: Path, segs: list[str]) -> Path:
    """Write ``segs`` with every SE01 recounted."""
    path.write_text(edi(fix_counts(segs)))
    return path


def index_of(segs: list[str], prefix: str, nth: int = 1) -> int:
    """1-based position (the report's ``segment_index``) of the nth segment starting so."""
    hits = [i + 1 for i, s in enumerate(segs) if s.startswith(prefix)]
    return hits[nth - 1]


def replace(segs: list[str], prefix: str, new: str | None, nth: int = 1) -> list[str]:
    """Copy of ``segs`` with the nth segment starting with ``prefix`` replaced (or removed)."""
    out = list(segs)
    i = index_of(segs, prefix, nth) - 1
    if new is None:
        del out[i]
    else:
        out[i] = new
    return out


def run_json(*args: str) -> dict:
    """``check --format json`` through the CLI; returns the parsed document."""
    from validator.cli import main

    res = CliRunner().invoke(main, ["check", "--format", "json", "-q", "--fail-on", "never",
                                    "--ig-engine", "pyx12", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    start = res.output.index("{")
    return json.loads(res.output[start:])


def ig_findings(doc: dict) -> list[dict]:
    return [f for f in doc["findings"] if f["rule"].startswith("IG")]
