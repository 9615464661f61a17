"""Diagnoses: ICD-9/ICD-10 qualifiers by date of service, ICD-10 code shape, and line
diagnosis pointers."""

from __future__ import annotations

from datetime import date

import polars as pl

from ...data import DATA_DIR, load_list
from ...x12.load import COMP, ELEM
from ..api import Context, emit, no_findings, rule
from ..edits import edits, per_row, set_component
from ._common import FAMILY, el, segs

ICD10_START = date(2015, 10, 1)
# X12 sends ICD-10-CM codes without the dot: a letter, then 2-6 letters or digits (the second
# character may be a letter: QA00101, valid from 2025-10-01; U071).
ICD10_CM = r"^[A-Z][0-9A-Z]{2,6}$"
ICD10_PCS = r"^[0-9A-HJ-NP-Z]{7}$"  # 7 characters, no I or O
# Qualifiers whose codes are counted by the line diagnosis pointers (SV107, SV311).
POINTED = ("ABK", "ABF", "BK", "BF")


def _icd10_kinds() -> dict[str, str]:
    """ICD-10 qualifier -> CM or PCS (second column of icd10_qualifiers.txt)."""
    return dict(_ICD10_KINDS)


def icd10_qualifiers(kind: str) -> list[str]:
    """The HI qualifiers carrying ICD-10-CM (``kind="CM"``) or ICD-10-PCS (``"PCS"``) codes."""
    return [q for q, k in _ICD10_KINDS.items() if k == kind]


def _read_kinds() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (DATA_DIR / "icd10_qualifiers.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2:
            out[parts[0]] = parts[1]
    return out


_ICD10_KINDS = _read_kinds()


def diagnoses(ctx: Context) -> pl.DataFrame:
    """One row per HI composite of the claims: claim_key, seg_index, pos, qual, code, date.

    ``date`` is the date that decides the code set: the statement period's end on 837I
    (the discharge/through date), the first date of service otherwise.
    """

    def build() -> pl.DataFrame:
        hi = segs(ctx, "HI").filter(pl.col("clm_key").is_not_null() & pl.col("lx_key").is_null()
                                    & ~pl.col("in_2320"))
        hi = hi.select("file_id", "st_key", claim_key="clm_key", segment_index="seg_index",
                       comp=pl.col("el").list.slice(1))
        hi = hi.with_columns(pos=pl.int_ranges(1, pl.col("comp").list.len() + 1, dtype=pl.UInt8))
        d = hi.explode("comp", "pos").filter(pl.col("comp").is_not_null() & (pl.col("comp") != ""))
        parts = pl.col("comp").str.split_exact(COMP, 1)
        d = d.with_columns(qual=parts.struct.field("field_0"),
                           code=parts.struct.field("field_1")).drop("comp")
        when = ctx.claims.select(
            "claim_key", "transaction_type",
            date=pl.when(pl.col("transaction_type") == "837I")
            .then(pl.coalesce("statement_to", "service_date_to"))
            .otherwise(pl.coalesce("service_date_from", "statement_from")))
        return d.join(when, on="claim_key", how="left", maintain_order="left")

    return ctx.derived("generic_diagnoses", build)


def _el(part: int) -> pl.Expr:
    return pl.format("HI{}-{}", pl.col("pos").cast(pl.String).str.zfill(2), pl.lit(str(part)))


@rule("CODE501", "ICD-9 code qualifier on a claim dated on or after 2015-10-01",
      severity="error", snip=5, family=FAMILY, reads=("HI",))
def icd9_after_cutover(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags ICD-9-CM qualifiers in HI segments (`BK`, `BF`, `BJ`, `PR`, `BN`, `BR`, `BQ`;
    `validator/data/icd9_qualifiers.txt`) on a claim whose date of service is on or after
    2015-10-01 (837P/837D: the first date of service; 837I: the statement period's
    through date).

    ## Why is this bad?
    ICD-10 replaced ICD-9 for services from October 1, 2015; ICD-9 codes on later claims are
    rejected as an invalid code set (SNIP 5).

    ## Example
    `HI*BK:4019` on a claim with `DTP*472*D8*20240115`

    ## How to fix
    Code the diagnoses in ICD-10-CM with the ICD-10 qualifiers: `ABK` (principal), `ABF`
    (other), `ABJ` (admitting), `APR` (reason for visit), `ABN` (external cause).
    """
    d = diagnoses(ctx)
    bad = d.filter(pl.col("qual").is_in(load_list("icd9_qualifiers.txt"))
                   & (pl.col("date") >= ICD10_START))
    return emit(bad, segment_id="HI", element=_el(1),
                message=pl.format("ICD-9 qualifier {} ({}) on a claim dated {}; services from "
                                  "2015-10-01 on need ICD-10 codes and qualifiers (ABK, ABF, …)",
                                  "qual", "code", pl.col("date").dt.strftime("%Y-%m-%d")),
                expected="ICD-10 qualifier", found=pl.col("qual"))


@rule("CODE502", "ICD-10 code qualifier on a claim dated before 2015-10-01",
      severity="error", snip=5, family=FAMILY, reads=("HI",))
def icd10_before_cutover(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags ICD-10 qualifiers in HI segments (`ABK`, `ABF`, `ABJ`, `APR`, `ABN`, `BBR`, `BBQ`;
    `validator/data/icd10_qualifiers.txt`) on a claim whose date of service is before
    2015-10-01 (837P/837D: the first date of service; 837I: the statement period's through
    date).

    ## Why is this bad?
    Services before October 1, 2015 must be coded in ICD-9; payers reject ICD-10 codes on
    them.

    ## Example
    `HI*ABK:I10` on a claim with `DTP*472*D8*20150915`

    ## How to fix
    Code the claim in ICD-9-CM (`BK`, `BF`, …), or correct the date of service if it is
    wrong.
    """
    d = diagnoses(ctx)
    bad = d.filter(pl.col("qual").is_in(list(_icd10_kinds())) & (pl.col("date") < ICD10_START))
    return emit(bad, segment_id="HI", element=_el(1),
                message=pl.format("ICD-10 qualifier {} ({}) on a claim dated {}; services before "
                                  "2015-10-01 are coded in ICD-9 (BK, BF, …)",
                                  "qual", "code", pl.col("date").dt.strftime("%Y-%m-%d")),
                expected="ICD-9 qualifier", found=pl.col("qual"))


def _undot_fix(ctx: Context, found: pl.DataFrame) -> pl.DataFrame:
    """CODE503's fix: drop the decimal point of codes that are well-shaped without it and
    are otherwise as the code set writes them (capitals, no spaces: anything else is left
    to the sender). Every dotted code of one HI segment is fixed in one edit."""
    code = pl.col("found")
    undotted = found.filter(code.str.contains(".", literal=True)
                            & (code.str.replace_all(".", "", literal=True) == pl.col("expected")))
    if not undotted.height:
        return undotted.clear()
    # HI01-2 -> composite 1 (element 1), component 2 (the code).
    pos = pl.col("element").str.extract(r"^HI(\d+)-2$").cast(pl.Int32)
    undotted = undotted.with_columns(pos=pos).filter(pl.col("pos").is_not_null())
    hi = ctx.segs("HI", split=False).select("file_id", "raw", segment_index="seg_index")
    per_seg = undotted.group_by("file_id", "segment_index", maintain_order=True).agg(
        pl.col("claim_key").first(), pl.col("pos"), pl.col("found"), pl.col("expected")).join(
        hi, on=["file_id", "segment_index"], how="inner")

    def undot(raw: str, where: list[int], old: list[str], new: list[str]) -> str:
        for p, o, n in zip(where, old, new, strict=True):
            comp = raw.split(ELEM)[p].split(COMP)
            if len(comp) > 1 and comp[1] == o:  # the code the finding quotes, nothing else
                raw = set_component(raw, p, 2, n)
        return raw

    return edits(per_seg.with_columns(per_row(per_seg, undot, "raw", "pos", "found",
                                              "expected")))


@rule("CODE503", "ICD-10 code has the wrong shape", severity="error", snip=5, family=FAMILY,
      reads=("HI",), fix=_undot_fix)
def icd10_shape(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks the shape of ICD-10 codes in HI segments: ICD-10-CM diagnoses (`ABK`, `ABF`,
    `ABJ`, `APR`, `ABN`) are 3-7 capital letters or digits starting with a letter, with no
    decimal point (the second character may be a letter: `QA00101`, `U071`); ICD-10-PCS
    procedures (`BBR`, `BBQ`) are 7 letters or digits (no I or O). A code written with a
    dot gets its own message: remove the dot. Whether a well-shaped code exists on the
    date of service is CODE510's (diagnoses) and CODE511's (procedures) check.

    ## Why is this bad?
    X12 carries ICD codes without the decimal point; a dotted, lower-case or truncated code
    does not exist in the code set and the claim is rejected (SNIP 5).

    ## Example
    `HI*ABK:J06.9` (decimal point), `HI*ABF:1234`

    ## How to fix
    Drop the decimal point (`J069`) and send the code as the code set lists it, in capitals.

    ## Fix
    Available for a code whose only fault is the decimal point: `claims-validator fix`
    removes the dot (`J06.9` -> `J069`). Lower-case, truncated or otherwise misshapen codes
    are left to the sender.
    """
    cm, pcs = icd10_qualifiers("CM"), icd10_qualifiers("PCS")
    d = diagnoses(ctx)
    code = pl.col("code").fill_null("")
    bad = d.filter((pl.col("qual").is_in(cm) & ~code.str.contains(ICD10_CM))
                   | (pl.col("qual").is_in(pcs) & ~code.str.contains(ICD10_PCS)))
    if not bad.height:
        return no_findings()
    is_cm = pl.col("qual").is_in(cm)
    bare = code.str.replace_all(".", "", literal=True).str.strip_chars().str.to_uppercase()
    fits = pl.when(is_cm).then(bare.str.contains(ICD10_CM)).otherwise(bare.str.contains(ICD10_PCS))
    return emit(
        bad, segment_id="HI", element=_el(2), found=pl.col("code"),
        expected=pl.when(code.str.contains(".", literal=True) & fits).then(bare)
        .when(is_cm).then(pl.lit("3-7 capital letters or digits, no dot"))
        .otherwise(pl.lit("7 characters")),
        message=pl.when(code.str.contains(".", literal=True) & fits)
        .then(pl.format("ICD-10 code '{}' ({}) is written with a decimal point; X12 sends codes "
                        "without it: remove the dot ({})", code, "qual", bare))
        .when(code.str.contains(".", literal=True))
        .then(pl.format("ICD-10 code '{}' ({}) contains a decimal point; send it without the "
                        "dot, as the code set lists it", code, "qual"))
        .when(fits)
        .then(pl.format("ICD-10 code '{}' ({}) must be sent in capitals without spaces ({})",
                        code, "qual", bare))
        .when(is_cm)
        .then(pl.format("ICD-10-CM code '{}' ({}) is not 3-7 letters or digits starting with a "
                        "letter; correct the diagnosis code", code, "qual"))
        .otherwise(pl.format("ICD-10-PCS code '{}' ({}) is not 7 letters or digits; "
                             "correct the procedure code", code, "qual")),
    )


@rule("SIT415", "Diagnosis pointer points at no diagnosis", severity="error", snip=4,
      family=FAMILY, applies_to=("837P", "837D"), reads=("HI", "SV3"))
def diagnosis_pointers(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks the diagnosis code pointers of each service line (SV107 on 837P, SV311 on 837D):
    every pointer must be a number from 1 to the count of diagnosis codes (`ABK`/`ABF`,
    or ICD-9 `BK`/`BF`) in the claim's HI segments.

    ## Why is this bad?
    A pointer to a diagnosis that is not on the claim leaves the line without a diagnosis;
    payers reject it (medical necessity cannot be checked).

    ## Example
    `HI*ABK:J069*ABF:R509` with `SV1*HC:99213*125*UN*1***1:3` (there is no 3rd diagnosis)

    ## How to fix
    Point each line at the diagnoses it treats by their position in HI (1-12), or add the
    missing diagnosis to the claim.
    """
    d = diagnoses(ctx)
    n_dx = d.filter(pl.col("qual").is_in(POINTED)).group_by("claim_key").agg(n_dx=pl.len())
    sv1 = ctx.lines.lazy().filter(pl.col("diagnosis_pointers").is_not_null()).select(
        "claim_key", "line_number", segment_index="service_index", segment_id=pl.lit("SV1"),
        element=pl.lit("SV107"), ptr="diagnosis_pointers").collect()
    sv3 = segs(ctx, "SV3").filter(el(11).is_not_null() & pl.col("clm_key").is_not_null())
    sv3 = sv3.select(claim_key="clm_key", line_number=pl.lit(None, pl.String),
                     segment_index="seg_index", segment_id=pl.lit("SV3"), element=pl.lit("SV311"),
                     ptr=el(11).str.split(COMP))
    p = pl.concat([sv1, sv3]).join(n_dx, on="claim_key", how="left", maintain_order="left").with_columns(
        pl.col("n_dx").fill_null(0).cast(pl.Int64))
    num = pl.col("ptr").list.eval(pl.element().cast(pl.Int64, strict=False).fill_null(0))
    p = p.with_columns(_lo=num.list.min(), _hi=num.list.max())
    bad = p.filter((pl.col("_lo") < 1) | (pl.col("_hi") > pl.col("n_dx")))
    c = ctx.claims.select("claim_key", "file_id", "st_key")
    bad = bad.join(c, on="claim_key")
    return emit(
        bad, segment_id=pl.col("segment_id"), element=pl.col("element"),
        message=pl.when(pl.col("n_dx") == 0)
        .then(pl.format("diagnosis pointer(s) {} point at no diagnosis: the claim has no "
                        "diagnosis code in HI (ABK/ABF); add the diagnoses",
                        pl.col("ptr").list.join(":")))
        .otherwise(pl.format("diagnosis pointer(s) {} point at no diagnosis: the claim has {} "
                             "diagnosis code(s) in HI; point at 1-{} or add the diagnosis",
                             pl.col("ptr").list.join(":"), "n_dx", "n_dx")),
        expected=pl.when(pl.col("n_dx") > 0).then(pl.format("1-{}", "n_dx"))
        .otherwise(pl.lit("a diagnosis in HI")),
        found=pl.col("ptr").list.join(":"),
    )
