"""Code sets on claims and lines: place of service, revenue codes, procedure code shape,
and service units."""

from __future__ import annotations

import polars as pl

from ...data import load_list
from ..api import Context, emit, rule
from ._common import FAMILY, x12_decimal

# CPT (5 digits), CPT category II/III and PLA (4 digits + F/T/U), HCPCS level II (letter +
# 4 digits); CDT dental codes (D + 4 digits).
HCPCS = r"^(\d{5}|\d{4}[FTU]|[A-Z]\d{4})$"
CDT = r"^D\d{4}$"
_UNITS = {"SV1": "SV104", "SV2": "SV205", "SV3": "SV306"}
_PROC = {"SV1": "SV101-2", "SV2": "SV202-2", "SV3": "SV301-2"}
_POS = {"SV1": "SV105", "SV3": "SV303"}


def _lines(ctx: Context, cond: pl.Expr, *cols: str) -> pl.DataFrame:
    keys = ctx.claims.select("claim_key", "file_id", "st_key")
    return ctx.lines.lazy().filter(cond).select(
        "claim_key", "line_number", "service_index", "service_segment", *cols,
    ).collect().join(keys, on="claim_key")


@rule("CODE504", "Place of service code is not in the CMS list", severity="error", snip=5,
      family=FAMILY, applies_to=("837P", "837D"))
def place_of_service(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks the place of service codes of professional and dental claims against the CMS
    Place of Service code set (`validator/data/place_of_service.txt`): the claim's CLM05-1
    (837P, 837D) and the line overrides SV105 (837P) and SV303 (837D).

    ## Why is this bad?
    The place of service drives facility vs. non-facility pricing; an unassigned or
    malformed code fails the code-set edit (SNIP 5) and the claim is rejected.

    ## Example
    `CLM*PCN001*150***1:B:1*Y*A*Y*Y` (`1` instead of `11`), `SV1*HC:99213*125*UN*1*30**1`

    ## How to fix
    Use the two-digit CMS code: `11` office, `02`/`10` telehealth, `21` inpatient, `22`
    outpatient hospital, `23` emergency room, `20` urgent care…
    """
    codes = load_list("place_of_service.txt")
    c = ctx.claims.lazy().filter(pl.col("transaction_type").is_in(["837P", "837D"])
                                 & pl.col("facility_code").is_not_null()
                                 & ~pl.col("facility_code").is_in(codes)).select(
        "claim_key", "file_id", "st_key", "segment_index", segment_id=pl.lit("CLM"),
        element=pl.lit("CLM05-1"), code="facility_code", where=pl.lit("claim")).collect()
    ln = _lines(ctx, pl.col("place_of_service").is_not_null()
                & ~pl.col("place_of_service").is_in(codes), "place_of_service")
    ln = ln.select("claim_key", "file_id", "st_key", segment_index="service_index",
                   segment_id="service_segment",
                   element=pl.col("service_segment").replace_strict(_POS, default=None),
                   code="place_of_service",
                   where=pl.format("line {}", pl.col("line_number").fill_null("?")))
    bad = pl.concat([c, ln])
    return emit(
        bad, segment_id=pl.col("segment_id"), element=pl.col("element"),
        message=pl.format("place of service '{}' ({}) is not a CMS place of service code; use "
                          "a two-digit code from the CMS list (e.g. 11 office)", "code", "where"),
        expected="CMS place of service code", found=pl.col("code"),
    )


@rule("CODE506", "Revenue code is not 4 digits", severity="error", snip=5, family=FAMILY,
      applies_to=("837I",))
def revenue_code(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that the revenue code of each institutional service line (SV201) is 4 digits.

    ## Why is this bad?
    NUBC revenue codes are 4 digits with a leading zero (`0450`); a 3-digit code (`450`) is
    the most common institutional front-end rejection.

    ## Example
    `SV2*450*HC:99283*950*UN*1`

    ## How to fix
    Send the 4-digit NUBC code, keeping the leading zero: `SV2*0450*…`.
    """
    bad = _lines(ctx, pl.col("revenue_code").is_not_null()
                 & ~pl.col("revenue_code").str.contains(r"^\d{4}$"), "revenue_code")
    return emit(
        bad, segment_index="service_index", segment_id="SV2", element="SV201",
        message=pl.format("revenue code '{}' (line {}) is not 4 digits; send the NUBC code with "
                          "its leading zero", "revenue_code", pl.col("line_number").fill_null("?")),
        expected="4 digits", found=pl.col("revenue_code"),
    )


@rule("CODE507", "Procedure code has the wrong shape for CPT/HCPCS or CDT", severity="error",
      snip=5, family=FAMILY)
def procedure_shape(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks the shape of the procedure code of each service line (SV101-2, SV202-2,
    SV301-2): with qualifier `HC` it must be 5 characters: 5 digits (CPT), 4 digits and
    `F`, `T` or `U` (CPT category II, III, PLA), or a letter and 4 digits (HCPCS level II);
    with `AD` (dental) a `D` and 4 digits (CDT).

    ## Why is this bad?
    A code of any other shape does not exist in the code set (a typo, a modifier run into
    the code, a local code) and fails the code-set edit (SNIP 5).

    ## Example
    `SV1*HC:9921*125*UN*1***1`, `SV1*HC:99213-25*…`

    ## How to fix
    Send the 5-character code and put modifiers in their own components
    (`HC:99213:25`).
    """
    code = pl.col("procedure_code").fill_null("")
    q = pl.col("procedure_qualifier")
    bad = _lines(ctx, ((q == "HC") & ~code.str.contains(HCPCS))
                 | ((q == "AD") & ~code.str.contains(CDT)),
                 "procedure_qualifier", "procedure_code")
    return emit(
        bad, segment_index="service_index", segment_id=pl.col("service_segment"),
        element=pl.col("service_segment").replace_strict(_PROC, default=None),
        message=pl.when(q == "AD")
        .then(pl.format("dental procedure code '{}' (line {}) is not D + 4 digits (CDT)",
                        code, pl.col("line_number").fill_null("?")))
        .otherwise(pl.format("procedure code '{}' (line {}) is not a CPT/HCPCS code shape (5 "
                             "digits, 4 digits + F/T/U, or a letter + 4 digits)", code,
                             pl.col("line_number").fill_null("?"))),
        expected=pl.when(q == "AD").then(pl.lit("D9999")).otherwise(pl.lit("99999, 9999F, A9999")),
        found=pl.col("procedure_code"),
    )


@rule("SIT416", "Service units are not greater than zero", severity="error", snip=4,
      family=FAMILY)
def positive_units(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that the service units (or minutes) of each line (SV104, SV205, SV306 when sent)
    are a number greater than zero: an X12 decimal (no exponent, `NaN` or `inf`) of at most
    15 digits.

    ## Why is this bad?
    Zero or negative units cannot be priced; payers reject the line (and with it the
    claim).

    ## Example
    `SV1*HC:99213*125*UN*0***1`

    ## How to fix
    Send the number of units rendered (at least 1; anesthesia minutes with `MJ`).
    """
    units = x12_decimal(pl.col("units").str.strip_chars()).cast(pl.Float64, strict=False)
    # (X12 quantities are R 1/15: more digits is not a count either.) Unit counts repeat:
    # each distinct text is judged once.
    sane = ((units > 0) & (units < 1e15)).fill_null(False)
    wrong = ctx.lines.select(pl.col("units").unique().drop_nulls()).filter(~sane)["units"]
    bad = _lines(ctx, pl.col("units").is_in(wrong.implode()), "units")
    return emit(
        bad, segment_index="service_index", segment_id=pl.col("service_segment"),
        element=pl.col("service_segment").replace_strict(_UNITS, default=None),
        message=pl.format("service units '{}' (line {}) are not a number greater than zero; "
                          "send the units rendered", "units", pl.col("line_number").fill_null("?")),
        expected="> 0", found=pl.col("units"),
    )
