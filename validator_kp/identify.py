"""Which claims are KP members' claims, and their product, region, funding and route.

One table per run (``kp_claims``), built with whole-column expressions and joins: the
roster join, payer ID / payer name / plan name matching, SBR04/SBR09 keyword derivation
and the expected payer route. Rules and the ``kp`` annotator read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from validator.errors import UsageError
from validator.rules.api import Context
from validator.x12.load import COMP, ELEM

from . import roster as roster_mod
from .config import KPConfig, from_ruleset

COLS = ("product", "region", "funding")
KP_COLUMNS = ("member", "source", "product", "region", "funding", "service_state", "in_kp_state",
              "routed", "expected_payer_id", "expected_payer_name", "expected_payer_address",
              "appeals", "phone")


def words(keywords: Iterable[str]) -> str:
    """A case-insensitive regex matching any keyword as a whole word (spaces flexible)."""
    alts = "|".join(r"\s+".join(re.escape(w) for w in k.split()) for k in keywords)
    return rf"(?i)(?:^|[^A-Z0-9]){'(?:' + alts + ')'}(?:[^A-Z0-9]|$)"


def _matches(col: str, keywords: Iterable[str]) -> pl.Expr:
    keywords = list(keywords)
    if not keywords:
        return pl.lit(False)
    return pl.col(col).fill_null("").str.contains(words(keywords))


def config(ctx: Context) -> KPConfig | None:
    return ctx.derived("kp_config", lambda: from_ruleset(ctx.ruleset))


def roster(ctx: Context) -> pl.DataFrame | None:
    """The ``--members`` roster (None without one); a bad roster is a usage error."""

    def build() -> pl.DataFrame | None:
        path = ctx.options.get("members")
        if not path:
            return None
        try:
            return roster_mod.load(Path(path))
        except roster_mod.RosterError as exc:
            raise UsageError(str(exc)) from None

    return ctx.derived("kp_roster", build)


def _with_roster(claims: pl.DataFrame, members: pl.DataFrame | None) -> pl.DataFrame:
    """Adds ``r_product, r_region, r_funding`` from the roster row of the patient's ID, else of
    the subscriber's member ID (2010BA NM109)."""
    if members is None:
        return claims.with_columns(r_product=pl.lit(None, pl.String),
                                   r_region=pl.lit(None, pl.String),
                                   r_funding=pl.lit(None, pl.String))
    keys = claims.select("claim_key", _mid=roster_mod.normalise_id(pl.col("member_id")),
                         _pid=roster_mod.normalise_id(pl.col("patient_id")))
    r = members.select("member_id", "product", "region", "funding")
    hit = (keys.join(r.rename({c: f"p_{c}" for c in COLS}), left_on="_pid", right_on="member_id",
                     how="left", maintain_order="left")
           .join(r.rename({c: f"m_{c}" for c in COLS}), left_on="_mid", right_on="member_id",
                 how="left", maintain_order="left"))
    # A patient-ID row wins over a subscriber-ID row; a row is taken whole, never mixed.
    by_pid = pl.col("p_product").is_not_null()
    hit = hit.select("claim_key", *(pl.when(by_pid).then(pl.col(f"p_{c}")).otherwise(pl.col(f"m_{c}"))
                                    .alias(f"r_{c}") for c in COLS))
    return claims.join(hit, on="claim_key", how="left", maintain_order="left")


def _plan_product(cfg: KPConfig) -> pl.Expr:
    """The product named by the plan name's keywords (null when none matches)."""
    expr = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    for product, keywords in cfg.plan_keywords:
        expr = expr.when(_matches("plan_name", keywords)).then(pl.lit(product))
    return expr.otherwise(pl.lit(None, pl.String))


def _filing_product(cfg: KPConfig) -> pl.Expr:
    """The product implied by the claim filing indicator (SBR09)."""
    return pl.col("claim_filing").str.strip_chars().str.to_uppercase().replace_strict(
        cfg.claim_filing, default=None, return_dtype=pl.String)


def _per_value(df: pl.DataFrame, col: str, **exprs: pl.Expr) -> pl.DataFrame:
    """Add ``exprs`` computed once per distinct value of ``col``: plan and payer names
    repeat across claims, so each keyword pattern runs on a few dozen strings."""
    values = df.select(pl.col(col).unique()).with_columns(**exprs)
    return df.join(values, on=col, how="left", nulls_equal=True, maintain_order="left")


def _regions_named(cfg: KPConfig) -> pl.Expr:
    """Every region whose keywords the plan name holds (in ruleset order). Plan names are
    free text and two-letter codes collide ("CO-PAY", "INSURANCE CO", "HI DEDUCTIBLE"), so
    a name naming several regions fixes none (KP161 asks for the roster)."""
    hits = [pl.when(_matches("plan_name", r.keywords)).then(pl.lit(code))
            for code, r in cfg.regions.items()]
    return pl.concat_list(hits).list.drop_nulls() if hits else pl.lit([], pl.List(pl.String))


def _excluded(cfg: KPConfig) -> pl.Expr:
    """Insured claims whose region has no Cigna route for the product (a region excluding
    every product is excluded even when the product is unknown)."""
    known = [p for p in cfg.products]
    out = pl.lit(False)
    for code, region in cfg.regions.items():
        excl = list(region.excluded_insured_products)
        if not excl:
            continue
        hit = pl.col("product").is_in(excl)
        if set(known) <= set(excl):
            hit = pl.lit(True)
        out = out | ((pl.col("region") == code) & hit)
    return (pl.col("funding") == "insured") & out.fill_null(False)


def _by_funding(cfg: KPConfig, attr: str) -> pl.Expr:
    mapping = {f: getattr(r, attr) for f, r in cfg.routes.items()}
    return pl.col("funding").replace_strict(mapping, default=None, return_dtype=pl.String)


def _appeals(cfg: KPConfig) -> pl.Expr:
    by_product = {p: v.appeals for p, v in cfg.products.items() if v.appeals}
    by_region = {r: v.appeals for r, v in cfg.regions.items() if v.appeals}
    product_known = pl.col("product").is_in(list(cfg.products))
    return (
        pl.when(pl.col("funding") == "self-funded").then(_by_funding(cfg, "appeals"))
        .when(pl.col("product").is_in(list(by_product)))
        .then(pl.col("product").replace_strict(by_product, default=None, return_dtype=pl.String))
        .when(product_known)
        .then(pl.col("region").replace_strict(by_region, default=None, return_dtype=pl.String))
        .otherwise(pl.lit(None, pl.String))
    )


def kp_claims(ctx: Context) -> pl.DataFrame:
    """Per supported claim: ``claim_key`` and the KP facts (:data:`KP_COLUMNS`); non-members
    have ``member = false`` and nulls elsewhere."""
    return ctx.derived("kp_claims", lambda: _build(ctx))


def _build(ctx: Context) -> pl.DataFrame:
    cfg = config(ctx)
    claims = ctx.claims
    if cfg is None:
        return claims.select("claim_key", member=pl.lit(False),
                             **{c: pl.lit(None, pl.String) for c in KP_COLUMNS[1:]},
                             regions_named=pl.lit(None, pl.List(pl.String)))
    df = _with_roster(claims.select("claim_key", "member_id", "patient_id", "payer_id",
                                    "payer_name", "plan_name", "claim_filing", "facility_state",
                                    "billing_state"), roster(ctx))
    # Keyword matches on the plan (SBR04) and payer (NM103) names, once per distinct name.
    df = _per_value(df, "plan_name", _plan_kp=_matches("plan_name", cfg.patterns),
                    _plan_product=_plan_product(cfg), regions_named=_regions_named(cfg),
                    _plan_self=_matches("plan_name", cfg.self_funded))
    df = _per_value(df, "payer_name", _payer_kp=_matches("payer_name", cfg.patterns))
    payer_id = pl.col("payer_id").str.strip_chars()
    df = df.with_columns(
        source=pl.when(pl.col("r_product").is_not_null()).then(pl.lit("roster"))
        .when(payer_id.is_in(list(cfg.payer_ids))).then(pl.lit("payer_id"))
        .when(pl.col("_payer_kp")).then(pl.lit("payer_name"))
        .when(pl.col("_plan_kp")).then(pl.lit("plan_name"))
        .otherwise(pl.lit(None, pl.String)),
    ).with_columns(member=pl.col("source").is_not_null())
    member = pl.col("member")
    df = df.with_columns(
        product=pl.when(member).then(
            pl.coalesce("r_product", "_plan_product", _filing_product(cfg))),
        region=pl.when(member).then(pl.coalesce(
            "r_region", pl.when(pl.col("regions_named").list.len() == 1)
            .then(pl.col("regions_named").list.first()))),
        funding=pl.when(member).then(
            pl.when(pl.col("r_funding").is_not_null()).then(pl.col("r_funding"))
            .when(pl.col("_plan_self")).then(pl.lit("self-funded"))
            .otherwise(pl.lit("insured"))),
    )
    # Where the care was given: the service facility's state, else the billing provider's.
    state = pl.coalesce(*(pl.col(c).str.strip_chars().str.to_uppercase().replace("", None)
                          for c in ("facility_state", "billing_state")))
    df = df.with_columns(service_state=pl.when(member).then(state)).with_columns(
        in_kp_state=pl.when(member).then(
            pl.col("service_state").is_in(list(cfg.kp_states)).fill_null(False)))
    # The route applies outside KP states; self-funded plans go to KPIC wherever treated.
    routed = member & ~_excluded(cfg) & ((pl.col("funding") == "self-funded")
                                         | ~pl.col("in_kp_state"))
    address = {f: r.mailing_address for f, r in cfg.routes.items()}
    df = df.with_columns(routed=pl.when(member).then(routed)).with_columns(
        expected_payer_id=pl.when(pl.col("routed")).then(_by_funding(cfg, "payer_id")),
        expected_payer_name=pl.when(pl.col("routed")).then(_by_funding(cfg, "payer_name")),
        expected_payer_address=pl.when(pl.col("routed")).then(
            pl.col("funding").replace_strict(address, default=None, return_dtype=pl.String)),
        appeals=pl.when(member).then(_appeals(cfg)),
        phone=pl.when(member).then(pl.lit(cfg.phone)),
    )
    return df.select("claim_key", *KP_COLUMNS, "regions_named")


def emergency(ctx: Context) -> pl.DataFrame:
    """Per KP claim: ``emergency`` (bool) and the codes seen (for messages): places of service,
    procedure codes, revenue codes, admission type."""
    return ctx.derived("kp_emergency", lambda: _emergency(ctx))


def _emergency(ctx: Context) -> pl.DataFrame:
    cfg = config(ctx)
    assert cfg is not None
    em = cfg.emergency
    members = kp_claims(ctx).filter(pl.col("member")).select("claim_key")
    # Narrow first: only these columns travel through the joins.
    claims = ctx.claims.select("claim_key", "facility_qualifier", "facility_code",
                               "admission_type").join(members, on="claim_key", how="semi")
    lines = ctx.lines.select("claim_key", "place_of_service", "procedure_code", "revenue_code").join(
        members, on="claim_key", how="semi").with_columns(
        revenue_code=pl.col("revenue_code").str.strip_chars().str.zfill(4),
        procedure_code=pl.col("procedure_code").str.strip_chars().str.to_uppercase(),
    )
    per_line = lines.group_by("claim_key").agg(
        _line_em=(pl.col("place_of_service").is_in(list(em.places_of_service))
                  | pl.col("procedure_code").is_in(list(em.procedures))
                  | pl.col("revenue_code").is_in(list(em.revenue_codes))).any(),
        line_pos=pl.col("place_of_service").drop_nulls().unique(maintain_order=True),
        procedures=pl.col("procedure_code").drop_nulls().unique(maintain_order=True),
        revenue_codes=pl.col("revenue_code").drop_nulls().unique(maintain_order=True),
    )
    # CLM05-1 is a place of service only with qualifier B (837P); 837I carries a bill type.
    claim_pos = pl.when(pl.col("facility_qualifier") == "B").then(pl.col("facility_code"))
    out = claims.select("claim_key", claim_pos=claim_pos, admission_type="admission_type").join(
        per_line, on="claim_key", how="left", maintain_order="left").join(
        _emergency_indicator(ctx, members), on="claim_key", how="left", maintain_order="left")
    return out.with_columns(
        emergency=(pl.col("claim_pos").is_in(list(em.places_of_service)).fill_null(False)
                   | pl.col("admission_type").is_in(list(em.admission_types)).fill_null(False)
                   | pl.col("_line_em").fill_null(False)
                   | pl.col("emergency_indicator").fill_null(False)),
        places_of_service=pl.concat_list(
            pl.concat_list(pl.col("claim_pos")).list.drop_nulls(),
            pl.col("line_pos").fill_null(pl.lit([], pl.List(pl.String))),
        ).list.unique(maintain_order=True),
    ).drop("_line_em", "line_pos")


def _emergency_indicator(ctx: Context, members: pl.DataFrame) -> pl.DataFrame:
    """``claim_key, emergency_indicator``: a line of the claim has SV109 = Y (the 837P
    line's emergency indicator). Only the members' SV1 segments are split."""
    sv1 = ctx.batch.split_segments().rows(["SV1"]).select(claim_key="clm_key", raw="raw").join(
        members, on="claim_key", how="semi")
    return sv1.group_by("claim_key").agg(emergency_indicator=(
        pl.col("raw").str.split(ELEM).list.get(9, null_on_oob=True).str.strip_chars() == "Y").any())


def patient_paid_value_code(ctx: Context, members: pl.DataFrame) -> pl.DataFrame:
    """``claim_key, value_code_paid`` (the amount as sent), ``value_code_index`` (its HI
    segment): the 837I claim's HI*BE value code FC (patient paid amount), for the
    ``members`` claims that carry one."""
    hi = ctx.segs("HI").select(claim_key="clm_key", seg_index="seg_index", el="el").join(
        members, on="claim_key", how="semi")
    codes = hi.select("claim_key", "seg_index", code=pl.col("el").list.slice(1)).explode(
        "code").with_columns(
        part=pl.col("code").str.split(COMP))
    fc = codes.filter((pl.col("part").list.get(0, null_on_oob=True) == "BE")
                      & (pl.col("part").list.get(1, null_on_oob=True) == "FC"))
    return fc.group_by("claim_key", maintain_order=True).agg(
        value_code_paid=pl.col("part").list.get(4, null_on_oob=True).first(),
        value_code_index=pl.col("seg_index").first())
