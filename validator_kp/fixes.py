"""Fixes of KP100 (payer ID) and KP101 (payer address): rewrite the 2010BB payer loop to
the route the ruleset gives the member's funding.

A fix has to have one right answer, so it is made only when the route is determined: the
claim is a KP member's, routed (outside KP states, or self-funded), its product (and POS
tier) and region are known, and its funding is not in doubt. Funding is in doubt when the
plan counts as insured only because nothing says otherwise (no roster row, no self-funded
word in SBR04) while the claim was sent to the self-funded route's payer ID: the sender may
know better. The 2010BB loop belongs to the subscriber (2000B), so it is rewritten only
when every claim under it needs the same route. The values (payer name and ID, address)
come from the ruleset's ``[kp.routes]``; names and addresses are written in capitals, the
ZIP code as digits, as X12 carries them.
"""

from __future__ import annotations

import logging

import polars as pl

from validator.rules.api import Context
from validator.rules.edits import edits, empty, per_row, set_elements

from . import identify
from .config import KPConfig, Route

log = logging.getLogger("claims_validator")
PARTS = ("nm1", "n3", "n4")
# X12 maximum lengths of the values a fix writes (NM103, N301, N401): a route whose value
# is longer has no right way to be written, and is not used.
MAX_LENGTH = {"payer_name": 60, "address": 55, "city": 30}


def _upper(text: str) -> str:
    return " ".join(text.upper().split())


def _new_text(route: Route, part: str, raw: str) -> str:
    """The payer segment ``part`` of ``raw`` rewritten to ``route``."""
    if part == "nm1":  # NM103 name, NM108 PI (payer identification), NM109 the payer ID
        return set_elements(raw, {3: _upper(route.payer_name), 8: "PI", 9: route.payer_id})
    if part == "n3":
        return set_elements(raw, {1: _upper(route.address)}, keep=1)
    digits = "".join(ch for ch in route.zip if ch.isdigit())
    return set_elements(raw, {1: _upper(route.city), 2: route.state.strip().upper(), 3: digits},
                        keep=3)


def determined(ctx: Context, cfg: KPConfig) -> pl.DataFrame:
    """Per claim with a 2010BB NM1: ``file_id``, ``payer_nm1_index`` (the subscriber's payer
    loop), ``ok`` (the route is determined) and ``funding``."""
    kp = identify.kp_claims(ctx)
    self_funded_id = cfg.routes["self-funded"].payer_id
    claims = ctx.claims.lazy().filter(pl.col("payer_nm1_index").is_not_null()).select(
        "claim_key", "file_id", "payer_nm1_index", "payer_n3_index", "payer_n4_index",
        sent=pl.col("payer_id").str.strip_chars()).collect().join(kp, on="claim_key", how="left")
    doubt = ((pl.col("funding") == "insured") & (pl.col("source") != "roster")
             & (pl.col("sent") == self_funded_id))
    ok = (pl.col("member").fill_null(False) & pl.col("routed").fill_null(False)
          & pl.col("product").is_in(list(cfg.products)) & pl.col("region").is_not_null()
          & pl.col("funding").is_in(list(cfg.routes)) & ~doubt.fill_null(False))
    return claims.with_columns(ok=ok.fill_null(False))


def route_fix(ctx: Context, found: pl.DataFrame, parts: tuple[str, ...]) -> pl.DataFrame:
    """Edits rewriting the ``parts`` (``nm1``, ``n3``, ``n4``) of the payer loops of the
    ``found`` claims' subscribers, where every claim under the subscriber is determined
    and needs the same route."""
    cfg = identify.config(ctx)
    if cfg is None or not found.height:
        return empty()
    too_long = [f for f, r in cfg.routes.items()
                if any(len(_upper(getattr(r, k))) > n for k, n in MAX_LENGTH.items())]
    for f in too_long:
        log.warning("the %s route's payer name, address or city is longer than X12 allows: "
                    "its claims' payer loops are not fixed", f)
    c = determined(ctx, cfg).with_columns(
        ok=pl.col("ok") & ~pl.col("funding").is_in(too_long).fill_null(False))
    groups = c.group_by("file_id", "payer_nm1_index").agg(
        ok=pl.col("ok").all() & (pl.col("funding").n_unique() == 1),
        funding=pl.col("funding").first(), claim_key=pl.col("claim_key").first(),
        flagged=pl.col("claim_key").is_in(found.get_column("claim_key").drop_nulls().implode()).any(),
        n3=pl.col("payer_n3_index").first(), n4=pl.col("payer_n4_index").first(),
        nm1=pl.col("payer_nm1_index").first())
    groups = groups.filter(pl.col("ok") & pl.col("flagged"))
    if not groups.height:
        return empty()
    at = groups.unpivot(index=["file_id", "claim_key", "funding"], on=list(parts),
                        variable_name="part", value_name="segment_index").drop_nulls(
        "segment_index").with_columns(pl.col("segment_index").cast(pl.UInt32))
    segs = ctx.segs("NM1", "N3", "N4", split=False).select(
        "file_id", "raw", segment_index="seg_index")
    at = at.join(segs, on=["file_id", "segment_index"], how="inner")
    new = per_row(at, lambda f, part, raw: _new_text(cfg.routes[f], part, raw),
                  "funding", "part", "raw")
    return edits(at.with_columns(new))


def kp100_fix(ctx: Context, found: pl.DataFrame) -> pl.DataFrame:
    """KP100: the payer ID, name and address (NM1, N3, N4 as far as the loop has them)."""
    return route_fix(ctx, found, PARTS)


def kp101_fix(ctx: Context, found: pl.DataFrame) -> pl.DataFrame:
    """KP101: the payer address (N3, N4); the payer ID is already right."""
    return route_fix(ctx, found, ("n3", "n4"))
