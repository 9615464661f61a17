"""SNIP 3 balancing: claim total against line charges, and line adjudication (2430)."""

from __future__ import annotations

import polars as pl

from ..api import Context, emit, rule
from ._common import FAMILY, blank, cents, el, money, segs

_ELEMENT = {"SV1": "SV102", "SV2": "SV203", "SV3": "SV302"}


def _not_amount(text: pl.Expr, amount: pl.Expr | None = None) -> pl.Expr:
    """Sent (not blank) but not an X12 decimal amount (e.g. ``abc``, ``NaN``, ``1e5``);
    ``amount`` is its :func:`cents` when already at hand."""
    return ~blank(text) & (cents(text) if amount is None else amount).is_null()


_ADJ = (3, 6, 9, 12, 15, 18)


def _line_cents(ctx: Context) -> pl.DataFrame:
    return ctx.derived("generic_line_cents", lambda: ctx.lines.select(
        "line_key", "claim_key", "service_segment", "service_index", "charge",
        cents=cents(pl.col("charge"))))


@rule("BAL301", "Claim total charge differs from the sum of its line charges", severity="error",
      snip=3, family=FAMILY)
def total_matches_lines(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that the claim's total charge (CLM02) equals the sum of its service line charges
    (SV102 on 837P, SV203 on 837I, SV302 on 837D), compared in cents.

    ## Why is this bad?
    Balancing is a SNIP level 3 edit every clearinghouse and payer applies: a claim whose
    total does not add up is rejected at the front door (277CA status A7/A3) without being
    adjudicated.

    ## Example
    `CLM*PCN001*250***11:B:1*Y*A*Y*Y` with lines `SV1*HC:99213*125*UN*1` and
    `SV1*HC:36415*100*UN*1` (sum 225, not 250).

    ## How to fix
    Recompute CLM02 as the sum of the line charges, or correct the line charge that was
    keyed wrongly. Claims with a line charge that is not an amount are reported by BAL302
    instead.
    """
    lines = _line_cents(ctx).group_by("claim_key").agg(
        n=pl.len(), ok=pl.col("cents").count(), line_sum=pl.col("cents").sum())
    c = ctx.claims.select("claim_key", "file_id", "st_key", "segment_index", "total_charge",
                          total=cents(pl.col("total_charge")))
    bad = c.join(lines, on="claim_key").filter(
        (pl.col("n") == pl.col("ok")) & pl.col("total").is_not_null()
        & (pl.col("total") != pl.col("line_sum")))
    return emit(
        bad, segment_id="CLM", element="CLM02",
        message=pl.format("CLM02 total charge {} does not equal the sum of the claim's {} line "
                          "charges ({}); correct the total or the line charges",
                          money(pl.col("total")), pl.col("n"), money(pl.col("line_sum"))),
        expected=money(pl.col("line_sum")), found=pl.col("total_charge"),
    )


@rule("BAL302", "Service line charge is negative or not an amount", severity="error", snip=3,
      family=FAMILY)
def negative_line_charge(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags a service line whose charge (SV102 / SV203 / SV302) is below zero or is not an
    X12 decimal amount (digits with an optional minus sign and decimal point; no exponent,
    `NaN` or `inf`; and within about 9 * 10**14 dollars).

    ## Why is this bad?
    The 837 carries submitted charges; a negative amount is not a charge and payers reject
    the claim. Credits and corrections go through a replacement (CLM05-3 = 7) or void (8).

    ## Example
    `SV1*HC:99213*-125*UN*1`

    ## How to fix
    Bill the charge as a positive amount; to take back a previous charge, send a corrected
    or voided claim instead.
    """
    invalid = _not_amount(pl.col("charge"), pl.col("cents"))
    bad = _line_cents(ctx).filter((pl.col("cents") < 0) | invalid)
    bad = bad.join(ctx.claims.select("claim_key", "file_id", "st_key"), on="claim_key")
    return emit(
        bad, segment_index="service_index", segment_id=pl.col("service_segment"),
        element=pl.col("service_segment").replace_strict(_ELEMENT, default=None),
        message=pl.when(invalid)
        .then(pl.format("line charge '{}' is not an amount; give the charge as a number",
                        pl.col("charge")))
        .otherwise(pl.format("line charge {} is negative; line charges must be zero or more",
                             pl.col("charge"))),
        expected=">= 0", found=pl.col("charge"),
    )


@rule("BAL303", "Claim total charge is not a positive amount", severity="error", snip=3,
      family=FAMILY)
def positive_total(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that CLM02 (total claim charge) is a number greater than zero. On encounters
    (BHT06 = `RP`, reporting: services already paid under capitation) a zero total is
    allowed; negative or unreadable totals are still flagged.

    ## Why is this bad?
    A claim with a zero, negative or unreadable total cannot be priced; payers reject it
    at the front end.

    ## Example
    `CLM*PCN001*0***11:B:1*Y*A*Y*Y`

    ## How to fix
    Put the sum of the line charges in CLM02 (digits with an optional decimal point, e.g.
    `250` or `250.75`).
    """
    c = ctx.claims.select("claim_key", "file_id", "st_key", "segment_index", "total_charge",
                          total=cents(pl.col("total_charge")))
    bad = c.filter(pl.col("total").is_null() | (pl.col("total") <= 0))
    # Encounters (BHT06 = RP) may report a zero charge.
    rp = ctx.transactions.filter(pl.col("bht06") == "RP")["st_key"]
    zero_encounter = (pl.col("total") == 0).fill_null(False) & pl.col("st_key").is_in(rp.implode())
    bad = bad.filter(~zero_encounter)
    return emit(
        bad, segment_id="CLM", element="CLM02",
        message=pl.when(pl.col("total").is_null())
        .then(pl.format("CLM02 total charge '{}' is not an amount; give the total as a number",
                        pl.col("total_charge").fill_null("")))
        .otherwise(pl.format("CLM02 total charge {} is not positive; a claim must charge more "
                             "than zero", pl.col("total_charge"))),
        expected="> 0", found=pl.col("total_charge"),
    )


def _cas_total() -> pl.Expr:
    """Sum of the adjustment amounts CAS03, 06, 09, 12, 15, 18 of one CAS segment."""
    return pl.sum_horizontal([cents(el(i)).fill_null(0) for i in _ADJ])


@rule("BAL304", "Line charge differs from the line's paid amount plus adjustments (2430)",
      severity="error", snip=3, family=FAMILY, reads=("CAS", "SVD"))
def line_adjudication_balances(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    For each line adjudication loop 2430 (an SVD segment and the CAS segments after it),
    checks that the line charge (SV102 / SV203 / SV302) equals the amount paid by that
    payer (SVD02) plus the sum of its adjustment amounts (CAS03, CAS06, … CAS18).

    ## Why is this bad?
    On a secondary claim the prior payer's adjudication must balance to the line charge;
    a secondary payer rejects a claim whose 2430 loops do not (SNIP 3).

    ## Example
    `SV1*HC:99213*100*UN*1` then `SVD*PAYER1*70*HC:99213**1` and `CAS*CO*45*20` (70 + 20 =
    90, not 100).

    ## How to fix
    Copy the paid amount and every adjustment from the prior payer's 835 remittance for
    that line; patient responsibility (group PR) is an adjustment too. A paid or adjustment
    amount that is not a number is reported too.
    """
    svd = segs(ctx, "SVD")
    if not svd.height:
        return pl.DataFrame()
    svd = svd.filter(pl.col("lx_key").is_not_null()).select(
        "lx_key", "seg_index", "file_id", "st_key", paid=cents(el(2)), paid_raw=el(2))
    cas = segs(ctx, "CAS").filter(pl.col("lx_key").is_not_null()).select(
        "lx_key", "seg_index", adj=_cas_total(),
        adj_bad=pl.any_horizontal([_not_amount(el(i)) for i in _ADJ]))
    # Each CAS belongs to the last SVD before it on the same line.
    marks = pl.concat([svd.select("lx_key", "seg_index", svd_index="seg_index"),
                       cas.select("lx_key", "seg_index", svd_index=pl.lit(None, pl.UInt32))])
    marks = marks.sort("seg_index").with_columns(pl.col("svd_index").forward_fill().over("lx_key"))
    # (seg_index is per file: the SVD is known by its line and position together)
    adj = cas.join(marks, on=["lx_key", "seg_index"]).group_by("lx_key", "svd_index").agg(
        adj=pl.col("adj").sum(), adj_bad=pl.col("adj_bad").any())
    lines = _line_cents(ctx).select("line_key", "claim_key", "cents", "charge",
                                    "service_segment")
    out = (svd.join(adj, left_on=["lx_key", "seg_index"], right_on=["lx_key", "svd_index"],
                    how="left", maintain_order="left")
           .join(lines, left_on="lx_key", right_on="line_key")
           .with_columns(pl.col("adj").fill_null(0)))
    invalid = _not_amount(pl.col("paid_raw")) | pl.col("adj_bad").fill_null(False)
    bad = out.filter(pl.col("cents").is_not_null() & (invalid | (
        pl.col("paid").is_not_null() & (pl.col("cents") != pl.col("paid") + pl.col("adj")))))
    return emit(
        bad, segment_index="seg_index", segment_id="SVD", element="SVD02",
        message=pl.when(invalid)
        .then(pl.format("the paid amount '{}' or an adjustment amount (CAS) of this 2430 loop "
                        "is not an amount; copy paid and adjusted amounts from the prior "
                        "payer's remittance", pl.col("paid_raw").fill_null("")))
        .otherwise(pl.format("line charge {} ({}) does not equal the paid amount {} plus the "
                             "adjustments {} of this 2430 loop ({}); copy paid and adjusted "
                             "amounts from the prior payer's remittance",
                             pl.col("charge"),
                             pl.col("service_segment").replace_strict(_ELEMENT, default=None),
                             pl.col("paid_raw"), money(pl.col("adj")),
                             money(pl.col("paid") + pl.col("adj")))),
        expected=money(pl.col("cents")),
        found=pl.when(invalid).then("paid_raw").otherwise(money(pl.col("paid") + pl.col("adj"))),
    )
