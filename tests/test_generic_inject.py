"""Inject one error of each kind into a clean multi-provider file and check that each is
found, by its own rule, on the claim it was put in (and nowhere else)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from edi_builder import FACILITY_NPI, billing, build_multi, claim, npi, patient, subscriber
from generic_helpers import run

Segs = list[str]


def _sub(s: Segs, old: str, new: str) -> Segs:
    out = [x.replace(old, new, 1) for x in s]
    assert out != s, f"{old!r} not found"
    return out


def _before_lx(c: Segs, extra: Segs) -> Segs:
    at = next(i for i, s in enumerate(c) if s.startswith("LX*"))
    return c[:at] + extra + c[at:]


def _service(kind: str, charge: str, *, units: str = "1", code: str | None = None,
             ptr: str = "1", pos: str = "") -> str:
    if kind == "P":
        return f"SV1*HC:{code or '99213'}*{charge}*UN*{units}*{pos}**{ptr}"
    if kind == "I":
        return f"SV2*0450*HC:{code or '99283'}*{charge}*UN*{units}"
    return f"SV3*AD:{code or 'D0120'}*{charge}*{pos or '11'}***{units}*****{ptr}"


def _one_line(kind: str, pcn: str, date: str, seg: str, *extra: str) -> Segs:
    return claim(kind, pcn, total="100", date=date, lines=[[seg, f"DTP*472*D8*{date}", *extra]])


# rule -> (level, mutation, kinds). Levels: "claim" mutates the claim (kind, pcn, date) ->
# segments; "sub" mutates (subscriber, patient); "prov" mutates the 2010AA segments.
Mutation = Callable[..., object]
CLAIM_LEVEL: dict[str, tuple[Callable[[str, str, str], Segs], str]] = {
    "BAL301": (lambda k, p, d: claim(k, p, total="151", date=d), "PID"),
    "BAL302": (lambda k, p, d: claim(k, p, total="50", charges=("100", "-50"), date=d), "PID"),
    "BAL303": (lambda k, p, d: claim(k, p, total="0", charges=("0",), date=d), "PID"),
    "BAL304": (lambda k, p, d: _one_line(k, p, d, _service(k, "100"),
                                         "SVD*PAYER1*60*HC:99213**1", "CAS*CO*45*30"), "PID"),
    "SIT403": (lambda k, p, d: _before_lx(claim(k, p, date=d), [
        f"NM1*77*2*LAKEVIEW IMAGING*****XX*{FACILITY_NPI}", "N3*9 LAKE RD",
        "N4*HOUSTON*TX*77030"]), "PID"),
    "SIT404": (lambda k, p, d: [s if not s.startswith(("NM1*82", "NM1*71")) else
                                s[:-1] + str((int(s[-1]) + 1) % 10) for s in claim(k, p, date=d)],
               "PID"),
    "SIT406": (lambda k, p, d: _sub(claim(k, p, date=d), ":1*", ":8*"), "PID"),
    "SIT407": (lambda k, p, d: claim(k, p, total="100", lines=[[_service(k, "100")]]), "PD"),
    "SIT408": (lambda k, p, d: claim(k, p, head=["DTP*454*D8*20241301"], date=d), "PID"),
    "SIT409": (lambda k, p, d: claim(k, p, head=["DTP*454*RD8*20240301-20240201"], date=d),
               "PID"),
    "SIT410": (lambda k, p, d: claim(k, p, date="20250301"), "PID"),
    "SIT413": (lambda k, p, d: _before_lx(claim(k, p, date=d), [
        "SBR*P*01*GRP9******CI", "OI***Y***Y", "NM1*IL*1*ROE*MARY****MI*X99",
        "NM1*PR*2*OTHER PAYER*****PI*99"]), "PID"),
    "SIT414": (lambda k, p, d: _before_lx(claim(k, p, date=d), [
        "SBR*S*01*GRP9******CI", "OI***Y***Y", "NM1*IL*1*ROE*MARY****MI*X99",
        "NM1*PR*2*OTHER PAYER*****PI*99", "SBR*S*01*GRP8******CI", "OI***Y***Y",
        "NM1*IL*1*ROE*MARY****MI*X98", "NM1*PR*2*THIRD PAYER*****PI*98"]), "PID"),
    "SIT415": (lambda k, p, d: _one_line(k, p, d, _service(k, "100", ptr="1:4")), "PD"),
    "SIT416": (lambda k, p, d: _one_line(k, p, d, _service(k, "100", units="0")), "PID"),
    "CODE501": (lambda k, p, d: claim(k, p, hi="HI*BK:4659*BF:7802", date=d), "PID"),
    "CODE502": (lambda k, p, d: claim(k, p, hi="HI*ABK:J069*ABF:R509", date="20150901"), "PID"),
    "CODE503": (lambda k, p, d: claim(k, p, hi="HI*ABK:J06.9*ABF:R509", date=d), "PID"),
    "CODE504": (lambda k, p, d: _one_line(k, p, d, _service(k, "100", pos="30")), "PD"),
    "CODE506": (lambda k, p, d: _sub(claim(k, p, date=d), "SV2*0450", "SV2*450"), "I"),
    "CODE507": (lambda k, p, d: _one_line(k, p, d, _service(
        k, "100", code="D012" if k == "D" else "9921")), "PID"),
}
SUB_LEVEL: dict[str, Callable[[str], tuple[Segs, Segs | None]]] = {
    "SIT411": lambda m: (subscriber(has_patient=True, member=m), patient(birth="20241231")),
    "SIT412": lambda m: (subscriber(member=m), patient()),
    "SIT417": lambda m: (_sub(subscriber(member=m), "*DOE*JOHN*", "*DOE**"), None),
    "CODE505": lambda m: (_sub(subscriber(member=m), "******CI", "******C1"), None),
    "CODE508": lambda m: (_sub(subscriber(member=m), "N4*HOUSTON*TX*", "N4*HOUSTON*TE*"), None),
}
PROV_LEVEL: dict[str, Callable[[], Segs]] = {
    "SIT401": lambda: billing(npi=npi("170000001"), street="PO BOX 55"),
    "SIT402": lambda: billing(npi=npi("170000002"), zip="77030"),
    "SIT405": lambda: billing(npi=npi("170000003"))[:-1],
    "CODE509": lambda: billing(npi=npi("170000004"), taxonomy="207Q0000X1"),
}


def _clean_group(kind: str, i: int, date: str) -> tuple[Segs, Segs | None, list[Segs]]:
    has_patient = i % 3 == 0
    sub = subscriber(has_patient=has_patient, member=f"M{i:08d}")
    return sub, (patient() if has_patient else None), [claim(kind, f"OK{i:03d}", date=date)]


@pytest.mark.parametrize("kind", ["P", "I", "D"])
def test_injected_errors_are_found_on_their_claims(kind, tmp_path):
    providers: list[tuple[Segs, list]] = []
    expected: dict[str, set[str]] = {}
    groups = []
    n = 0

    def day() -> str:
        return f"2024{1 + n % 12:02d}{1 + n % 28:02d}"

    # Clean claims around the injected ones.
    for _ in range(8):
        n += 1
        groups.append(_clean_group(kind, n, day()))
    for rule, (make, kinds) in CLAIM_LEVEL.items():
        if kind not in kinds:
            continue
        n += 1
        sub, pat, _c = _clean_group(kind, n, day())
        groups.append((sub, pat, [make(kind, f"X{rule}", day())]))
        expected[rule] = {f"X{rule}"}
    for rule, mutate in SUB_LEVEL.items():
        n += 1
        sub, pat = mutate(f"M{n:08d}")
        groups.append((sub, pat, [claim(kind, f"X{rule}", date=day())]))
        expected[rule] = {f"X{rule}"}
    # Batch duplicates: a reused claim ID and a copy under a new ID.
    n += 1
    sub, pat, _c = _clean_group(kind, n, day())
    groups.append((sub, pat, [claim(kind, "OK001", date=day())]))
    expected["DUP401"] = {"OK001"}
    n += 1
    sub, pat, _c = _clean_group(kind, n, day())
    groups.append((sub, pat, [claim(kind, "DUPA", date=day()), claim(kind, "XDUP402", date=day())]))
    expected["DUP402"] = {"XDUP402"}
    providers.append((billing(), groups))
    for rule, make_bill in PROV_LEVEL.items():
        n += 1
        providers.append((make_bill(), [(subscriber(member=f"M{n:08d}"), None,
                                         [claim(kind, f"X{rule}", date=day())])]))
        expected[rule] = {f"X{rule}"}
    text = build_multi(kind, providers)
    found = run(text, tmp_path)
    got: dict[str, set[str]] = {}
    for rule, cid in found.select("rule", "claim_id").iter_rows():
        got.setdefault(rule, set()).add(cid)
    assert got == expected
    # DUP401 flags the later use of the ID only.
    dup = found.filter(found["rule"] == "DUP401")
    assert dup.height == 1 and dup["segment_index"][0] > 100


def _bench_generator():
    """bench/generate.py of this checkout, or of /work/main, when present."""
    import importlib.util
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parents[1] / "bench" / "generate.py"
    for path in (here, Path("/work/main/bench/generate.py")):
        if path.is_file():
            spec = importlib.util.spec_from_file_location("_bench_generate", path)
            mod = importlib.util.module_from_spec(spec)
            assert spec.loader is not None
            sys.modules[spec.name] = mod  # dataclasses look their module up
            spec.loader.exec_module(mod)
            return mod
    pytest.skip("bench/generate.py not available")


@pytest.mark.parametrize("kind", ["P", "I"])
def test_generated_file_clean_then_injected(kind, tmp_path):
    gen = _bench_generator()
    text = gen.generate(kind, 300, seed=11, claims_per_st=100)
    found = run(text, tmp_path)
    assert found.filter(found["severity"] == "error").height == 0, found.rows()[:5]
    segs = text.split("~\n")
    clm = [i for i, s in enumerate(segs) if s.startswith("CLM*")]
    ids = {i: segs[i].split("*")[1] for i in clm}
    # 1) total off by one dollar on the 5th claim.
    k = clm[4]
    parts = segs[k].split("*")
    parts[2] = f"{float(parts[2]) + 1:.2f}"
    segs[k] = "*".join(parts)
    # 2) malformed procedure code on the first line of the 40th claim.
    k = clm[39]
    sv = next(i for i in range(k, len(segs)) if segs[i].startswith(("SV1*", "SV2*")))
    segs[sv] = segs[sv].replace("HC:", "HC:X", 1)
    # 3) broken rendering/attending NPI on the 120th claim.
    k = clm[119]
    nm = next(i for i in range(k, len(segs)) if segs[i].startswith(("NM1*82*", "NM1*71*")))
    segs[nm] = segs[nm][:-1] + str((int(segs[nm][-1]) + 1) % 10)
    found = run("~\n".join(segs), tmp_path)
    errors = found.filter(found["severity"] == "error")
    got = sorted(errors.select("rule", "claim_id").iter_rows())
    assert got == sorted([("BAL301", ids[clm[4]]), ("CODE507", ids[clm[39]]),
                          ("SIT404", ids[clm[119]])])
