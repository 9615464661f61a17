"""Batch duplicates: a claim ID used twice, and probable duplicate claims, in the batch or
against the claims earlier runs passed (``check --state``, see validator.rules.earlier)."""

from __future__ import annotations

import os

import polars as pl

from .. import findings as F
from ..api import Context, emit, rule
from ..earlier import digest, key_text
from ..repeats import first_of
from ._common import FAMILY, cents

# What makes two claims "the same service" (besides their lines' codes): the same provider
# billing the same payer for the same patient, dates (an 837I stay: its whole statement
# period), place of service or bill type, and charge.
_SAME = ("billing_npi", "payer_id", "member_id", "patient_last", "patient_first",
         "patient_birth", "service_date_from", "service_date_to", "facility_code", "total")


# A CLM01 is unique per billing provider (2010AA NPI) and payer (2010BB ID).
_SAME_ID = ("claim_id", "billing_npi", "payer_id")
_AMENDS = pl.col("frequency_code").is_in(["7", "8"]).fill_null(False)  # replacement, void

# The claim and line columns DUP401, DUP402 and claim_keys read: a run in units keeps them
# for the batch (see validator.engine.units.CLIENT_CLAIMS).
CLAIM_COLUMNS = ("claim_key", "file_id", "st_key", "segment_index", "frequency_code",
                 "total_charge", *_SAME_ID, *(s for s in _SAME if s not in _SAME_ID and s != "total"))
LINE_COLUMNS = ("claim_key", "revenue_code", "procedure_code")


def _id_key() -> list[pl.Expr]:
    """What DUP401 compares claims by (see Rule.batch_keys): the claim ID with provider
    and payer."""
    return [pl.when(pl.col("claim_id").is_not_null()).then(key_text(*_SAME_ID))]


def _same_key() -> list[pl.Expr]:
    """What DUP402 compares claims by (see Rule.batch_keys): the claim-level fields of
    :data:`_SAME` (lines aside)."""
    return [pl.when(~_AMENDS).then(key_text(*(s for s in _SAME if s != "total"),
                                            cents(pl.col("total_charge"))))]


def _procs(ctx: Context, claims: pl.DataFrame, every: bool = False) -> pl.DataFrame:
    """``claims`` (``every``: all of ``ctx.claims``) with ``procs``: its lines as "revenue
    code:procedure", sorted (837I lines may carry no HCPCS at all)."""
    code = pl.concat_str(pl.col("revenue_code").fill_null(""), pl.col("procedure_code")
                         .fill_null(""), separator=":").str.strip_chars(":")
    lines = ctx.lines if every else ctx.lines.join(claims.select("claim_key"), on="claim_key",
                                                   how="semi")
    procs = (lines.lazy().select("claim_key", code=code).sort("claim_key", "code")
             .group_by("claim_key", maintain_order=True).agg(procs=pl.col("code").str.join(" "))
             .collect())
    return claims.join(procs, on="claim_key", how="left", maintain_order="left")


def claim_keys(ctx: Context, salt: bytes) -> pl.DataFrame:
    """Each claim's DUP401 and DUP402 keys, hashed with ``salt`` (see validator.rules.earlier):
    ``claim_key``, ``file_id``, ``claim_id``, ``frequency_code``, ``procs``, ``id_key`` (null
    without a claim ID) and ``dup_key`` (null for replacement and void claims)."""
    c = _procs(ctx, ctx.claims.select("claim_key", "file_id", "frequency_code", *_SAME_ID,
                                      *(s for s in _SAME if s not in _SAME_ID and s != "total"),
                                      total=cents(pl.col("total_charge"))), every=True)
    text = c.select(
        id_text=pl.when(pl.col("claim_id").is_not_null()).then(key_text(*_SAME_ID)),
        dup_text=pl.when(~_AMENDS).then(key_text(*_SAME, "procs")))
    return c.select("claim_key", "file_id", "claim_id", "frequency_code", "procs").with_columns(
        id_key=digest(text["id_text"], salt), dup_key=digest(text["dup_text"], salt))


def _earlier(ctx: Context, key: str) -> pl.DataFrame:
    """Today's claims (not replacements or voids) whose ``key`` (``id_key``, ``dup_key``)
    an earlier run passed in another file, each with the earliest such claim:
    ``claim_key``, ``claim_id``, ``procs``, ``earlier_id``, ``earlier_path``, ``sent``.

    A claim is not compared with keys recorded from its own file's path: a file checked
    again because it changed is a new version of that file, not a second sending."""
    earlier = ctx.options.earlier
    if earlier is None or not earlier.keys.height:
        return pl.DataFrame()
    mine = ctx.derived("dup_claim_keys", lambda: claim_keys(ctx, earlier.salt))
    paths = ctx.batch.files.select("file_id", "path")
    real = paths.with_columns(real=pl.Series([os.path.realpath(p) for p in paths["path"]],
                                             dtype=pl.String)).drop("path")
    m = (mine.filter(pl.col(key).is_not_null() & ~_AMENDS)
         .join(earlier.keys.select(key, earlier_id="claim_id", earlier_path="path", sent="sent"),
               on=key)
         .with_columns(pl.col("earlier_path").cast(pl.String))
         .join(real, on="file_id", how="left")
         .filter(pl.col("earlier_path") != pl.col("real")))
    return (m.sort("claim_key", "sent", "earlier_path", "earlier_id", nulls_last=True)
            .unique("claim_key", keep="first", maintain_order=True)
            .drop("real", "file_id"))


_SENT = pl.col("sent").dt.strftime("%Y-%m-%d")


@rule("DUP401", "Claim ID (CLM01) reused in the batch by the same billing provider and payer",
      severity="error", snip=4, family=FAMILY, batch=True, batch_keys=_id_key)
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

    With `check --state`, each claim is also compared with the claims that earlier runs
    passed (kept 120 days by default, `--state-days`): a claim ID already sent by the same
    billing provider to the same payer is reported with the date and file of the earlier
    claim. Replacement and void claims (CLM05-3 = 7, 8) are not compared with earlier runs,
    and a file checked again because it changed is not compared with its own earlier
    version.

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
    sent = _earlier(ctx, "id_key")
    before = pl.DataFrame()
    if sent.height:
        before = emit(
            c.join(sent.select("claim_key", "earlier_path", "sent"), on="claim_key"),
            segment_id="CLM", element="CLM01",
            message=pl.format("claim ID {} was already sent on {} in {} (an earlier run) by the "
                              "same billing provider to the same payer; give each claim its own "
                              "patient control number (a correction goes out as a replacement, "
                              "CLM05-3 = 7)", "claim_id", _SENT, "earlier_path"),
            expected="unique CLM01", found=pl.col("claim_id"))
    # (null NPIs / payer IDs group together)
    dup = c.filter(pl.struct(*_SAME_ID).is_duplicated() & pl.col("claim_id").is_not_null())
    if not dup.height:
        return before
    dup = first_of(ctx, dup, _SAME_ID).filter(pl.col("k") > 0)
    if sent.height:  # reported once, against the earlier run
        dup = dup.join(sent.select("claim_key"), on="claim_key", how="anti")
    return F.concat([before, emit(
        dup, segment_id="CLM", element="CLM01",
        message=pl.format("claim ID {} is used by {} claims of the same billing provider and "
                          "payer in this batch (first at segment {} of {}); give each claim "
                          "its own patient control number", "claim_id", "n", "first_at",
                          "where"),
        expected="unique CLM01", found=pl.col("claim_id"),
    )])


@rule("DUP402", "Probable duplicate claim under another claim ID", severity="warning", snip=4,
      family=FAMILY, batch=True, batch_keys=_same_key)
def probable_duplicate(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags a claim that repeats an earlier claim of the batch under a different CLM01: same
    billing provider NPI, payer ID, member ID, patient (name and birth date), first and last
    date of service (837I: the statement period), place of service or bill type (CLM05-1),
    the lines' revenue and procedure codes, and total charge. Replacement and void claims
    (CLM05-3 = 7, 8) are not compared; the same service sent to another payer (coordination
    of benefits) is not a duplicate.

    With `check --state`, each claim is also compared with the claims that earlier runs
    passed (kept 120 days by default, `--state-days`), and reported with the claim ID, date
    and file of the earliest one it repeats under another claim ID (a file checked again
    because it changed is not compared with its own earlier version).

    ## Why is this bad?
    Payers deny the second claim as a duplicate (CARC 18) and a pattern of duplicates draws
    audits; usually the same encounter was exported twice.

    ## Example
    Two claims `PCN001` and `PCN002` for the same patient, date, `99213` and `125.00`.

    ## How to fix
    Remove the repeated claim; if the service really happened twice that day, bill it once
    with units or the modifier the payer asks for (e.g. 76, 91).
    """
    c = ctx.claims.lazy().filter(~_AMENDS).select(
        "claim_key", "file_id", "st_key", "segment_index", "claim_id",
        *(s for s in _SAME if s != "total"), total=cents(pl.col("total_charge"))).collect()
    sent = _earlier(ctx, "dup_key")
    if sent.height:  # the earliest earlier claim under another claim ID
        sent = sent.filter(pl.col("earlier_id") != pl.col("claim_id"))
    before = pl.DataFrame()
    if sent.height:
        before = emit(
            c.select("claim_key", "file_id", "st_key", "segment_index").join(
                sent, on="claim_key"),
            segment_id="CLM", element="CLM01",
            message=pl.format("probable duplicate of claim {} sent on {} in {} (an earlier run): "
                              "same billing NPI, payer, member, patient, dates of service, "
                              "place or bill type, service codes ({}) and charge; remove it if "
                              "it is the same encounter", "earlier_id", _SENT, "earlier_path",
                              "procs"),
            expected="one claim per encounter", found=pl.col("claim_id"))
    # Candidates first (a hash of the claim-level fields), procedures only for those.
    c = c.filter(pl.struct(*_SAME).hash().is_duplicated())
    if not c.height:
        return before
    c = _procs(ctx, c).sort("claim_key")
    key = [*_SAME, "procs"]
    c = first_of(ctx, c, key).with_columns(first_id=pl.col("claim_id").first().over(key)).filter(
        pl.col("claim_id") != pl.col("first_id"))
    if sent.height:  # reported once, against the earlier run
        c = c.join(sent.select("claim_key"), on="claim_key", how="anti")
    return F.concat([before, emit(
        c, segment_id="CLM", element="CLM01",
        message=pl.format("probable duplicate of claim {} (segment {} of {}): same billing NPI, "
                          "payer, member, patient, dates of service, place or bill type, "
                          "service codes ({}) and charge; remove it if it is the same "
                          "encounter", "first_id", "first_at", "where", "procs"),
        expected="one claim per encounter", found=pl.col("claim_id"),
    )])
