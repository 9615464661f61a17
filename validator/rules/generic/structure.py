"""Situational structure: replacement/void claims, person names."""

from __future__ import annotations

import polars as pl

from ..api import Context, emit, rule
from ._common import FAMILY, attach_claims, blank, nm1_names

# NM101 entity codes -> what the person is, for messages.
_ROLE = {"IL": "subscriber", "QC": "patient", "82": "rendering provider",
         "71": "attending provider", "72": "operating physician", "ZZ": "other operating physician",
         "DN": "referring provider", "P3": "primary care provider", "DK": "ordering provider",
         "DQ": "supervising provider", "85": "billing provider", "87": "pay-to provider",
         "QB": "purchased service provider", "DD": "assistant surgeon"}


@rule("SIT406", "Corrected or void claim without the payer's claim control number",
      severity="error", snip=4, family=FAMILY)
def replacement_needs_f8(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags a claim with frequency code 7 (replacement) or 8 (void) in CLM05-3 that has no
    payer claim control number (`REF*F8` in loop 2300).

    ## Why is this bad?
    The payer finds the claim to replace or void by its own claim number (the ICN/DCN from
    the remittance); without it the correction is rejected or, worse, paid as a new claim.

    ## Example
    `CLM*PCN001*150***11:B:7*Y*A*Y*Y` with no `REF*F8*…`

    ## How to fix
    Add `REF*F8*<payer claim number>` from the original claim's 835 or 277, or send the claim
    as an original (CLM05-3 = 1) if it never reached the payer.
    """
    bad = ctx.claims.filter(pl.col("frequency_code").is_in(["7", "8"])
                            & pl.col("payer_claim_number").is_null())
    return emit(
        bad, segment_id="CLM", element="CLM05-3",
        message=pl.format("claim frequency {} ({}) needs the payer's claim control number: add "
                          "REF*F8 with the original claim's payer number", "frequency_code",
                          pl.when(pl.col("frequency_code") == "7").then(pl.lit("replacement"))
                          .otherwise(pl.lit("void"))),
        expected="REF*F8", found=pl.col("frequency_code"),
    )


@rule("SIT417", "Person's name lacks a last or first name", severity="error", snip=4,
      family=FAMILY, reads=("NM1",))
def person_names(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks every person name (`NM1` with NM102 = `1`: subscriber, patient, rendering,
    referring, attending provider…): the last name (NM103) and the first name (NM104) must
    both be present. The other-subscriber and other-payer loops of a claim (2320/2330x) are
    not checked: their provider loops (e.g. `NM1*82*1` in 2330D) send only NM101/NM102,
    NM103-NM109 are not used there.

    ## Why is this bad?
    Payers match members and providers by name; an empty first or last name fails the
    situational edit and the claim is rejected or matched to no one.

    ## Example
    `NM1*IL*1*DOE*****MI*W123456789` (no first name)

    ## How to fix
    Send the person's last name in NM103 and first name in NM104; an organisation uses
    NM102 = `2` with its name in NM103.
    """
    # Not in 2320/2330x: the other payer's provider loops send NM101/NM102 only (NM103-NM109
    # are not used there).
    nm1 = nm1_names(ctx).filter((pl.col("kind") == "1") & ~pl.col("in_2320")
                                & (blank(pl.col("last")) | blank(pl.col("first"))))
    bad = nm1.select("file_id", "st_key", "hl_key", "claim_key", "segment_index", "code",
                     last_missing=blank(pl.col("last")))
    out = attach_claims(ctx, bad)
    role = pl.col("code").replace_strict(_ROLE, default=None).fill_null(
        pl.format("NM1*{} person", pl.col("code").fill_null("")))
    return emit(
        out, segment_id="NM1",
        element=pl.when("last_missing").then(pl.lit("NM103")).otherwise(pl.lit("NM104")),
        message=pl.when("last_missing")
        .then(pl.format("the {}'s last name (NM103) is empty; send the person's last name", role))
        .otherwise(pl.format("the {}'s first name (NM104) is empty; send the person's first "
                             "name", role)),
        expected=pl.when("last_missing").then(pl.lit("last name")).otherwise(pl.lit("first name")),
        found=None,
    )
