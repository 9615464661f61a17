"""Builders of small, valid 837P/837I/837D files for the generic-rule tests.

``build(kind, ...)`` assembles an interchange from segment lists (billing provider,
subscriber, patient, claims); every part has a clean default, so a test replaces only the
segment it is about. ``run(text, tmp_path)`` checks the text and returns the findings of
the generic rule families.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl
from helpers import load_ruleset

from validator.engine import Selection, check
from validator.rules.api import RunOptions

GENERIC = ("BAL", "SIT", "CODE", "DUP")
VERSION = {"P": "005010X222A1", "I": "005010X223A2", "D": "005010X224A2"}


def npi(base9: str) -> str:
    """A valid NPI (Luhn over the 80840 prefix) from 9 digits."""
    total = 0
    for i, ch in enumerate(reversed("80840" + base9)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return base9 + str((10 - total % 10) % 10)


BILLING_NPI = npi("123456789")
RENDERING_NPI = npi("198765432")
FACILITY_NPI = npi("155555555")


def billing(**kw: str) -> list[str]:
    """2010AA segments (PRV is part of 2000A)."""
    return [
        f"PRV*BI*PXC*{kw.get('taxonomy', '207Q00000X')}",
        f"NM1*85*2*NORTHSIDE CLINIC*****XX*{kw.get('npi', BILLING_NPI)}",
        f"N3*{kw.get('street', '123 MAIN ST')}",
        f"N4*HOUSTON*{kw.get('state', 'TX')}*{kw.get('zip', '770301234')}",
        kw.get("ref", "REF*EI*741234567"),
    ]


def subscriber(sbr: str = "SBR*P*18*GRP01******CI", *, has_patient: bool = False,
               birth: str = "19800115", member: str = "W123456789") -> list[str]:
    """2010BA/2010BB segments after the SBR (the HL is added by ``build``)."""
    if has_patient and "*18*" in sbr:
        sbr = sbr.replace("*18*", "**", 1)
    return [
        sbr,
        f"NM1*IL*1*DOE*JOHN****MI*{member}",
        "N3*42 OAK AVE", "N4*HOUSTON*TX*770301111",
        f"DMG*D8*{birth}*M",
        "NM1*PR*2*ACME HEALTH*****PI*12345",
    ]


def patient(birth: str = "20100301", rel: str = "19") -> list[str]:
    return [f"PAT*{rel}", "NM1*QC*1*DOE*JANE", "N3*42 OAK AVE", "N4*HOUSTON*TX*770301111",
            f"DMG*D8*{birth}*F"]


def claim(kind: str = "P", pcn: str = "PCN001", *, total: str = "150",
          charges: Sequence[str] = ("100", "50"), date: str = "20240115",
          clm: str | None = None, head: Sequence[str] = (), hi: str | None = None,
          lines: Sequence[Sequence[str]] | None = None) -> list[str]:
    """One claim (2300 + 2400 loops). ``head`` goes after the CLM (DTP/REF…); ``lines``
    replaces the service lines (each a list of segments after its LX)."""
    kind = kind.upper()
    if kind == "P":
        clm = clm or f"CLM*{pcn}*{total}***11:B:1*Y*A*Y*Y"
        hi = hi or "HI*ABK:J069*ABF:R509"
        prov = [f"NM1*82*1*SMITH*ANNA****XX*{RENDERING_NPI}", "PRV*PE*PXC*207Q00000X"]
        codes = ("99213", "36415", "85025", "81002")
        lines = lines or [[f"SV1*HC:{codes[i % 4]}*{c}*UN*1***{'1' if i == 0 else '1:2'}",
                           f"DTP*472*D8*{date}"] for i, c in enumerate(charges)]
        pre: list[str] = []
    elif kind == "I":
        clm = clm or f"CLM*{pcn}*{total}***13:A:1**A*Y*Y"
        hi = hi or "HI*ABK:J069"
        prov = [f"NM1*71*1*SMITH*ANNA****XX*{RENDERING_NPI}"]
        revs = (("0450", "99283"), ("0300", "85025"), ("0300", "36415"), ("0320", "71046"))
        lines = lines or [[f"SV2*{revs[i % 4][0]}*HC:{revs[i % 4][1]}*{c}*UN*1",
                           f"DTP*472*D8*{date}"] for i, c in enumerate(charges)]
        pre = [f"DTP*434*RD8*{date}-{date}", "CL1*1*7*01"]
    else:
        clm = clm or f"CLM*{pcn}*{total}***11:B:1*Y*A*Y*Y"
        hi = hi or "HI*ABK:K021"
        prov = [f"NM1*82*1*SMITH*ANNA****XX*{RENDERING_NPI}", "PRV*PE*PXC*1223G0001X"]
        codes = ("D0120", "D1110", "D0274", "D2391")
        lines = lines or [[f"SV3*AD:{codes[i % 4]}*{c}*11***1*****1", f"DTP*472*D8*{date}"]
                          for i, c in enumerate(charges)]
        pre = []
    out = [clm, *pre, *head, hi, *prov]
    for i, segs in enumerate(lines, 1):
        out += [f"LX*{i}", *segs]
    return out


# A subscriber group: (subscriber segments, patient segments or None, claims).
Group = tuple[Sequence[str], Sequence[str] | None, Sequence[Sequence[str]]]


def build_multi(kind: str, providers: Sequence[tuple[Sequence[str], Sequence[Group]]],
                bht_date: str = "20250101") -> str:
    """A one-ISA/GS/ST interchange with several billing providers and subscribers.

    ``providers``: (2010AA segments, [(subscriber segments, patient segments or None,
    [claim segments, …]), …]).
    """
    kind = kind.upper()
    body = [f"ST*837*0001*{VERSION[kind]}",
            f"BHT*0019*00*BATCH1*{bht_date}*1200*CH",
            "NM1*41*2*ACME BILLING*****46*ACME01", "PER*IC*EDI DESK*TE*8005551212",
            "NM1*40*2*CLEARINGHOUSE*****46*CH01"]
    hl = 0
    for bill, groups in providers:
        hl += 1
        bill_hl = hl
        body += [f"HL*{hl}**20*1", *bill]
        for sub, pat, claims in groups:
            hl += 1
            body += [f"HL*{hl}*{bill_hl}*22*{0 if pat is None else 1}", *sub]
            if pat is not None:
                hl += 1
                body += [f"HL*{hl}*{hl - 1}*23*0", *pat]
            for c in claims:
                body += list(c)
    body.append(f"SE*{len(body) + 1}*0001")
    isa = ("ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *"
           "250101*1200*^*00501*000000001*0*P*:")
    head = [isa, f"GS*HC*SUBMITTER*RECEIVER*{bht_date}*1200*1*X*{VERSION[kind]}"]
    tail = ["GE*1*1", "IEA*1*000000001"]
    return "~\n".join([*head, *body, *tail]) + "~\n"


def build(kind: str = "P", *, claims: Sequence[Sequence[str]] | None = None,
          billing_segs: Sequence[str] | None = None, subscriber_segs: Sequence[str] | None = None,
          patient_segs: Sequence[str] | None = None, bht_date: str = "20250101") -> str:
    """A one-ISA/GS/ST interchange: one billing provider, one subscriber (and patient)."""
    kind = kind.upper()
    has_patient = patient_segs is not None
    sub = subscriber_segs if subscriber_segs is not None else subscriber(has_patient=has_patient)
    group: Group = (sub, patient_segs, claims if claims is not None else [claim(kind)])
    bill = billing_segs if billing_segs is not None else billing()
    return build_multi(kind, [(bill, [group])], bht_date)


def run(text: str | Sequence[str], tmp_path: Path, select: Sequence[str] = GENERIC,
        ) -> pl.DataFrame:
    """Check one text (or several files of one batch) and return the findings."""
    texts = [text] if isinstance(text, str) else list(text)
    paths = []
    for i, t in enumerate(texts):
        p = tmp_path / f"claims{i}.837"
        p.write_text(t, encoding="ascii")
        paths.append(p)
    rs = load_ruleset("kp-cigna")
    res = check(paths, rs, Selection(select=list(select)), RunOptions())
    claims = res.batch.claims.select("claim_key", "claim_id")
    return res.findings.join(claims, on="claim_key", how="left")


def codes(found: pl.DataFrame) -> set[str]:
    return set(found["rule"].to_list())
