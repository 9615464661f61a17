"""Payers: subscriber/patient relationship, payer responsibility sequence, filing codes."""

from __future__ import annotations

import polars as pl

from ...data import load_list
from ..api import Context, emit, rule
from ._common import FAMILY, SID, attach_claims, blank, el, first_segment, raw, segs


def _sbr_2000b(ctx: Context, c: pl.DataFrame) -> pl.DataFrame:
    """``c`` plus ``at``: the index of the claim's 2000B SBR (the CLM when not found)."""
    cond = (SID == "SBR") & pl.col("clm_key").is_null()
    where = first_segment(ctx, "hl_key", c["subscriber_hl"], "SBR", cond)
    where = where.rename({"hl_key": "subscriber_hl", "seg_index": "at"})
    return c.join(where, on="subscriber_hl", how="left", maintain_order="left").with_columns(
        at=pl.coalesce("at", "segment_index"))


@rule("SIT412", "Subscriber relationship (SBR02) contradicts the patient loop",
      severity="error", snip=4, family=FAMILY, reads=("SBR",))
def self_with_patient_loop(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks the subscriber loop's relationship code (2000B SBR02) against the patient loop
    (2000C, `HL*…*23`); it flags a claim
    - whose SBR02 is `18` (self) while the claim sits under a patient loop, or
    - that sits directly under the subscriber (no patient loop: the subscriber is the
      patient) while SBR02 is empty or another code than `18`.

    ## Why is this bad?
    The guides require SBR02 = `18` exactly when the subscriber is the patient (the only
    code 2000B allows) and no SBR02 when a 2000C patient loop follows. A contradiction
    makes payers reject the claim or match it to the wrong person.

    ## Example
    `HL*2*1*22*1` / `SBR*P*18*GRP01******CI` … `HL*3*2*23*0` / `PAT*19`, or
    `HL*2*1*22*0` / `SBR*P**GRP01******CI` followed by the claim.

    ## How to fix
    When the patient is the subscriber, send SBR02 = `18` and no 2000C loop (HL04 of 2000B
    = 0); otherwise leave SBR02 empty and keep the patient's relationship in PAT01.
    """
    has_patient, sbr02 = pl.col("patient_hl").is_not_null(), pl.col("sbr02")
    c = ctx.claims.lazy().filter(
        pl.when(has_patient).then(sbr02 == "18")
        .otherwise(pl.col("sbr_index").is_not_null() & (sbr02 != "18").fill_null(True))
    ).select("claim_key", "file_id", "st_key", "segment_index", "subscriber_hl", "sbr02",
             has_patient=has_patient).collect()
    if not c.height:
        return pl.DataFrame()
    out = _sbr_2000b(ctx, c)
    return emit(
        out, segment_index="at", segment_id="SBR", element="SBR02",
        message=pl.when("has_patient")
        .then(pl.lit("SBR02 = 18 says the subscriber is the patient, but the claim has a "
                     "patient loop (2000C); remove one of them"))
        .otherwise(pl.format("the claim has no patient loop (2000C), so the subscriber is the "
                             "patient, but SBR02 is {}; send SBR02 = 18 (self)",
                             pl.when(sbr02.is_null()).then(pl.lit("empty"))
                             .otherwise(pl.format("'{}'", sbr02)))),
        expected=pl.when("has_patient").then(pl.lit("no 2000C loop")).otherwise(pl.lit("18")),
        found=pl.col("sbr02"),
    )


def _payer_sequence(ctx: Context) -> pl.DataFrame:
    """SBR01 of each claim's 2000B and 2320 loops: claim_key, sbr01, at (2320 SBR index)."""

    def build() -> pl.DataFrame:
        other = segs(ctx, "SBR").filter(pl.col("in_2320") & pl.col("clm_key").is_not_null())
        other = other.select(claim_key="clm_key", sbr01=el(1), at="seg_index")
        own = ctx.claims.select("claim_key", "sbr01", at=pl.lit(None, pl.UInt32))
        return pl.concat([own, other])

    return ctx.derived("generic_payer_sequence", build)


@rule("SIT413", "Claim does not have exactly one primary payer", severity="error", snip=4,
      family=FAMILY, reads=("SBR",))
def one_primary(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Counts the primary payers of a claim: SBR01 = `P` in the subscriber loop (2000B) and
    in the other-subscriber loops (2320). Exactly one must be primary.

    ## Why is this bad?
    Coordination of benefits needs one primary payer: with none the claim cannot be
    adjudicated as secondary (there is no prior payer), with two the payers cannot tell who
    pays first. Clearinghouses reject both.

    ## Example
    `SBR*S*18*GRP01******CI` in 2000B and no 2320 loop with `SBR*P`.

    ## How to fix
    Mark the payer that pays first with `P`, the next with `S`, then `T`, …; on a secondary
    claim the primary payer goes in a 2320 loop with its adjudication.
    """
    seq = _payer_sequence(ctx)
    # Only claims with 2320 loops, or whose 2000B payer is not primary, can be wrong.
    cob = seq.filter(pl.col("at").is_not_null()).select("claim_key")
    odd = seq.filter(pl.col("at").is_null() & (pl.col("sbr01") != "P").fill_null(True))
    keys = pl.concat([cob, odd.select("claim_key")]).unique()
    n = seq.join(keys, on="claim_key", how="semi").group_by("claim_key").agg(
        n_p=(pl.col("sbr01") == "P").sum(),
        extra=pl.col("at").filter((pl.col("sbr01") == "P") & pl.col("at").is_not_null()).last(),
        codes=pl.col("sbr01").fill_null("-").str.join(","),
    ).filter(pl.col("n_p") != 1)
    if not n.height:
        return pl.DataFrame()
    c = ctx.claims.join(n, on="claim_key").select(
        "claim_key", "file_id", "st_key", "segment_index", "subscriber_hl", "n_p", "extra", "codes")
    out = _sbr_2000b(ctx, c)
    return emit(
        out, segment_index=pl.when(pl.col("n_p") > 1).then("extra").otherwise("at"),
        segment_id="SBR", element="SBR01",
        message=pl.when(pl.col("n_p") == 0)
        .then(pl.format("no payer of the claim is primary (SBR01 codes: {}); exactly one SBR01 "
                        "must be P", "codes"))
        .otherwise(pl.format("{} payers of the claim are primary (SBR01 codes: {}); exactly one "
                             "SBR01 may be P", "n_p", "codes")),
        expected="one P", found=pl.col("codes"),
    )


@rule("SIT414", "Payer responsibility sequence code used twice on a claim", severity="error",
      snip=4, family=FAMILY, reads=("SBR",))
def sequence_unique(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that the payer responsibility sequence codes (SBR01) of a claim's 2000B and 2320
    loops are all different: one `S`, one `T`, one `A`…  (`P` is counted by SIT413; `U`,
    unknown, may repeat).

    ## Why is this bad?
    Each payer has one place in the order of payment; two secondary payers make the
    coordination of benefits ambiguous and the claim is rejected.

    ## Example
    2000B `SBR*P*…`, 2320 `SBR*S*…`, another 2320 `SBR*S*…`

    ## How to fix
    Number the payers in their order of responsibility: P, S, T, then A through H.
    """
    seq = _payer_sequence(ctx).filter(pl.col("sbr01").is_not_null()
                                      & ~pl.col("sbr01").is_in(["P", "U"]))
    dup = seq.filter(pl.col("sbr01").is_duplicated())  # cheap pre-filter across claims
    if not dup.height:
        return pl.DataFrame()
    dup = dup.with_columns(k=pl.int_range(pl.len()).over("claim_key", "sbr01")).filter(
        pl.col("k") > 0)
    c = ctx.claims.select("claim_key", "file_id", "st_key", "segment_index")
    out = dup.join(c, on="claim_key")
    return emit(
        out, segment_index=pl.coalesce("at", "segment_index"), segment_id="SBR", element="SBR01",
        message=pl.format("payer responsibility sequence code {} is used by more than one payer "
                          "of the claim; each payer needs its own SBR01 code", "sbr01"),
        expected="unique SBR01", found=pl.col("sbr01"),
    )


@rule("CODE505", "Claim filing indicator code (SBR09) is not a valid code", severity="error",
      snip=5, family=FAMILY, reads=("SBR",))
def claim_filing_code(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks SBR09 (claim filing indicator) of the subscriber (2000B) and other-subscriber
    (2320) loops against the codes the 5010 837 guides allow (`validator/data/
    claim_filing_codes.txt`: `11`-`17`, `AM`, `BL`, `CH`, `CI`, `DS`, `FI`, `HM`, `LM`, `MA`,
    `MB`, `MC`, `OF`, `TV`, `VA`, `WC`, `ZZ`). SBR09 is required.

    ## Why is this bad?
    Payers route the claim (commercial, HMO, Medicare, Medicaid…) by the filing indicator;
    a missing or unknown code fails the code-set edit (SNIP 5).

    ## Example
    `SBR*P*18*GRP01******C1` (`C1` instead of `CI`)

    ## How to fix
    Send the code for the plan type, e.g. `CI` (commercial), `HM` (HMO), `12` (PPO),
    `MB` (Medicare Part B), `MC` (Medicaid).
    """
    sbr = segs(ctx, "SBR")
    codes = load_list("claim_filing_codes.txt")
    bad = sbr.filter(blank(raw(9)) | ~raw(9).is_in(codes)).select(
        "file_id", "st_key", "hl_key", claim_key="clm_key", segment_index="seg_index",
        code=el(9), loop=pl.when(pl.col("in_2320")).then(pl.lit("2320")).otherwise(pl.lit("2000B")))
    out = attach_claims(ctx, bad)
    return emit(
        out, segment_id="SBR", element="SBR09",
        message=pl.when(pl.col("code").is_null())
        .then(pl.format("SBR09 claim filing indicator is empty in loop {}; send the plan's "
                        "filing code (e.g. CI, HM, 12, MB, MC)", "loop"))
        .otherwise(pl.format("SBR09 claim filing indicator '{}' (loop {}) is not a valid code; "
                             "use e.g. CI, HM, 12, MB, MC", "code", "loop")),
        expected="claim filing indicator code", found=pl.col("code"),
    )
