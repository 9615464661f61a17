"""Batch duplicates: a claim ID used twice, and probable duplicate claims."""

from __future__ import annotations

import polars as pl

from ..api import Context, emit, rule
from ..repeats import first_of
from ._common import FAMILY, cents

# What makes two claims "the same service" (besides their lines' codes): the same provider
# billing the same payer for the same patient, dates (an 837I stay: its whole statement
# period), place of service or bill type, and charge.
_SAME = ("billing_npi", "payer_id", "member_id", "patient_last", "patient_first",
         "patient_birth", "service_date_from", "service_date_to", "facility_code", "total")


# A CLM01 is unique per billing provider (2010AA NPI) and payer (2010BB ID).
_SAME_ID = ("claim_id", "billing_npi", "payer_id")


@rule("DUP401", "Claim ID (CLM01) reused in the batch by the same billing provider and payer",
      severity="error", snip=4, family=FAMILY, batch=True)
def claim_id_reused(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags every claim whose patient control number (CLM01) was already used by an earlier
    claim of the batch (any file of the run) from the same billing provider (2010AA NPI)
    to the same payer (2010BB payer ID). The first claim keeps the ID; each later one is
    reported. The same CLM01 under another billing provider, or sent to another payer (the
    primary and the secondary claim of coordination of benefits keep the patient control
    number on purpose), is not a duplicate; claims without an NPI or payer ID count as one
    provider or payer.

    ## Why is this bad?
    CLM01 is how the 277CA acknowledgement and the 835 remittance are matched back to the
    claim; two claims with one ID cannot be told apart, and payers reject the later one as
    a duplicate.

    ## Example
    `CLM*PCN001*150***11:B:1*Y*A*Y*Y` twice in the same batch, both under
    `NM1*85*2*CLINIC*****XX*1234567893` and to `NM1*PR*2*ACME*****PI*12345`.

    ## How to fix
    Give each claim its own patient control number; a corrected claim goes out as a
    replacement (CLM05-3 = 7) in a later batch.
    """
    c = ctx.claims.select("claim_key", "file_id", "st_key", "segment_index", *_SAME_ID)
    # (null NPIs / payer IDs group together)
    dup = c.filter(pl.struct(*_SAME_ID).is_duplicated() & pl.col("claim_id").is_not_null())
    if not dup.height:
        return pl.DataFrame()
    dup = first_of(ctx, dup, _SAME_ID).filter(pl.col("k") > 0)
    return emit(
        dup, segment_id="CLM", element="CLM01",
        message=pl.format("claim ID {} is used by {} claims of the same billing provider and "
                          "payer in this batch (first at segment {} of {}); give each claim "
                          "its own patient control number", "claim_id", "n", "first_at",
                          "where"),
        expected="unique CLM01", found=pl.col("claim_id"),
    )


@rule("DUP402", "Probable duplicate claim under another claim ID", severity="warning", snip=4,
      family=FAMILY, batch=True)
def probable_duplicate(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags a claim that repeats an earlier claim of the batch under a different CLM01: same
    billing provider NPI, payer ID, member ID, patient (name and birth date), first and last
    date of service (837I: the statement period), place of service or bill type (CLM05-1),
    the lines' revenue and procedure codes, and total charge. Replacement and void claims
    (CLM05-3 = 7, 8) are not compared; the same service sent to another payer (coordination
    of benefits) is not a duplicate.

    ## Why is this bad?
    Payers deny the second claim as a duplicate (CARC 18) and a pattern of duplicates draws
    audits; usually the same encounter was exported twice.

    ## Example
    Two claims `PCN001` and `PCN002` for the same patient, date, `99213` and `125.00`.

    ## How to fix
    Remove the repeated claim; if the service really happened twice that day, bill it once
    with units or the modifier the payer asks for (e.g. 76, 91).
    """
    c = ctx.claims.filter(~pl.col("frequency_code").is_in(["7", "8"]).fill_null(False)).select(
        "claim_key", "file_id", "st_key", "segment_index", "claim_id",
        *(s for s in _SAME if s != "total"), total=cents(pl.col("total_charge")))
    # Candidates first (a hash of the claim-level fields), procedures only for those.
    c = c.filter(pl.struct(*_SAME).hash().is_duplicated())
    if not c.height:
        return pl.DataFrame()
    # Each line as "revenue code:procedure" (837I lines may carry no HCPCS at all).
    code = pl.concat_str(pl.col("revenue_code").fill_null(""), pl.col("procedure_code")
                         .fill_null(""), separator=":").str.strip_chars(":")
    procs = ctx.lines.join(c.select("claim_key"), on="claim_key", how="semi").group_by(
        "claim_key").agg(procs=code.sort().str.join(" "))
    c = c.join(procs, on="claim_key", how="left", maintain_order="left").sort("claim_key")
    key = [*_SAME, "procs"]
    c = first_of(ctx, c, key).with_columns(first_id=pl.col("claim_id").first().over(key)).filter(
        pl.col("claim_id") != pl.col("first_id"))
    return emit(
        c, segment_id="CLM", element="CLM01",
        message=pl.format("probable duplicate of claim {} (segment {} of {}): same billing NPI, "
                          "payer, member, patient, dates of service, place or bill type, "
                          "service codes ({}) and charge; remove it if it is the same "
                          "encounter", "first_id", "first_at", "where", "procs"),
        expected="one claim per encounter", found=pl.col("claim_id"),
    )
