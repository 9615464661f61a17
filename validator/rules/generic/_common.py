"""Shared helpers of the generic (SNIP 3-5) rules: segment slices, positions, amounts.

Everything here is computed once per run through ``ctx.derived`` and shared by the rules.
"""

from __future__ import annotations

import polars as pl

from ...x12.segments import el, with_el
from ..api import Context

FAMILY = "generic"
SID = pl.col("seg_id")

_COLS = ("file_id", "seg_index", "seg_id", "st_key", "hl_key", "clm_key", "lx_key", "nm1",
         "in_2320")


def raw(i: int) -> pl.Expr:
    """Element ``i`` as sent (empty string when empty, null when absent): cheaper than ``el``
    on large scans; test emptiness with :func:`blank`."""
    return pl.col("el").list.get(i, null_on_oob=True)


def blank(expr: pl.Expr) -> pl.Expr:
    return expr.is_null() | (expr == "")


def segs(ctx: Context, seg_id: str) -> pl.DataFrame:
    """``ctx.segs(seg_id)`` with the key columns the generic rules use, and ``el``."""
    return ctx.segs(seg_id).select(*_COLS, "el")


def nm1_names(ctx: Context) -> pl.DataFrame:
    """NM1 segments with their entity code, type, names and ID as flat columns (shared)."""
    nm1 = segs(ctx, "NM1")  # (outside ``derived``: every rule asking must declare NM1)
    return ctx.derived("generic_nm1", lambda: nm1.select(
        "file_id", "st_key", "hl_key", "nm1", "in_2320", claim_key="clm_key",
        segment_index="seg_index",
        code=raw(1), kind=raw(2), last=raw(3), first=raw(4), id_qualifier=raw(8), id=raw(9)))


def hl_claims(ctx: Context) -> pl.DataFrame:
    """``hl_key -> claim_key`` for every claim under a billing, subscriber or patient HL."""

    def build() -> pl.DataFrame:
        c = ctx.claims
        parts = [c.select(hl_key=pl.col(h), claim_key="claim_key")
                 for h in ("billing_hl", "subscriber_hl", "patient_hl")]
        return pl.concat(parts).drop_nulls().unique(maintain_order=True)

    return ctx.derived("generic_hl_claims", build)


def attach_claims(ctx: Context, found: pl.DataFrame) -> pl.DataFrame:
    """Give findings on segments above the claim (2000A/B/C loops) the claims beneath.

    ``found`` has ``hl_key`` and ``claim_key`` (null outside a claim); a row outside a claim
    becomes one row per claim under its HL (kept as-is when the HL has no claim).
    """
    if not found.height:
        return found.drop("hl_key")
    inside = found.filter(pl.col("claim_key").is_not_null())
    above = found.filter(pl.col("claim_key").is_null()).drop("claim_key")
    hit = above.join(hl_claims(ctx), on="hl_key", how="left", maintain_order="left")
    return pl.concat([inside, hit.select(inside.columns)]).drop("hl_key")


def first_segment(ctx: Context, key: str, keys: pl.Series, seg_id: str,
                  cond: pl.Expr) -> pl.DataFrame:
    """``key, seg_index`` of the first ``seg_id`` segment matching ``cond`` per ``key`` value
    in ``keys``.

    Used to point findings computed on the claims table at the segment they concern; it
    only reads when there is something to locate.
    """
    if not keys.len():
        return pl.DataFrame(schema={key: pl.UInt32, "seg_index": pl.UInt32})
    # The rows of that ID (picked by row number), narrowed to the keys, then split.
    rows = ctx.segs(seg_id, supported=False, split=False)
    hit = with_el(rows.filter(pl.col(key).is_in(keys.unique().implode()))).filter(cond)
    return hit.select(key, "seg_index").unique(subset=key, keep="first", maintain_order=True)


# X12 type R: optional minus, digits, one optional decimal point (no exponent, NaN or inf).
X12_DECIMAL = r"^-?(?:\d+\.?\d*|\.\d+)$"


def x12_decimal(expr: pl.Expr) -> pl.Expr:
    """The text when it is a valid X12 decimal, else null. (``expr`` is evaluated twice:
    pass a column, not a costly expression.)"""
    return pl.when(expr.str.contains(X12_DECIMAL)).then(expr)


def cents(expr: pl.Expr) -> pl.Expr:
    """An X12 decimal amount as integer cents, exact (null when not a valid decimal or
    beyond the Int64 range of cents, about 9 * 10**16)."""
    exact = x12_decimal(expr).cast(pl.Decimal(38, 2), strict=False)
    return (exact * 100).cast(pl.Int64, strict=False)


def money(expr: pl.Expr) -> pl.Expr:
    """Integer cents as a ``1234.50`` string."""
    a = expr.abs()
    sign = pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.format("{}{}.{}", sign, (a // 100).cast(pl.String),
                     (a % 100).cast(pl.String).str.zfill(2))


__all__ = ["FAMILY", "SID", "attach_claims", "blank", "cents", "el", "first_segment",
           "hl_claims", "money", "nm1_names", "raw", "segs", "x12_decimal"]
