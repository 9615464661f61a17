"""Provider identification: billing provider tax ID and taxonomy codes."""

from __future__ import annotations

import polars as pl

from ..api import Context, emit, rule
from ._common import FAMILY, attach_claims, el, raw, segs
from .addresses import billing_claims, billing_providers

TAXONOMY = r"^[0-9A-Z]{9}X$"


@rule("SIT405", "Billing provider has no valid tax ID (9-digit REF*EI, or REF*SY on 837P/837D)",
      severity="error", snip=4, family=FAMILY, reads=("NM1", "REF"))
def billing_tax_id(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that the billing provider loop (2010AA) carries its tax identification number:
    a `REF*EI` (employer ID) or, on 837P and 837D, `REF*SY` (social security number) whose
    REF02 is 9 digits without a hyphen. The institutional guide (837I, X223A2) allows
    `REF*EI` only.

    ## Why is this bad?
    The billing provider's TIN is required on every 5010 claim (it is what the payer
    reports to the IRS); a missing or malformed TIN, or an SSN on an institutional claim,
    is rejected at the front end.

    ## Example
    `REF*EI*74-1234567` (hyphen), no REF*EI/REF*SY after `NM1*85`, or `REF*SY*123456789`
    on an 837I.

    ## How to fix
    Send `REF*EI*741234567` (or, on 837P/837D, `REF*SY` with the 9-digit SSN for an
    individual billing under their own SSN; an institution bills under its EIN).
    """
    b = billing_providers(ctx).with_columns(
        ssn_837i=(pl.col("transaction_type") == "837I") & (pl.col("billing_tax_qualifier") == "SY"))
    bad = b.filter(~pl.col("billing_tax_id").str.contains(r"^\d{9}$").fill_null(False)
                   | pl.col("ssn_837i"))
    if not bad.height:
        return pl.DataFrame()
    has, ssn_837i = pl.col("billing_tax_id").is_not_null(), pl.col("ssn_837i")
    bad = bad.select("billing_hl", "billing_tax_id", "billing_tax_qualifier", "ssn_837i")
    with_ref = billing_claims(ctx, bad.filter(has), "REF", el(1).is_in(["EI", "SY"]))
    without = billing_claims(ctx, bad.filter(~has), "NM1")
    out = pl.concat([with_ref, without], how="diagonal_relaxed")
    # An SSN is masked: only its last four characters are shown.
    shown = pl.when(pl.col("billing_tax_qualifier") == "SY").then(
        pl.concat_str(pl.lit("***"), pl.col("billing_tax_id").str.slice(-4))
    ).otherwise(pl.col("billing_tax_id"))
    return emit(
        out, segment_index="at",
        segment_id=pl.when(has).then(pl.lit("REF")).otherwise(pl.lit("NM1")),
        element=pl.when(ssn_837i).then(pl.lit("REF01"))
        .when(has).then(pl.lit("REF02")).otherwise(pl.lit(None, pl.String)),
        message=pl.when(ssn_837i).then(pl.lit(
            "837I billing provider tax ID is an SSN (REF*SY); the institutional guide allows "
            "the EIN only: send REF*EI with the 9-digit EIN"))
        .when(has).then(pl.format(
            "billing provider tax ID REF*{} '{}' is not 9 digits; send the TIN as 9 digits "
            "without a hyphen", "billing_tax_qualifier", shown))
        .otherwise(pl.lit("billing provider (2010AA) has no REF*EI or REF*SY tax ID; add the "
                          "9-digit TIN")),
        expected=pl.when(ssn_837i).then(pl.lit("REF*EI"))
        .otherwise(pl.lit("REF*EI or REF*SY with 9 digits")),
        found=pl.when(ssn_837i).then(pl.lit("SY")).otherwise(shown),
    )


@rule("CODE509", "Provider taxonomy code has the wrong shape", severity="error", snip=5,
      family=FAMILY, reads=("PRV",))
def taxonomy_shape(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks every provider taxonomy code (`PRV` with PRV02 = `PXC`, PRV03): 10 characters,
    9 letters or digits followed by `X`.

    ## Why is this bad?
    Taxonomy codes come from the NUCC Health Care Provider Taxonomy code set; a code of any
    other shape cannot exist and fails the code-set edit (SNIP 5). Payers use the taxonomy
    to pick the provider's contract.

    ## Example
    `PRV*BI*PXC*207Q00000` (9 characters, no trailing X)

    ## How to fix
    Copy the taxonomy from the provider's NPPES record, e.g. `207Q00000X` (family medicine).
    """
    prv = segs(ctx, "PRV").filter(raw(2) == "PXC").select(
        "file_id", "st_key", "hl_key", claim_key="clm_key", segment_index="seg_index",
        code=raw(3))
    bad = prv.filter(~pl.col("code").str.contains(TAXONOMY).fill_null(False)).with_columns(
        code=pl.when(pl.col("code") != "").then("code"))
    out = attach_claims(ctx, bad)
    return emit(
        out, segment_id="PRV", element="PRV03",
        message=pl.format("taxonomy code '{}' is not 10 characters ending in X; copy the "
                          "provider's NUCC taxonomy from NPPES", pl.col("code").fill_null("")),
        expected="9 letters/digits + X", found=pl.col("code"),
    )
