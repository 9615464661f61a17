"""Dates: real calendar dates, forward ranges, nothing after the file date or before birth,
and a service date on every professional and dental line."""

from __future__ import annotations

import polars as pl

from ..api import Context, emit, rule
from ._common import FAMILY, SID, attach_claims, first_segment, raw, segs

_D8 = r"^\d{8}$"
_RD8 = r"^\d{8}-\d{8}$"
# Qualifiers of service dates (472 service, 434 statement period).
SERVICE_QUALIFIERS = ("472", "434")


def _parse(expr: pl.Expr) -> pl.Expr:
    d = expr.str.strptime(pl.Date, "%Y%m%d", strict=False)
    return pl.when(d.dt.year().is_between(1900, 2099)).then(d)


def _dates(ctx: Context) -> pl.DataFrame:
    """Every D8/RD8 date of DTP and DMG segments with its parsed bounds."""

    def build() -> pl.DataFrame:
        keys = ("file_id", "st_key", "hl_key", "clm_key", "seg_index")
        dtp = segs(ctx, "DTP").select(*keys, seg=pl.lit("DTP"), qual=raw(1), fmt=raw(2),
                                      value=raw(3), element=pl.lit("DTP03"))
        dmg = segs(ctx, "DMG").select(*keys, seg=pl.lit("DMG"), qual=pl.lit(None, pl.String),
                                      fmt=raw(1), value=raw(2), element=pl.lit("DMG02"))
        d = pl.concat([dtp, dmg]).filter(pl.col("fmt").is_in(["D8", "RD8"]))
        # Dates repeat across claims: parse each distinct value once, then pick by format.
        v = pl.col("value")
        parsed = d.select(v.unique()).with_columns(
            _a=_parse(v.str.slice(0, 8)), _b=_parse(v.str.slice(9, 8)),
            _d8=v.str.contains(_D8).fill_null(False), _rd8=v.str.contains(_RD8).fill_null(False))
        d = d.join(parsed, on="value", how="left", nulls_equal=True, maintain_order="left")
        rd8 = pl.col("fmt") == "RD8"
        return d.select(
            *keys, "seg", "qual", "fmt", "value", "element", d_from="_a",
            d_to=pl.when(rd8).then("_b").otherwise("_a"),
            shaped=pl.when(rd8).then("_rd8").otherwise("_d8"),
        ).rename({"clm_key": "claim_key", "seg_index": "segment_index"})

    return ctx.derived("generic_dates", build)


@rule("SIT408", "Date is missing or not a real calendar date", severity="error", snip=4,
      family=FAMILY,
      reads=("DMG", "DTP"))
def real_dates(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks every `D8` (CCYYMMDD) and `RD8` (CCYYMMDD-CCYYMMDD) date in DTP and DMG segments:
    each must be present and be a date that exists on the calendar, in the years 1900-2099.

    ## Why is this bad?
    An impossible date (February 30, month 13, year 0024) cannot be adjudicated; the claim
    is rejected at the front end.

    ## Example
    `DTP*472*D8*20240230`, `DMG*D8*19851301*F`, `DTP*434*RD8*20240101-2024015`

    ## How to fix
    Correct the date in the billing system; RD8 ranges are two D8 dates joined by a hyphen.
    """
    d = _dates(ctx)
    bad = d.filter(~pl.col("shaped") | pl.col("d_from").is_null() | pl.col("d_to").is_null())
    out = attach_claims(ctx, bad.select("file_id", "st_key", "hl_key", "claim_key",
                                        "segment_index", "seg", "qual", "fmt", "value", "element"))
    dmg = pl.col("seg") == "DMG"
    missing = pl.col("value").is_null() | (pl.col("value").str.strip_chars() == "")
    shape = pl.when(pl.col("fmt") == "RD8").then(pl.lit("CCYYMMDD-CCYYMMDD")).otherwise(
        pl.lit("CCYYMMDD"))
    return emit(
        out, segment_id=pl.col("seg"), element=pl.col("element"),
        message=pl.when(dmg & missing).then(pl.lit(
            "the birth date (DMG02) is missing; give it as CCYYMMDD"))
        .when(dmg).then(pl.lit("the birth date (DMG02) is not a real calendar date "
                               "(CCYYMMDD); correct it"))
        .when(missing).then(pl.format("DTP*{} has no date: DTP03 must give a {} date", "qual",
                                      shape))
        .otherwise(pl.format("DTP*{} date '{}' is not a real {} date; correct it", "qual",
                             "value", shape)),
        expected=pl.when(pl.col("fmt") == "RD8").then(pl.lit("CCYYMMDD-CCYYMMDD"))
        .otherwise(pl.lit("CCYYMMDD")),
        # Never show a birth date.
        found=pl.when(dmg).then(pl.lit(None, pl.String)).otherwise("value"),
    )


@rule("SIT409", "Date range ends before it starts", severity="error", snip=4, family=FAMILY,
      reads=("DMG", "DTP"))
def forward_ranges(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that every `RD8` date range (DTP03 `CCYYMMDD-CCYYMMDD`) runs forward: the end date
    is on or after the start date.

    ## Why is this bad?
    A backward statement period or service range cannot be priced (days and units are
    computed from it) and is a standard front-end rejection.

    ## Example
    `DTP*434*RD8*20240131-20240101`

    ## How to fix
    Swap or correct the dates so that the first is the earliest.
    """
    d = _dates(ctx)
    bad = d.filter((pl.col("fmt") == "RD8") & (pl.col("d_to") < pl.col("d_from")))
    out = attach_claims(ctx, bad.select("file_id", "st_key", "hl_key", "claim_key",
                                        "segment_index", "qual", "value", "element"))
    return emit(
        out, segment_id="DTP", element=pl.col("element"),
        message=pl.format("DTP*{} date range {} ends before it starts; the end date must be on "
                          "or after the start date", "qual", "value"),
        expected="start <= end", found=pl.col("value"),
    )


@rule("SIT410", "Service date is after the file's creation date", severity="error", snip=4,
      family=FAMILY, reads=("DMG", "DTP"))
def not_future(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that no service date (DTP*472) or statement period (DTP*434) ends after the date
    the transaction was created (BHT04).

    ## Why is this bad?
    A claim cannot bill for services that have not happened yet; payers reject future
    dates of service.

    ## Example
    `BHT*0019*00*BATCH1*20250101*1200*CH` with `DTP*472*D8*20250214`

    ## How to fix
    Correct the date of service, or hold the claim until the service has been rendered.
    """
    d = _dates(ctx).filter(pl.col("qual").is_in(SERVICE_QUALIFIERS) & pl.col("d_to").is_not_null())
    bht = ctx.transactions.select("st_key", "bht04")
    bad = d.join(bht, on="st_key").filter(pl.col("d_to") > pl.col("bht04"))
    out = attach_claims(ctx, bad.select("file_id", "st_key", "hl_key", "claim_key",
                                        "segment_index", "qual", "value", "element", "bht04"))
    return emit(
        out, segment_id="DTP", element=pl.col("element"),
        message=pl.format("DTP*{} service date {} is after the file's creation date {} (BHT04); "
                          "a claim cannot bill future services", "qual", "value",
                          pl.col("bht04").dt.strftime("%Y%m%d")),
        expected=pl.format("<= {}", pl.col("bht04").dt.strftime("%Y%m%d")), found=pl.col("value"),
    )


@rule("SIT411", "Patient's birth date is after the service date", severity="error", snip=4,
      family=FAMILY, reads=("DMG",))
def born_before_service(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that the patient's birth date (DMG02 of 2010CA, or of 2010BA when the subscriber
    is the patient) is not after the claim's first date of service.

    ## Why is this bad?
    A service before birth is impossible; the payer rejects the claim (and the most likely
    cause is a birth date or service date typed wrong, or the wrong member picked).

    ## Example
    `DMG*D8*20240301*F` with `DTP*472*D8*20240115`

    ## How to fix
    Check the patient's birth date against the member's insurance card and the date of
    service against the encounter.
    """
    c = ctx.claims.select(
        "claim_key", "file_id", "st_key", "segment_index", "service_date_from",
        hl=pl.coalesce("patient_hl", "subscriber_hl"),
        birth=pl.when(pl.col("patient_hl").is_not_null()).then("patient_birth")
        .otherwise("subscriber_birth"),
    ).filter(pl.col("birth") > pl.col("service_date_from"))
    if not c.height:
        return pl.DataFrame()
    where = first_segment(ctx, "hl_key", c["hl"], "DMG", (SID == "DMG") & pl.col("clm_key").is_null())
    out = c.join(where.rename({"hl_key": "hl", "seg_index": "at"}), on="hl", how="left",
                 maintain_order="left")
    return emit(
        out, segment_index=pl.coalesce("at", "segment_index"), segment_id="DMG", element="DMG02",
        message=pl.format("the patient's birth date is after the first date of service {}; "
                          "check the birth date and the service dates",
                          pl.col("service_date_from").dt.strftime("%Y-%m-%d")),
        expected="birth date <= first service date", found=None,
    )


def _dated(ctx: Context) -> tuple[pl.Series, pl.Series]:
    """Keys of the lines (2400) and claims (2300) that carry a DTP*472, valid or not (a bad
    date is SIT408's)."""
    dtp = segs(ctx, "DTP").filter(raw(1) == "472")
    line = pl.col("lx_key").is_not_null()
    claim = pl.col("clm_key").is_not_null() & ~line & ~pl.col("in_2320")
    return dtp.filter(line)["lx_key"], dtp.filter(claim)["clm_key"]


@rule("SIT407", "Service line has no date of service", severity="error", snip=4,
      family=FAMILY, applies_to=("837P", "837D"), reads=("CLM", "DTP"))
def line_service_date(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that every service line (2400) of an 837P or 837D claim has a date of service:
    - 837P: its own `DTP*472` (the professional guide has no claim-level service date);
    - 837D: its own `DTP*472` or a `DTP*472` of the claim (2300) that covers all lines,
      unless the claim is a predetermination (CLM19 = `PB`), which has no service date yet.

    A `DTP*472` whose date is not a real date is reported by SIT408, not here.

    ## Why is this bad?
    Payers price and check eligibility per date of service and reject lines without one;
    the 837P guide requires DTP*472 on every line, the 837D guide on every claim or line
    that is not a predetermination.

    ## Example
    `LX*1` / `SV1*HC:99213*125*UN*1***1` with no DTP*472 on the line (a DTP*472 after the
    CLM does not count on 837P); `SV3*AD:D0120*100` with no DTP*472 on the line or claim.

    ## How to fix
    Add `DTP*472*D8*CCYYMMDD` after the SV1/SV3 of each line (837D: or once in 2300 when
    every line has the same date); send a dental predetermination with CLM19 = `PB`.
    """
    on_line, on_claim = _dated(ctx)
    c = ctx.claims.lazy().filter(pl.col("transaction_type").is_in(["837P", "837D"])).select(
        "claim_key", "file_id", "st_key", "transaction_type",
        claim_dated=pl.col("claim_key").is_in(on_claim.implode())).collect()
    bad = ctx.lines.filter(~pl.col("line_key").is_in(on_line.implode())).join(c, on="claim_key")
    dental = pl.col("transaction_type") == "837D"
    if bad.filter(dental).height:  # a dental claim-level date covers; a predetermination has none
        pb = ctx.segs("CLM").filter(raw(19) == "PB")["clm_key"]
        bad = bad.filter(~(dental & (pl.col("claim_dated")
                                     | pl.col("claim_key").is_in(pb.implode()))))
    line = pl.col("line_number").fill_null("?")
    return emit(
        bad, segment_index=pl.coalesce("service_index", "lx_index"),
        segment_id=pl.coalesce("service_segment", pl.lit("LX")), element=None,
        message=pl.when(dental)
        .then(pl.format("service line {} has no date of service: add DTP*472 to the line (or "
                        "to the claim)", line))
        .when("claim_dated")
        .then(pl.format("service line {} has no date of service: add DTP*472 to the line "
                        "(837P carries the service date on each line; the claim's DTP*472 "
                        "does not count)", line))
        .otherwise(pl.format("service line {} has no date of service: add DTP*472 to the "
                             "line", line)),
        expected="DTP*472", found=None,
    )
