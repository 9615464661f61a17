"""Addresses: billing provider PO boxes, 9-digit ZIP codes, US state codes."""

from __future__ import annotations

import polars as pl

from ...data import load_list
from ..api import Context, rule
from ._common import FAMILY, SID, attach_claims, blank, el, first_segment, raw, segs

# P.O. Box, PO BOX, POB 12, POST OFFICE BOX, LOCK BOX, LOCKBOX, BOX 123 at the start.
PO_BOX = (r"(?i)(\bP\.?\s*O\.?\s*B(OX)?\b|\bPOST\s*OFFICE\s*BOX\b|\bLOCK\s*BOX\b|"
          r"\bLOCKBOX\b|^\s*BOX\s+\d|\bPOB\s*\d)")
ZIP9 = r"^\d{9}$"


def domestic(country: pl.Expr) -> pl.Expr:
    """A US address: N404 (country code) empty or ``US`` (``USA``, not an ISO 3166 code but
    common, too: such an address keeps its US checks)."""
    return blank(country) | country.str.strip_chars().str.to_uppercase().is_in(["US", "USA"])


def billing_providers(ctx: Context) -> pl.DataFrame:
    """One row per billing provider HL with its address fields."""
    return ctx.derived("generic_billing", lambda: ctx.claims.select(
        "billing_hl", "billing_address1", "billing_address2", "billing_zip", "billing_country",
        "billing_tax_id", "billing_tax_qualifier", "transaction_type",
    ).drop_nulls("billing_hl").unique(subset="billing_hl", keep="first", maintain_order=True))


def billing_claims(ctx: Context, bad: pl.DataFrame, seg_id: str, extra: pl.Expr | None = None,
                   ) -> pl.DataFrame:
    """Claims under the billing HLs in ``bad`` with the index of their 2010AA ``seg_id``."""
    cond = (SID == seg_id) & (pl.col("nm1") == "85") & pl.col("clm_key").is_null()
    if extra is not None:
        cond = cond & extra
    where = first_segment(ctx, "hl_key", bad["billing_hl"], seg_id, cond).rename(
        {"hl_key": "billing_hl"})
    c = ctx.claims.select("claim_key", "file_id", "st_key", "billing_hl", "segment_index")
    return (c.join(bad, on="billing_hl")
            .join(where.rename({"seg_index": "at"}), on="billing_hl", how="left", maintain_order="left")
            .with_columns(at=pl.coalesce("at", "segment_index")))


@rule("SIT401", "Billing provider address is a PO box or lock box", severity="error", snip=4,
      family=FAMILY, reads=("N3",))
def billing_po_box(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags a billing provider address (2010AA N301/N302) that is a post office box or lock
    box: `P.O. Box`, `PO BOX`, `POB 12`, `POST OFFICE BOX`, `LOCK BOX`, `LOCKBOX`, `BOX 12`.

    ## Why is this bad?
    The 5010 implementation guides require the billing provider's street address; a PO box
    or lock box is allowed only in the pay-to address (2010AB). Payers reject the claim.

    ## Example
    `NM1*85*2*NORTHSIDE CLINIC*****XX*1234567893` / `N3*PO BOX 1234`

    ## How to fix
    Put the practice's physical street address in 2010AA and, when payments go to a box,
    send it as the pay-to address (loop 2010AB, `NM1*87`).
    """
    b = billing_providers(ctx)
    bad = b.filter(pl.col("billing_address1").str.contains(PO_BOX).fill_null(False)
                   | pl.col("billing_address2").str.contains(PO_BOX).fill_null(False))
    if not bad.height:
        return pl.DataFrame()
    out = billing_claims(ctx, bad.select("billing_hl", "billing_address1", "billing_address2"),
                         "N3")
    in1 = pl.col("billing_address1").str.contains(PO_BOX).fill_null(False)
    return out.select(
        "claim_key", "file_id", "st_key", segment_index="at", segment_id=pl.lit("N3"),
        element=pl.when(in1).then(pl.lit("N301")).otherwise(pl.lit("N302")),
        message=pl.format("billing provider address '{}' is a PO box or lock box; 2010AA needs "
                          "the street address (a box goes in the pay-to address, 2010AB)",
                          pl.when(in1).then("billing_address1").otherwise("billing_address2")),
        expected=pl.lit("street address"),
        found=pl.when(in1).then("billing_address1").otherwise("billing_address2"),
    )


@rule("SIT402", "Billing provider ZIP code is not 9 digits", severity="error", snip=4,
      family=FAMILY, reads=("N4",))
def billing_zip9(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that the billing provider's ZIP code (2010AA N403) has 9 digits (ZIP+4, no
    hyphen). Foreign addresses (N404 country code present and not `US`) are not checked.

    ## Why is this bad?
    The 5010 837 guides require the full ZIP+4 for the billing provider; a 5-digit ZIP is
    a common front-end rejection.

    ## Example
    `N4*HOUSTON*TX*77030`

    ## How to fix
    Send the 9-digit ZIP code, e.g. `N4*HOUSTON*TX*770301234` (look up the +4 with USPS).
    """
    b = billing_providers(ctx)
    bad = b.filter(domestic(pl.col("billing_country"))
                   & ~pl.col("billing_zip").str.contains(ZIP9).fill_null(False))
    if not bad.height:
        return pl.DataFrame()
    out = billing_claims(ctx, bad.select("billing_hl", "billing_zip"), "N4")
    return out.select(
        "claim_key", "file_id", "st_key", segment_index="at", segment_id=pl.lit("N4"),
        element=pl.lit("N403"),
        message=pl.format("billing provider ZIP code '{}' is not 9 digits; send the ZIP+4 "
                          "without a hyphen", pl.col("billing_zip").fill_null("")),
        expected=pl.lit("9 digits"), found="billing_zip",
    )


@rule("SIT403", "Service facility ZIP code is not 9 digits", severity="error", snip=4,
      family=FAMILY)
def facility_zip9(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that the service facility location's ZIP code (loop 2310C on 837P/837D, 2310E
    on 837I: `NM1*77` then N403) has 9 digits. Foreign addresses (N404 country code
    present and not `US`) are not checked.

    ## Why is this bad?
    The guides require ZIP+4 for the service facility; payers use it for locality pricing
    and reject 5-digit ZIPs.

    ## Example
    `NM1*77*2*LAKEVIEW IMAGING*****XX*1555555553` / `N4*HOUSTON*TX*77030`

    ## How to fix
    Send the facility's 9-digit ZIP code without a hyphen.
    """
    c = ctx.claims.filter(
        pl.any_horizontal(pl.col("facility_city", "facility_state", "facility_zip").is_not_null())
        & domestic(pl.col("facility_country")) & ~pl.col("facility_zip").str.contains(ZIP9).fill_null(False)
    )
    # The claims table already locates the facility's N4 (facility_n4_index).
    return c.select(
        "claim_key", "file_id", "st_key",
        segment_index=pl.coalesce("facility_n4_index", "segment_index"),
        segment_id=pl.lit("N4"), element=pl.lit("N403"),
        message=pl.format("service facility ZIP code '{}' is not 9 digits; send the ZIP+4 "
                          "without a hyphen", pl.col("facility_zip").fill_null("")),
        expected=pl.lit("9 digits"), found="facility_zip",
    )


@rule("CODE508", "State code is not a US state or territory", severity="error", snip=5,
      family=FAMILY, reads=("N4",))
def state_codes(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks every US address (N4 without a country code, or with N404 = `US`) in the claim
    file: N402 must be a USPS state, district or territory code (`validator/data/
    us_states.txt`: the 50 states, DC, PR, VI, GU, AS, MP, UM, FM, MH, PW and the military
    AA/AE/AP).

    ## Why is this bad?
    An unknown or missing state code fails the code-set edit (SNIP 5) and the claim is
    rejected; it also breaks state-based routing and pricing.

    ## Example
    `N4*HOUSTON*TE*770301234` (`TE` is not a state code)

    ## How to fix
    Use the two-letter USPS abbreviation (`TX`). For a foreign address send N404 (country)
    and leave N402 empty.
    """
    n4 = segs(ctx, "N4")
    states = load_list("us_states.txt")
    state = raw(2)
    bad = n4.filter(
        domestic(raw(4)) & (blank(state) | ~state.is_in(states))
    ).select("file_id", "st_key", "hl_key", claim_key="clm_key", segment_index="seg_index",
             state=el(2), nm1="nm1")
    out = attach_claims(ctx, bad)
    return out.select(
        "file_id", "st_key", "claim_key", "segment_index", segment_id=pl.lit("N4"),
        element=pl.lit("N402"),
        message=pl.when(pl.col("state").is_null())
        .then(pl.lit("N402 state code is empty on a US address; give the two-letter USPS code "
                     "(or N404 for a foreign address)"))
        .otherwise(pl.format("N402 state code '{}' is not a US state or territory code; use "
                             "the two-letter USPS abbreviation", "state")),
        expected=pl.lit("USPS state code"), found="state",
    )
