"""Addresses: billing provider PO boxes, 9-digit ZIP codes, US state codes, ZIP codes that
exist and belong to the address's state."""

from __future__ import annotations

import polars as pl

from ...data import codesets, load_list
from ..api import CheckFn, Context, emit, no_findings, rule
from ._common import FAMILY, SID, attach_claims, blank, el, first_segment, raw, segs
from .codesets import data_doc

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
    return emit(
        out, segment_index="at", segment_id="N3",
        element=pl.when(in1).then(pl.lit("N301")).otherwise(pl.lit("N302")),
        message=pl.format("billing provider address '{}' is a PO box or lock box; 2010AA needs "
                          "the street address (a box goes in the pay-to address, 2010AB)",
                          pl.when(in1).then("billing_address1").otherwise("billing_address2")),
        expected="street address",
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
    return emit(
        out, segment_index="at", segment_id="N4", element="N403",
        message=pl.format("billing provider ZIP code '{}' is not 9 digits; send the ZIP+4 "
                          "without a hyphen", pl.col("billing_zip").fill_null("")),
        expected="9 digits", found=pl.col("billing_zip"),
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
    return emit(
        c, segment_index=pl.coalesce("facility_n4_index", "segment_index"),
        segment_id="N4", element="N403",
        message=pl.format("service facility ZIP code '{}' is not 9 digits; send the ZIP+4 "
                          "without a hyphen", pl.col("facility_zip").fill_null("")),
        expected="9 digits", found=pl.col("facility_zip"),
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
    return emit(
        out, segment_id="N4", element="N402",
        message=pl.when(pl.col("state").is_null())
        .then(pl.lit("N402 state code is empty on a US address; give the two-letter USPS code "
                     "(or N404 for a foreign address)"))
        .otherwise(pl.format("N402 state code '{}' is not a US state or territory code; use "
                             "the two-letter USPS abbreviation", "state")),
        expected="USPS state code", found=pl.col("state"),
    )


# -- ZIP code vs state (validator/data/codesets: zip_state) ----------------------------------

# N4s whose ZIP/state mismatch is an error (the providers' own addresses): billing
# provider (2010AA), pay-to provider (2010AB), service facility (2310C/2310E, 2420C).
PROVIDER_N4 = ("85", "87", "77")
_ROLES = {"85": "billing provider", "87": "pay-to provider", "77": "service facility",
          "IL": "subscriber", "QC": "patient", "PR": "payer", "PE": "pay-to plan",
          "PW": "ambulance pick-up location", "45": "ambulance drop-off location"}
# People's addresses: their ZIP is shown to 3 digits only in messages (HIPAA Safe Harbor).
_PERSONS = ("IL", "QC")
ZIP_SHAPE = r"^\d{5}(\d{4}|-\d{4})?$"


def zip_exceptions(ctx: Context) -> pl.DataFrame:
    """``zip, state`` pairs the ruleset accepts besides the USPS state (``[codes]
    zip_states``: ZIPs that straddle a state line)."""
    listed = ctx.ruleset.section("codes").get("zip_states", {}) or {}
    rows = [(z, s) for z, states in listed.items() for s in states]
    return pl.DataFrame(rows, orient="row", schema={"zip": pl.String, "state": pl.String})


def zip_checked(ctx: Context) -> pl.DataFrame:
    """US N4s with a well-formed ZIP and a known state, looked up once per run: the N4's
    keys, ``role`` (NM101 of its loop), ``zip``, ``state`` and ``zip_state`` (the USPS
    state; null for an unknown ZIP). Only the rows that need a finding are kept."""

    def build() -> pl.DataFrame:
        n4 = segs(ctx, "N4").with_columns(_state=raw(2), _zip=raw(3), _country=raw(4))
        # Every test runs on the few distinct (state, ZIP, country) triples of the batch;
        # only the N4s of the triples that need a finding are picked out.
        triples = n4.select("_state", "_zip", "_country").unique()
        us = triples.filter(domestic(pl.col("_country"))
                            & pl.col("_zip").str.contains(ZIP_SHAPE).fill_null(False)
                            & pl.col("_state").is_in(load_list("us_states.txt")).fill_null(False))
        us = us.with_columns(zip=pl.col("_zip").str.slice(0, 5), state="_state")
        known = codesets.table("zip_state").select("zip", zip_state="state")
        bad = us.join(known, on="zip", how="left").filter(
            pl.col("zip_state").is_null() | (pl.col("zip_state") != pl.col("state")))
        bad = bad.join(zip_exceptions(ctx), on=["zip", "state"], how="anti")
        if not bad.height:
            return pl.DataFrame()
        hit = n4.join(bad, on=["_state", "_zip", "_country"], how="inner", nulls_equal=True)
        return hit.select("file_id", "st_key", "hl_key", "in_2320", "zip", "state", "zip_state",
                          claim_key="clm_key", segment_index="seg_index", role="nm1")

    return ctx.derived("generic_zip", build)


def _zip_findings(ctx: Context, bad: pl.DataFrame, message: pl.Expr, expected: pl.Expr,
                  ) -> pl.DataFrame:
    if not bad.height:
        return no_findings()
    role = pl.col("role").cast(pl.String)
    person = role.is_in(_PERSONS)
    bad = bad.with_columns(
        who=pl.when(pl.col("in_2320") & role.is_in(["IL", "PR"]))
        .then(pl.format("other {}", role.replace_strict(_ROLES, default="address")))
        .otherwise(role.replace_strict(_ROLES, default="address")),
        shown=pl.when(person).then(pl.format("{}xx", pl.col("zip").str.slice(0, 3)))
        .otherwise(pl.col("zip")))
    out = attach_claims(ctx, bad.select("file_id", "st_key", "hl_key", "claim_key",
                                        "segment_index", "who", "shown", "state", "zip_state"))
    return emit(out, segment_id="N4", element="N403", found=pl.col("shown"),
                expected=expected, message=message)


@rule("CODE518", "ZIP code unknown to USPS", severity="warning", snip=5, family=FAMILY,
      reads=("N4",))
@data_doc
def zip_unknown(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks the 5-digit ZIP code (the first 5 of N403) of every US address (N4 without a
    country code, or N404 = `US`) against the USPS ZIP codes; a ZIP that is not in the
    list is reported. Foreign addresses and malformed ZIPs are not checked here.

    Data: $ZIP.

    ## Why is this bad?
    A ZIP code that does not exist is a typo (digits swapped or dropped); payers price by
    locality and check addresses, and mail sent there comes back.

    ## Example
    `N4*HOUSTON*TX*77000` (no such ZIP)

    ## How to fix
    Look the address up with USPS and send its ZIP+4.
    """
    found = zip_checked(ctx)
    if not found.height:
        return no_findings()
    bad = found.filter(pl.col("zip_state").is_null())
    return _zip_findings(
        ctx, bad, expected=pl.lit("a USPS ZIP code"),
        message=pl.format("{} ZIP code {} is not a USPS ZIP code; correct it", "who", "shown"))


_ZIP_DOC_TAIL = """
    ZIP codes that straddle a state line (e.g. 42223 Fort Campbell, KY/TN) can be accepted
    for more states in a ruleset: `[codes] zip_states = { "42223" = ["TN"] }`.

    Data: $ZIP.

    ## Why is this bad?
    A ZIP code of another state is a typo in the ZIP or the state; payers price by locality
    and route by state, and the claim or its payment goes astray.

    ## Example
    `N4*PHOENIX*AZ*100161234` (10016 is in New York)

    ## How to fix
    Correct the ZIP code or the state (look the address up with USPS); for a ZIP that truly
    serves two states, list it in the ruleset's `[codes] zip_states`.
    """


def _zip_doc(fn: CheckFn) -> CheckFn:
    """The ZIP/state rules' docs: their own "What it does", then the shared rest."""
    fn.__doc__ = (fn.__doc__ or "").rstrip() + "\n" + _ZIP_DOC_TAIL
    return fn


def _zip_mismatch(ctx: Context, providers: bool) -> pl.DataFrame:
    is_provider = (pl.col("role").cast(pl.String).is_in(PROVIDER_N4) & ~pl.col("in_2320")
                   ).fill_null(False)
    found = zip_checked(ctx)
    if not found.height:
        return no_findings()
    bad = found.filter(pl.col("zip_state").is_not_null()
                                  & (is_provider if providers else ~is_provider))
    return _zip_findings(
        ctx, bad, expected=pl.format("a ZIP code in {}", "state"),
        message=pl.format("{} ZIP code {} is in {}, not in {} (N402); correct the ZIP code or "
                          "the state", "who", "shown", "zip_state", "state"))


@rule("CODE519", "Provider ZIP code is not in the address's state", severity="error", snip=5,
      family=FAMILY, reads=("N4",))
@data_doc
@_zip_doc
def zip_state_provider(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that the 5-digit ZIP code of the providers' own US addresses — billing provider
    (2010AA), pay-to provider (2010AB), service facility (2310C on 837P/837D, 2310E on
    837I, 2420C) — belongs to the state in N402 (USPS data). Other addresses are CODE520's.
    """
    return _zip_mismatch(ctx, providers=True)


@rule("CODE520", "Subscriber, patient or other ZIP code is not in the address's state",
      severity="warning", snip=5, family=FAMILY, reads=("N4",))
@data_doc
@_zip_doc
def zip_state_other(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that the 5-digit ZIP code of every other US address — subscriber (2010BA),
    patient (2010CA), payer (2010BB), pay-to plan, other subscriber and payer (2330A/B),
    ambulance pick-up and drop-off — belongs to the state in N402 (USPS data). The
    subscriber's and patient's ZIP codes are shown to 3 digits in messages.
    """
    return _zip_mismatch(ctx, providers=False)
