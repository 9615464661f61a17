"""File-level findings: unreadable files and transaction sets this tool does not check."""

from __future__ import annotations

import polars as pl

from .api import Context, declare, emit, rule

FILE001 = declare("FILE001", "File is not readable as X12", severity="error", snip=1, family="file", doc="""
    ## What it does
    Reports a file that cannot be read as X12 at all: no ISA segment, unusable delimiters,
    corrupt gzip data, or an I/O error.

    ## Why is this bad?
    Nothing in it can be submitted; if it was meant to be a claim file, its claims are
    missing from the batch.

    ## Example
    A PDF or CSV export dropped into the outgoing folder.

    ## How to fix
    Re-export the claims as an X12 837 file, or remove the file from the batch folder.
    """)
FILE002 = declare("FILE002", "File is UTF-16 encoded", severity="error", snip=1, family="file", doc="""
    ## What it does
    Reports a file saved as UTF-16 (two bytes per character).

    ## Why is this bad?
    X12 receivers read single-byte text; a UTF-16 file is rejected unread.

    ## Example
    A file saved from Notepad with "Unicode" encoding.

    ## How to fix
    Save it as ASCII/ANSI (or UTF-8 without BOM).
    """)
FILE003 = declare("FILE003", "File is empty or truncated", severity="error", snip=1, family="file", doc="""
    ## What it does
    Reports an empty file or one that ends inside its ISA segment.

    ## Why is this bad?
    Nothing can be read from it; the transfer or export was interrupted.

    ## Example
    A 0-byte file, or `ISA*00*    ` with nothing after.

    ## How to fix
    Export or transfer the file again.
    """)
FILE004 = declare("FILE004", "Data after the gzip stream ignored", severity="warning", snip=1,
        family="file", doc="""
    ## What it does
    Flags a `.gz` file with bytes after its last gzip member (other than zero padding). The
    compressed data is read, the rest is ignored, as `gzip -d` does.

    ## Why is this bad?
    Trailing bytes usually mean a file appended to by mistake or damaged in transfer: the
    claims after them may be missing.

    ## Example
    `claims.837.gz` with a log line written after the compressed data.

    ## How to fix
    Compress the file again from its source and check that every claim is present.
    """)
FILE005 = declare("FILE005", "Folder could not be read", severity="error", snip=1,
                  family="file", doc="""
    ## What it does
    Reports a folder inside a scanned folder that could not be listed (no permission, an
    I/O error). Its files were not checked; the run goes on with the others and exits 1.
    A folder named on the command line that cannot be listed is a usage error (exit 2).

    ## Why is this bad?
    Claims in that folder were not validated. A nightly job that skipped them silently
    would report an inbox as clean while it was not.

    ## Example
    `inbox/2026-03-02/` with mode 000, owned by another user.

    ## How to fix
    Give the user running the tool read and execute permission on the folder, or
    `--exclude` it if it is not meant to be checked.
    """)


CLAIM_GUIDES = "005010X222A1 / 005010X223A2 / 005010X224A2"
_FULL_VERSION = {"837P": "005010X222A1", "837I": "005010X223A2", "837D": "005010X224A2"}
_IS_5010 = pl.col("version").fill_null("").str.starts_with("005010")
_5010_837 = pl.col("is_837") & _IS_5010


def _at_st03(t: pl.DataFrame, *, message: pl.Expr, expected: pl.Expr | str,
             found: pl.Expr) -> pl.DataFrame:
    """A version finding per transaction set in ``t``, pointing at its ST03."""
    return emit(t, segment_index="st_index", segment_id="ST", element="ST03",
                message=message, expected=expected, found=found)


@rule("FILE010", "Transaction set is not an 837 claim", severity="warning", snip=1,
      family="file")
def not_a_claim_transaction(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Reports transaction sets other than 837 (835 remittances, 270/271 eligibility, 999
    acknowledgements, 277 status…) found in the batch. They are listed, not validated.

    ## Why is this bad?
    An outgoing claim folder should hold claims; a stray 835 or 999 usually means a file
    was saved to the wrong place, and a claim file may be missing instead.

    ## Example
    `ST*835*0001*005010X221A1~`

    ## How to fix
    Move the file out of the outgoing claims folder.
    """
    t = ctx.transactions.filter(~pl.col("is_837"))
    return emit(
        t, segment_index="st_index", segment_id="ST", element="ST01",
        message=pl.format("transaction set {} ({}) is not an 837 claim; it was not validated",
                          "st01", pl.col("version").fill_null("no version")),
        expected="837", found=pl.col("st01"),
    )


@rule("FILE011", "Unsupported 837 version", severity="error", snip=1, family="file")
def unsupported_version(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Reports 837 transaction sets in a version other than 5010 (e.g. 004010X098A1). Their
    claims are listed but not checked further.

    ## Why is this bad?
    HIPAA has required version 5010 since 2012; payers reject 4010 claims unread.

    ## Example
    `GS*HC*...*004010X098A1~`

    ## How to fix
    Produce the claims in 5010 (005010X222A1 professional, 005010X223A2 institutional,
    005010X224A2 dental).
    """
    t = ctx.transactions.filter(pl.col("is_837") & ~_IS_5010)
    return _at_st03(
        t,
        message=pl.format("837 version {} is not supported: claims must be sent in 5010; "
                          "its claims were listed but not checked",
                          pl.col("version").fill_null("(none)")),
        expected=CLAIM_GUIDES, found=pl.col("version"),
    )


@rule("FILE012", "837 variant that is not a claim submission", severity="warning", snip=1,
      family="file")
def other_837_guide(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Reports 5010 837 transaction sets of guides other than the claim guides X222, X223
    and X224: predeterminations (X291, X292), post-adjudicated reporting (X298). Their
    claims are listed but not checked further. (A version with no guide at all, e.g.
    `005010`, is FILE013.)

    ## Why is this bad?
    These are not claims for payment; sent to a claims payer ID they are rejected.

    ## Example
    `ST*837*0001*005010X291~`

    ## How to fix
    Send them through their own channel, or mark the file with the right claim guide.
    """
    t = ctx.transactions.filter(_5010_837 & pl.col("guide").is_not_null() & ~pl.col("supported"))
    return _at_st03(
        t,
        message=pl.format("837 guide {} is not a claim submission guide (X222/X223/X224); "
                          "its claims were listed but not checked", "version"),
        expected=CLAIM_GUIDES, found=pl.col("version"),
    )


@rule("FILE013", "837 version has no implementation guide identifier", severity="error",
      snip=1, family="file")
def version_without_guide(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Reports 5010 837 transaction sets whose version (ST03, or GS08 when ST03 is empty) is
    only `005010`, without the implementation guide identifier (`X222A1`, `X223A2`,
    `X224A2`). Their claims are still checked as the type their service segments show
    (SV1 professional, SV2 institutional, SV3 dental); with no service segment the type is
    unknown and they are listed but not checked.

    ## Why is this bad?
    The guide identifier tells the receiver which implementation guide (professional,
    institutional, dental, predetermination…) the set follows; without it the group or
    set is rejected (999 / TA1) before any claim is read.

    ## Example
    `GS*HC*SENDER*RECEIVER*20240101*1200*1*X*005010~` / `ST*837*0001~`

    ## How to fix
    Send the full version in GS08 and ST03: `005010X222A1` (837P), `005010X223A2` (837I)
    or `005010X224A2` (837D).
    """
    t = ctx.transactions.filter(_5010_837 & pl.col("guide").is_null())
    full = pl.col("transaction_type").replace_strict(_FULL_VERSION, default=CLAIM_GUIDES)
    return _at_st03(
        t,
        message=pl.when(pl.col("supported"))
        .then(pl.format("837 version {} has no implementation guide identifier; its claims "
                        "were checked as {} (from the service segments): send {} in GS08 and "
                        "ST03", "version", "transaction_type", full))
        .otherwise(pl.format("837 version {} has no implementation guide identifier and no "
                             "service segment shows its type; its claims were listed but not "
                             "checked: send the full version ({}) in GS08 and ST03", "version",
                             full)),
        expected=full, found=pl.col("version"),
    )
