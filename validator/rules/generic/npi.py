"""National Provider Identifiers: the Luhn check digit over the 80840 prefix."""

from __future__ import annotations

import polars as pl

from ..api import Context, emit, rule
from ._common import FAMILY, attach_claims, nm1_names

# Luhn over "80840" + NPI: the prefix's digits contribute a constant 24.
_PREFIX_SUM = 24


def npi_check_expr(npi: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(is 10 digits, expected check digit) for a column of NPI strings, vectorised.

    The first nine digits are taken arithmetically from the NPI read as an integer.
    """
    shaped = npi.str.contains(r"^\d{10}$").fill_null(False)
    base = pl.when(shaped).then(npi.str.slice(0, 9).cast(pl.Int64, strict=False))
    digits = [(base // 10 ** (8 - i)) % 10 for i in range(9)]
    # Payload digits at even positions (0, 2, 4, 6, 8) are doubled (rightmost first).
    doubled = [d * 2 - pl.when(d > 4).then(9).otherwise(0) for d in digits[0::2]]
    total = pl.sum_horizontal(*doubled, *digits[1::2]) + _PREFIX_SUM
    return shaped, ((10 - total % 10) % 10).cast(pl.String)


@rule("SIT404", "NPI fails the check-digit test", severity="error", snip=4, family=FAMILY, reads=("NM1",))
def npi_check_digit(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks every NPI in the file (any `NM1` with NM108 = `XX`: billing, rendering,
    referring, attending, service facility, payer…): NM109 must be 10 digits whose last
    digit is the Luhn check digit computed over the prefix `80840` and the first 9 digits.

    ## Why is this bad?
    A mistyped NPI fails the check-digit edit at every clearinghouse (SNIP 4), and the
    claim is rejected before it reaches the payer.

    ## Example
    `NM1*85*2*NORTHSIDE CLINIC*****XX*1234567890` (the check digit of 123456789 is 3)

    ## How to fix
    Copy the NPI from NPPES (npiregistry.cms.hhs.gov); a failed check digit almost always
    means a transposed or mistyped digit.
    """
    xx = nm1_names(ctx).filter(pl.col("id_qualifier") == "XX")
    # NPIs repeat across claims: test each distinct value once, then find the bad ones.
    shaped, check = npi_check_expr(pl.col("npi"))
    values = xx.select(npi=pl.col("id").unique()).with_columns(_shaped=shaped, _check=check)
    values = values.filter(~pl.col("_shaped") | (pl.col("npi").str.slice(9, 1) != pl.col("_check")))
    if not values.height:
        return pl.DataFrame()
    bad = xx.rename({"id": "npi"}).join(values, on="npi", nulls_equal=True).select(
        "file_id", "st_key", "hl_key", "nm1", "claim_key", "segment_index", "npi", "_shaped",
        "_check")
    out = attach_claims(ctx, bad)
    return emit(
        out, segment_id="NM1", element="NM109",
        message=pl.when(~pl.col("_shaped"))
        .then(pl.format("NPI '{}' (NM1*{}) is not 10 digits; copy the NPI from NPPES",
                        pl.col("npi").fill_null(""), "nm1"))
        .otherwise(pl.format("NPI {} (NM1*{}) fails the check-digit test: the last digit "
                             "should be {}; check the NPI against NPPES", "npi", "nm1",
                             "_check")),
        expected=pl.when(pl.col("_shaped")).then(
            pl.format("check digit {}", "_check")).otherwise(pl.lit("10 digits")),
        found=pl.col("npi"),
    )
