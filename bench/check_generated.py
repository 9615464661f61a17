#!/usr/bin/env python3
"""Sanity checks for files from bench/generate.py (stdlib only; not a full X12 validator).

    python bench/check_generated.py /tmp/p100k.837 [/tmp/i10k.837 ...] [--pyx12]

Checks envelope/control numbers and counts, SE01, HL tree, NPI Luhn, CLM02 = sum of line
charges, unique CLM01, diagnosis pointers, date ranges, ZIP/state formats. ``--pyx12`` also
runs pyx12's validator (slow; use on small files) and prints its error summary.
"""

from __future__ import annotations

import gzip
import re
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import npi_is_valid

ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$")
AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")
KP_STATES = {"CA", "CO", "DC", "GA", "HI", "MD", "OR", "VA", "WA"}


def read(path: str) -> str:
    if path.endswith(".gz"):
        with gzip.open(path, "rt", encoding="ascii") as fh:
            return fh.read()
    return Path(path).read_text(encoding="ascii")


def check(path: str) -> list[str]:
    text = read(path)
    errors: list[str] = []

    def err(msg: str) -> None:
        if len(errors) < 50:
            errors.append(msg)

    isa = text[:106]
    if len(isa) != 106 or isa[103] != "*" or isa[105] != "~" or text[106] != "\n":
        err("ISA is not 106 characters followed by a newline")
    segs = [s.split("*") for s in text[107:].split("~\n")]
    if segs and segs[-1] == [""]:
        segs.pop()
    isa_f = isa[:-1].split("*")
    stats: Counter[str] = Counter(segments=len(segs) + 1)
    st_ids: set[str] = set()
    clm_ids: set[str] = set()
    n_st = 0
    gs06 = ""
    created = ""
    st_start = 0
    hl_ids: set[str] = set()
    hl_level: dict[str, str] = {}
    claim: dict | None = None
    birth = ""  # DMG of the current subscriber/patient HL
    kp_plan = False
    loop = ""  # last NM1 qualifier, to know which loop an N3/N4 belongs to

    def close_claim() -> None:
        nonlocal claim
        if claim is None:
            return
        if claim["total"] != claim["lines_sum"]:
            err(f"CLM {claim['id']}: CLM02 {claim['total']} != sum of lines {claim['lines_sum']}")
        if claim["n_lines"] == 0:
            err(f"CLM {claim['id']}: no service lines")
        claim = None

    for i, f in enumerate(segs):
        sid = f[0]
        if sid == "GS":
            gs06 = f[6]
            created = f[4]
        elif sid == "ST":
            n_st += 1
            st_start = i
            if f[2] in st_ids:
                err(f"duplicate ST02 {f[2]}")
            st_ids.add(f[2])
            hl_ids.clear()
            hl_level.clear()
        elif sid == "BHT":
            created = f[4]
        elif sid == "SE":
            close_claim()
            if int(f[1]) != i - st_start + 1:
                err(f"SE01 {f[1]} != {i - st_start + 1} for ST02 {segs[st_start][2]}")
            if f[2] != segs[st_start][2]:
                err(f"SE02 {f[2]} != ST02 {segs[st_start][2]}")
        elif sid == "GE":
            if int(f[1]) != n_st or f[2] != gs06:
                err(f"GE {f} (n_st={n_st}, GS06={gs06})")
        elif sid == "IEA":
            if f[1] != "1" or f[2] != isa_f[13]:
                err(f"IEA {f} vs ISA13 {isa_f[13]}")
        elif sid == "HL":
            close_claim()
            if f[1] in hl_ids or (f[2] and f[2] not in hl_ids):
                err(f"HL {f}: duplicate id or unknown parent")
            hl_ids.add(f[1])
            hl_level[f[1]] = f[3]
            stats["HL" + f[3]] += 1
            birth = ""
        elif sid == "SBR":
            stats["sbr09_" + f[9]] += 1
            sbr02 = f[2]
            has_patient = segs[i - 1][4] == "1"
            if (sbr02 == "18") == has_patient:
                err(f"SBR02 '{sbr02}' inconsistent with HL04 at segment {i + 2}")
            kp_plan = "KAISER" in f[4] or f[4].startswith(("KP ", "KPIC"))
        elif sid == "NM1":
            loop = f[1]
            if len(f) > 9 and f[8] == "XX" and not npi_is_valid(f[9]):
                err(f"bad NPI {f[9]} in {f}")
            if f[1] == "PR":
                kp = kp_plan and f[9] in ("62308", "94320")
                stats["payer_" + f[9]] += 1
                stats["kp_subscribers" if kp else "other_subscribers"] += 1
        elif sid == "N3" and loop == "85" and re.search(r"\bP\.?\s*O\.?\s*BOX\b", f[1]):
            err(f"billing provider PO box: {f}")
        elif sid == "N4":
            if not re.fullmatch(r"[A-Z]{2}", f[2]) or not re.fullmatch(r"\d{9}", f[3]):
                err(f"N4 state/ZIP format: {f}")
            if loop == "85":
                stats["bp_in_kp_state" if f[2] in KP_STATES else "bp_outside_kp"] += 1
        elif sid == "DMG":
            birth = f[2]
        elif sid == "CLM":
            close_claim()
            stats["claims"] += 1
            if f[1] in clm_ids:
                err(f"duplicate CLM01 {f[1]}")
            clm_ids.add(f[1])
            if not AMOUNT.match(f[2]):
                err(f"CLM02 format {f[2]}")
            claim = {"id": f[1], "total": Decimal(f[2]), "lines_sum": Decimal(0), "n_lines": 0,
                     "n_dx": 0, "birth": birth}
        elif sid == "AMT":
            stats["amt"] += 1
        elif sid == "HI" and claim is not None:
            for comp in f[1:]:
                q, code = comp.split(":")[:2]
                if not ICD10.match(code):
                    err(f"ICD-10 format {code}")
                if q in ("ABK", "ABF"):
                    claim["n_dx"] += 1
        elif sid in ("SV1", "SV2") and claim is not None:
            charge, units = (f[2], f[4]) if sid == "SV1" else (f[3], f[5])
            if not AMOUNT.match(charge) or Decimal(units) <= 0:
                err(f"{sid} charge/units {f}")
            claim["lines_sum"] += Decimal(charge)
            claim["n_lines"] += 1
            stats["lines"] += 1
            if sid == "SV1":
                for p in f[7].split(":"):
                    if not 1 <= int(p) <= min(claim["n_dx"], 12):
                        err(f"CLM {claim['id']}: bad dx pointer {p} (n_dx={claim['n_dx']})")
            elif not re.fullmatch(r"\d{4}", f[1]):
                err(f"revenue code {f[1]}")
        elif sid == "DTP" and f[1] in ("472", "434"):
            for d in f[3].split("-"):
                if not "20230101" <= d <= "20260630" or d >= created:
                    err(f"service date {d} out of range (BHT04 {created})")
                if claim is not None and claim["birth"] >= d:
                    err(f"CLM {claim['id']}: birth {claim['birth']} not before {d}")
    close_claim()
    if n_st == 0:
        err("no transactions")
    kp, other = stats["kp_subscribers"], stats["other_subscribers"]
    print(f"{path}: {stats['segments']} segments, {n_st} ST, {stats['claims']} claims, "
          f"{stats['lines']} lines, {len(text)} bytes; KP subscribers "
          f"{kp / max(kp + other, 1):.1%}; patient loops {stats['HL23']}/{stats['HL22']}; "
          f"AMT {stats['amt']}; SBR09 "
          + ", ".join(f"{k[6:]}={v}" for k, v in sorted(stats.items()) if k.startswith("sbr09_"))
          + f"; billing providers in KP states {stats['bp_in_kp_state']}/"
          f"{stats['bp_in_kp_state'] + stats['bp_outside_kp']}")
    return errors


def run_pyx12(path: str) -> bool:
    """Validate with pyx12's library API; print errors from its JSON report."""
    import io
    import json
    import logging

    import pyx12.params
    import pyx12.x12n_document

    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logging.getLogger("pyx12").addHandler(handler)
    logging.getLogger("pyx12").setLevel(logging.ERROR)
    fd_json = io.StringIO()
    fd_999 = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(param=pyx12.params.params(), src_file=path,
                                           fd_997=fd_999, fd_html=None, fd_xmldoc=None,
                                           fd_json=fd_json)
    report = json.loads(fd_json.getvalue() or "{}")
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            where = f"line {node.get('cur_line')} {node.get('seg_id') or ''}".rstrip()
            found.extend(f"{where}: {e.get('err_str')}" for e in node.get("errors") or [])
            for k, v in node.items():
                if k != "errors":
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(report)
    print(f"pyx12 {path}: valid={ok}, {len(found)} errors")
    for line in found[:30]:
        print("   ", line)
    if log.getvalue():
        print("   log:", log.getvalue()[:2000])
    ak9 = [s for s in fd_999.getvalue().split("~") if s.strip().startswith(("IK5", "AK9"))]
    print("    999:", " | ".join(s.strip() for s in ak9[:6]))
    return ok and not found


def main(argv: list[str]) -> int:
    use_pyx12 = "--pyx12" in argv
    paths = [a for a in argv if a != "--pyx12"]
    if not paths:
        print(__doc__)
        return 2
    bad = 0
    for p in paths:
        errors = check(p)
        for e in errors:
            print("  ERROR", e)
        bad += bool(errors)
        if use_pyx12 and not run_pyx12(p):
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
