"""KP1xx: Kaiser Permanente members treated in Cigna's PPO network outside KP states.

Each rule reads the per-claim KP facts of :mod:`validator.kp.identify` (only KP members'
claims are checked) and the ruleset's ``[kp]`` data; messages name the values found and
what to do (the right payer, ID and address, the eligibility phone), never member IDs,
names or birth dates.
"""

from __future__ import annotations

import polars as pl

from validator.rules.api import Context, annotator, emit, rule

from . import identify
from .config import POS_UNKNOWN_TIER, KPConfig
from .fixes import kp100_fix, kp101_fix

SNIP = 7  # trading-partner (payer) specific
MEDICAL = ("837P", "837I")  # the arrangement covers medical claims; dental is not checked

# The Cigna arrangement applies to care outside KP states (``in_kp_state``: the service
# facility's state, else the billing provider's); ``routed`` also requires a region and
# product served by the route. Care inside a KP state is billed to Kaiser Permanente.
CIGNA_CARE = pl.col("routed") & ~pl.col("in_kp_state")
PAYER_ID = pl.col("payer_id").str.strip_chars()  # 2010BB NM109 as sent, without padding


def _kp(ctx: Context) -> tuple[KPConfig | None, pl.DataFrame]:
    """The config and the KP members' claims (claim columns + KP facts + segment positions)."""
    cfg = identify.config(ctx)
    if cfg is None:
        return None, pl.DataFrame()
    return cfg, ctx.derived("kp_members", lambda: _members(ctx, cfg))


def _members(ctx: Context, cfg: KPConfig) -> pl.DataFrame:
    kp = identify.kp_claims(ctx).filter(pl.col("member"))
    claims = ctx.claims.filter(pl.col("transaction_type").is_in(MEDICAL)).join(
        kp, on="claim_key", how="inner")
    names = {p: v.name for p, v in cfg.products.items()} | {POS_UNKNOWN_TIER: "POS (tier unknown)"}
    regions = {r: f"{v.name} ({r})" for r, v in cfg.regions.items()}
    # Segment positions (sbr_index, payer_nm1_index, …) come with the claims table.
    return claims.with_columns(
        product_name=pl.col("product").replace_strict(names, default="unknown product",
                                                      return_dtype=pl.String),
        region_name=pl.col("region").replace_strict(regions, default="unknown region",
                                                    return_dtype=pl.String),
    )


def _sbr_or_clm() -> tuple[pl.Expr, pl.Expr]:
    """Point at SBR04 unless the roster supplied the facts (then the CLM)."""
    from_sbr = (pl.col("source") != "roster") & pl.col("sbr_index").is_not_null()
    return (pl.when(from_sbr).then("sbr_index").otherwise("segment_index"),
            pl.when(from_sbr).then(pl.lit("SBR")).otherwise(pl.lit("CLM")))


@rule("KP100", "Wrong payer ID for a KP member's claim", severity="error", snip=SNIP, family="kp",
      applies_to=MEDICAL, fix=kp100_fix)
def kp100_payer_id(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks the payer ID (2010BB NM109) of a Kaiser Permanente member's claim: claims for
    self-funded plans go to {{ kp.routes["self-funded"].payer_name }} (payer ID
    {{ kp.routes["self-funded"].payer_id }}), all other claims to {{ kp.routes.insured.payer_name }}
    (payer ID {{ kp.routes.insured.payer_id }}). Not raised when the member's region is excluded
    from the Cigna route (KP120), nor for an insured plan's care inside a KP state
    (that is billed to Kaiser Permanente; KP130 reports such claims sent to Cigna).

    ## Why is this bad?
    A claim sent to the wrong payer ID is rejected or misrouted, and the timely-filing clock
    keeps running while it is.

    ## Example
    An insured KP HMO member's emergency claim sent with `NM1*PR*2*KAISER*****PI*12345`, or a
    self-funded plan's claim sent to Cigna's {{ kp.routes.insured.payer_id }}.

    ## How to fix
    Send insured plans' claims to {{ kp.routes.insured.payer_name }}, {{ kp.routes.insured.address }},
    {{ kp.routes.insured.city }}, {{ kp.routes.insured.state }} {{ kp.routes.insured.zip }}, payer ID
    {{ kp.routes.insured.payer_id }}; self-funded plans' claims to
    {{ kp.routes["self-funded"].payer_name }}, {{ kp.routes["self-funded"].address }},
    {{ kp.routes["self-funded"].city }}, {{ kp.routes["self-funded"].state }}
    {{ kp.routes["self-funded"].zip }}, payer ID {{ kp.routes["self-funded"].payer_id }}. If a plan
    is self-funded, say so in SBR04
    (`{{ kp.identify.self_funded | join("`, `") }}`) or in the `--members` roster. Verify
    eligibility at {{ kp.phone }}.

    ## Fix
    Available: `claims-validator fix` sets the payer (2010BB NM1 NM103 name, NM108 `PI`,
    NM109 payer ID) and the payer address (N3, N4, when present) to the route of the
    member's funding: {{ kp.routes.insured.payer_name }} ({{ kp.routes.insured.payer_id }}) for
    insured plans, {{ kp.routes["self-funded"].payer_name }}
    ({{ kp.routes["self-funded"].payer_id }}) for self-funded plans.

    Not fixed when the route is not determined: the product (or POS tier) or the region is
    unknown (KP160, KP161), or the plan counts as insured only by default while the claim
    went to the self-funded payer ID {{ kp.routes["self-funded"].payer_id }} (it may be a
    self-funded plan SBR04 does not name). The 2010BB loop is the subscriber's: it is
    rewritten only when every claim under that subscriber needs the same route; otherwise
    it is left as it is. Segments the loop lacks (N3/N4) are not added.
    """
    cfg, m = _kp(ctx)
    if cfg is None:
        return pl.DataFrame()
    found = PAYER_ID
    m = m.filter(pl.col("routed") & (found != pl.col("expected_payer_id")).fill_null(True))
    sf = cfg.routes["self-funded"].payer_id
    hint = (pl.when((pl.col("funding") == "insured") & (found == sf))
            .then(pl.lit(f"; {sf} is for self-funded plans only: if this plan is self-funded, say so "
                         "in SBR04 (e.g. SELF-FUNDED) or in the --members roster"))
            .otherwise(pl.lit("")))
    msg = pl.format("payer ID {} is wrong for this Kaiser Permanente member ({} {} plan): send the "
                    "claim to {}, {}, payer ID {}{}; verify eligibility at {}",
                    pl.col("payer_id").fill_null("(none)"), "funding", "product_name",
                    "expected_payer_name",
                    "expected_payer_address", "expected_payer_id", hint, pl.lit(cfg.phone))
    return emit(m, segment_index=pl.coalesce("payer_nm1_index", "segment_index"),
                segment_id=pl.when(pl.col("payer_nm1_index").is_not_null()).then(pl.lit("NM1"))
                .otherwise(pl.lit("CLM")), element="NM109", message=msg,
                expected=pl.col("expected_payer_id"), found=pl.col("payer_id"))


def _norm_street(e: pl.Expr) -> pl.Expr:
    e = e.fill_null("").str.to_uppercase()
    e = e.str.replace_all(r"\bP\s*\.?\s*O\s*\.?\s*BOX\b", "PO BOX")
    e = e.str.replace_all(r"\bPOST\s+OFFICE\s+BOX\b", "PO BOX")
    return e.str.replace_all(r"[^A-Z0-9 ]", " ").str.replace_all(r"\s+", " ").str.strip_chars()


def _norm_zip(e: pl.Expr) -> pl.Expr:
    return e.fill_null("").str.replace_all(r"[^0-9]", "")


@rule("KP101", "Payer address differs from the KP route's address", severity="warning",
      snip=SNIP, family="kp", applies_to=MEDICAL, fix=kp101_fix)
def kp101_payer_address(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    When a KP member's claim carries the right payer ID and a payer address (2010BB N3/N4),
    compares the address with the route's mailing address. Case, punctuation, `P.O. Box`
    versus `PO BOX` and 5- versus 9-digit ZIP codes do not count as differences.

    ## Why is this bad?
    Paper claims, corrected claims and appeals follow the payer address on file; a stale
    address sends them to the wrong place.

    ## Example
    `N3*PO BOX 740800~N4*ATLANTA*GA*30374~` on a claim for Cigna payer ID
    {{ kp.routes.insured.payer_id }}.

    ## How to fix
    Use {{ kp.routes.insured.payer_name }}, {{ kp.routes.insured.address }}, {{ kp.routes.insured.city }},
    {{ kp.routes.insured.state }} {{ kp.routes.insured.zip }} (payer ID {{ kp.routes.insured.payer_id }}),
    or for self-funded plans {{ kp.routes["self-funded"].payer_name }},
    {{ kp.routes["self-funded"].address }}, {{ kp.routes["self-funded"].city }},
    {{ kp.routes["self-funded"].state }} {{ kp.routes["self-funded"].zip }} (payer ID
    {{ kp.routes["self-funded"].payer_id }}).

    ## Fix
    Available: `claims-validator fix` sets the payer address (2010BB N3, N4) to the route's
    mailing address (in capitals, the ZIP code as digits).

    Not fixed when KP100's fix would not be made: the route is not determined, or the
    subscriber's claims need different routes (`claims-validator rules KP100`).
    """
    cfg, m = _kp(ctx)
    if cfg is None:
        return pl.DataFrame()
    m = m.filter(pl.col("routed")
                 & (PAYER_ID == pl.col("expected_payer_id"))
                 & (pl.col("payer_n3_index").is_not_null() | pl.col("payer_n4_index").is_not_null()))

    def route(attr: str) -> pl.Expr:
        mapping = {f: getattr(r, attr) for f, r in cfg.routes.items()}
        return pl.col("funding").replace_strict(mapping, default=None, return_dtype=pl.String)

    street = pl.concat_str("payer_address1", "payer_address2", separator=" ", ignore_nulls=True)
    zip_found, zip_expected = _norm_zip(pl.col("payer_zip")), _norm_zip(route("zip"))
    zip_ok = (zip_found.str.slice(0, 5) == zip_expected.str.slice(0, 5)) & (
        (zip_found.str.len_chars() < 9) | (zip_expected.str.len_chars() < 9)
        | (zip_found == zip_expected))
    same = ((_norm_street(street) == _norm_street(route("address")))
            & (_norm_street(pl.col("payer_city")) == _norm_street(route("city")))
            & (_norm_street(pl.col("payer_state")) == _norm_street(route("state")))
            & zip_ok)
    # Addresses repeat across claims: compare each distinct one once.
    keys = ["payer_address1", "payer_address2", "payer_city", "payer_state", "payer_zip",
            "funding"]
    seen = m.select(keys).unique().with_columns(_same=same)
    m = m.join(seen, on=keys, how="left", nulls_equal=True, maintain_order="left")
    m = m.filter(~pl.col("_same")).with_columns(
        _found=pl.format("{}, {}, {} {}", street, pl.col("payer_city").fill_null("(no city)"),
                         pl.col("payer_state").fill_null("(no state)"),
                         pl.col("payer_zip").fill_null("(no ZIP)")),
    )
    msg = pl.format("payer address {} differs from the mailing address of {} (payer ID {}): {}; "
                    "correct the payer address (2010BB N3/N4)", "_found", "expected_payer_name",
                    "expected_payer_id", "expected_payer_address")
    return emit(m, segment_index=pl.coalesce("payer_n3_index", "payer_n4_index"),
                segment_id=pl.when(pl.col("payer_n3_index").is_not_null()).then(pl.lit("N3"))
                .otherwise(pl.lit("N4")), element="N301", message=msg,
                expected=pl.col("expected_payer_address"), found=pl.col("_found"))


def _known_product(cfg: KPConfig, **flag: bool) -> pl.Expr:
    """Claims whose product is known (and has the given product flags)."""
    products = [p for p, v in cfg.products.items()
                if all(getattr(v, k) == want for k, want in flag.items())]
    return pl.col("product").is_in(products)


@rule("KP110", "Service before the KP product's effective date", severity="error", snip=SNIP,
      family="kp", applies_to=MEDICAL)
def kp110_effective_date(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Compares the claim's earliest service date (line or claim DTP*472, or the 837I statement
    period DTP*434) with the date the member's product gained access to Cigna's PPO network:
    {% for p in kp.products.values() %}{{ p.name }} {{ p.effective }}{{ ", " if not loop.last }}{% endfor %}.
    When the product is unknown, with the earliest date it could have (a POS plan of unknown
    tier: {{ [kp.products.POS2.effective, kp.products.POS3.effective] | min }}; no product:
    {{ kp.products.values() | map(attribute="effective") | min }}). Care outside KP states only.

    ## Why is this bad?
    Services before that date are not covered by the Cigna arrangement; the claim is denied.

    ## Example
    A KP POS 2-Tier member's urgent care visit on 2022-09-30.

    ## How to fix
    Check the service dates. If they are right, the claim is not payable through Cigna: verify
    the member's eligibility and benefits at {{ kp.phone }} and bill as Kaiser Permanente
    instructs.
    """
    cfg, m = _kp(ctx)
    if cfg is None:
        return pl.DataFrame()
    eff = {p: v.effective for p, v in cfg.products.items()}
    # An unknown product or POS tier: the earliest date it could have (services before it
    # are uncovered whatever the product turns out to be).
    eff[POS_UNKNOWN_TIER] = min(v.effective for p, v in cfg.products.items() if p.startswith("POS"))
    m = m.filter(CIGNA_CARE).with_columns(
        _eff=pl.col("product").replace_strict(eff, default=None, return_dtype=pl.Date)
        .fill_null(min(eff.values())))
    m = m.filter(pl.col("service_date_from") < pl.col("_eff")).with_columns(
        _d=pl.col("service_date_from").dt.to_string("%Y-%m-%d"),
        _e=pl.col("_eff").dt.to_string("%Y-%m-%d"))
    msg = pl.format("service date {} is before {}, when {} members gained access to the Cigna PPO "
                    "network: these services are not covered by the Cigna arrangement; check the "
                    "service dates, and verify eligibility and benefits at {}",
                    "_d", "_e", "product_name", pl.lit(cfg.phone))
    return emit(m, segment_id="CLM", message=msg, expected=pl.format("on or after {}", "_e"),
                found=pl.col("_d"))


@rule("KP120", "KP member's region is excluded from the Cigna route", severity="error", snip=SNIP,
      family="kp", applies_to=MEDICAL)
def kp120_region_excluded(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Reports claims sent to Cigna (the insured route's payer ID, {{ kp.routes.insured.payer_id }}) for
    insured KP members whose region has no Cigna route for their product:
    {% for r in kp.regions.values() if r.excluded_insured_products -%}
    {{ r.name }} for {{ r.excluded_insured_products | join(", ") }}{{ "; " if not loop.last }}
    {%- else %}none in this ruleset{% endfor %}. Self-funded plans are routed for all regions. A claim
    sent elsewhere is not reported (where it belongs is for Kaiser Permanente to say), nor is
    care inside a KP state (KP130).

    ## Why is this bad?
    Cigna does not process these members' claims; a claim sent there is denied.

    ## Example
    `SBR*P*18**KAISER NORTHWEST PPO*****CI~` on a claim to payer ID {{ kp.routes.insured.payer_id }}.

    ## How to fix
    Do not send the claim to Cigna. Verify the member's eligibility and where to send the
    claim at {{ kp.phone }} (or as the member's ID card instructs).
    """
    cfg, m = _kp(ctx)
    if cfg is None:
        return pl.DataFrame()
    cigna = cfg.routes["insured"]
    m = m.filter(~pl.col("routed") & ~pl.col("in_kp_state")
                 & (PAYER_ID == cigna.payer_id))
    plans = (pl.when(pl.col("product").is_null()).then(pl.lit("insured"))
             .otherwise(pl.concat_str(pl.lit("insured "), "product_name")))
    msg = pl.format("{} plans of Kaiser Permanente {} are excluded from the Cigna PPO network route: "
                    "do not send this claim to {} (payer ID {}); verify eligibility and where to "
                    "send it at {}", plans, "region_name",
                    pl.lit(cigna.payer_name), pl.lit(cigna.payer_id), pl.lit(cfg.phone))
    idx, sid = _sbr_or_clm()
    return emit(m, segment_index=idx, segment_id=sid, element="SBR04", message=msg,
                expected="a region and product served through Cigna",
                found=pl.format("{} {}", "region", pl.col("product").fill_null("unknown product")))


@rule("KP130", "Claim for care inside a Kaiser Permanente state sent to Cigna", severity="error",
      snip=SNIP, family="kp", applies_to=MEDICAL)
def kp130_kp_state(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    For insured KP members, reports claims sent to Cigna (the insured route's payer ID,
    {{ kp.routes.insured.payer_id }}) whose service facility (2310C/2310E N4) or, without one,
    billing provider (2010AA N4) is in a Kaiser Permanente state: {{ kp.kp_states | join(", ") }}.
    Such claims sent elsewhere (to Kaiser Permanente) are not reported, and no other KP rule
    checks them.

    ## Why is this bad?
    The Cigna PPO network arrangement covers care outside KP states only; care inside them is
    billed to Kaiser Permanente directly, so Cigna denies the claim.

    ## Example
    `NM1*77*2*URGENT CARE OF DENVER*****XX*1234567893~N4*DENVER*CO*802020000~`

    ## How to fix
    Check the service facility address. If the care was given in a KP state, send the claim
    to Kaiser Permanente as the member's ID card instructs; eligibility: {{ kp.phone }}.
    """
    cfg, m = _kp(ctx)
    if cfg is None:
        return pl.DataFrame()
    cigna = cfg.routes["insured"].payer_id
    m = m.filter((pl.col("funding") == "insured") & pl.col("in_kp_state") & (PAYER_ID == cigna)
                 ).with_columns(_fac=pl.col("facility_state").str.strip_chars().replace("", None))
    states = ", ".join(cfg.kp_states)
    which = (pl.when(pl.col("_fac").is_not_null()).then(pl.lit("service facility state"))
             .otherwise(pl.lit("billing provider state (no service facility given)")))
    msg = pl.format("{} {} is a Kaiser Permanente state ({}): the Cigna PPO network arrangement "
                    "covers care outside KP states only; do not send this claim to Cigna (payer ID "
                    "{}): send it to Kaiser Permanente as the member's ID card instructs, and "
                    "verify eligibility at {}", which, "service_state", pl.lit(states), pl.lit(cigna),
                    pl.lit(cfg.phone))
    return emit(m, segment_index=pl.when(pl.col("_fac").is_not_null()).then("facility_n4_index")
                .otherwise("billing_n4_index").fill_null(pl.col("segment_index")),
                segment_id="N4", element="N402", message=msg,
                expected=f"a state outside {states}", found=pl.col("service_state"))


@rule("KP140", "Not emergency or urgent care for an HMO, EPO or POS 2-Tier member",
      severity="error", snip=SNIP, family="kp", applies_to=MEDICAL)
def kp140_not_emergency(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    For KP {{ kp.products.values() | selectattr("emergency_only") | map(attribute="name") | join(", ") }}
    members treated outside KP states, reports claims with nothing that marks them as emergency
    or urgent care: no place of service {{ kp.emergency.places_of_service | join(" or ") }}
    (CLM05-1 or SV105), no 837P line with the emergency indicator SV109 = Y, no emergency
    procedure (emergency department visits, critical care, urgent care, emergency ambulance:
    {{ kp.emergency.procedures | join(", ") }}), no 837I emergency, urgent or trauma admission
    type (CL101: {{ kp.emergency.admission_types | join(", ") }}), and no revenue code
    {{ kp.emergency.revenue_codes | join(", ") }}. The code lists live in the ruleset
    (`[kp.emergency]`); they are this tool's reading
    of "emergency and urgent care", not a list published by Kaiser Permanente or Cigna.

    ## Why is this bad?
    These members may use Cigna's PPO network only for emergency and urgent care; other
    services are denied.

    ## Example
    A KP HMO member's office visit: `CLM*...*11:B:1*...~SV1*HC:99213*...*11~`.

    ## How to fix
    If the care was emergency or urgent, code it so (place of service, the line's emergency
    indicator SV109 = Y, E/M code, admission type, revenue code). Otherwise verify benefits
    at {{ kp.phone }} and bill Kaiser Permanente.
    """
    cfg, m = _kp(ctx)
    if cfg is None:
        return pl.DataFrame()
    m = m.filter(CIGNA_CARE & _known_product(cfg, emergency_only=True)).join(
        identify.emergency(ctx), on="claim_key", how="left", maintain_order="left",
    ).filter(~pl.col("emergency"))

    def listed(col: str, label: str, none: str | None) -> pl.Expr:
        values = pl.col(col).fill_null(pl.lit([], pl.List(pl.String)))
        text = pl.concat_str(pl.lit(label + " "), values.list.head(5).list.join(" "))
        return pl.when(values.list.len() > 0).then(text).otherwise(pl.lit(none, pl.String))

    found = pl.concat_list(
        listed("places_of_service", "place of service", "no place of service"),
        listed("procedures", "procedures", "no procedure codes"),
        listed("revenue_codes", "revenue codes", None),
        pl.format("admission type {}", "admission_type"),
    ).list.drop_nulls().list.join("; ")
    m = m.with_columns(_found=found)
    msg = pl.format("the Cigna PPO network covers only emergency and urgent care for {} members, "
                    "and nothing on this claim marks it as such ({}); if it was emergency or urgent "
                    "care, code it so (place of service 20/23, emergency indicator SV109 = Y, "
                    "emergency E/M code, admission type 1/2/5 or revenue code 045x/0516/0526), "
                    "otherwise verify benefits at {} and bill "
                    "Kaiser Permanente", "product_name", "_found", pl.lit(cfg.phone))
    return emit(m, segment_id="CLM", element="CLM05", message=msg,
                expected="emergency or urgent care", found=pl.col("_found"))


@rule("KP150", "Cost share collected up front from an HMO, EPO or POS 2-Tier member",
      severity="warning", snip=SNIP, family="kp", applies_to=MEDICAL, reads=("HI",))
def kp150_upfront_cost_share(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    For KP {{ kp.products.values() | rejectattr("upfront_cost_share") | map(attribute="name") | join(", ") }}
    members treated outside KP states, reports a patient amount paid greater than zero: 837P
    AMT*F5 (2300), 837I value code FC (patient paid amount) in HI*BE.

    ## Why is this bad?
    These members owe nothing until Cigna prices the claim and Kaiser Permanente pays it;
    collecting cost share at the visit breaks the arrangement's terms.

    ## Example
    `AMT*F5*50~` on a KP HMO member's emergency claim (837I: `HI*BE:FC:::50~`).

    ## How to fix
    Refund the amount collected and remove AMT*F5 or the FC value code (or send 0); bill any
    cost share after the claim is paid. Questions: {{ kp.phone }}.
    """
    cfg, m = _kp(ctx)
    if cfg is None:
        return pl.DataFrame()
    m = m.filter(CIGNA_CARE & _known_product(cfg, upfront_cost_share=False))
    inst = pl.col("transaction_type") == "837I"  # value code FC; 837P: AMT*F5
    paid = identify.patient_paid_value_code(ctx, m.filter(inst).select("claim_key"))
    m = m.join(paid, on="claim_key", how="left", maintain_order="left").with_columns(
        _paid=pl.when(inst).then("value_code_paid").otherwise("patient_paid"))
    m = m.filter(pl.col("_paid").str.strip_chars().cast(pl.Float64, strict=False) > 0)
    where = pl.when(inst).then(pl.lit("value code FC")).otherwise(pl.lit("AMT*F5"))
    msg = pl.format("patient paid amount {} ({}) was collected up front from a {} member: cost "
                    "share may not be collected until Cigna prices the claim and Kaiser Permanente "
                    "pays it; refund it and remove {} (questions: {})", "_paid", where,
                    "product_name", where, pl.lit(cfg.phone))
    at = pl.when(inst).then("value_code_index").otherwise("amt_f5_index")
    seg_id = pl.when(at.is_null()).then(pl.lit("CLM")).when(inst).then(pl.lit("HI")) \
        .otherwise(pl.lit("AMT"))
    return emit(m, segment_index=at.fill_null(pl.col("segment_index")), segment_id=seg_id,
                message=msg, expected="0", found=pl.col("_paid"))


def _sbr_found() -> pl.Expr:
    return pl.format("SBR04 {}, SBR09 {}", pl.col("plan_name").fill_null("(empty)"),
                     pl.col("claim_filing").fill_null("(empty)"))


@rule("KP160", "KP product undetermined or POS tier unknown", severity="warning", snip=SNIP,
      family="kp", applies_to=MEDICAL)
def kp160_product_unknown(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Reports KP members' claims for care outside KP states whose product cannot be determined
    (no roster row, no product keyword in SBR04 and no usable SBR09), or that name a POS plan
    without its tier. The product-dependent rules (KP140, KP150, and KP120 where the product
    matters) are skipped for the claim; KP110 compares with the earliest effective date the
    product could have.

    ## Why is this bad?
    Effective dates, the emergency-only limit and cost-share terms depend on the product;
    without it the claim cannot be checked and may be denied.

    ## Example
    `SBR*P*18**KAISER CO POS*****CI~` (2-Tier or 3-Tier?).

    ## How to fix
    Verify eligibility and benefits at {{ kp.phone }}, then name the product in SBR04 (HMO, EPO,
    POS 2-Tier, POS 3-Tier, PPO) or list the member in the `--members` roster.
    """
    cfg, m = _kp(ctx)
    if cfg is None:
        return pl.DataFrame()
    m = m.filter(~pl.col("in_kp_state")
                 & (pl.col("product").is_null() | (pl.col("product") == POS_UNKNOWN_TIER)))
    what = (pl.when(pl.col("product").is_null())
            .then(pl.lit("the Kaiser Permanente product could not be determined"))
            .otherwise(pl.lit("the plan is a Kaiser Permanente POS plan but its tier (2-Tier or "
                              "3-Tier) is unknown")))
    msg = pl.format("{} from {}: emergency-only and cost-share checks were skipped; "
                    "verify eligibility and benefits at {} and name the product in SBR04 (HMO, EPO, "
                    "POS 2-Tier, POS 3-Tier, PPO) or the --members roster", what, _sbr_found(),
                    pl.lit(cfg.phone))
    idx, sid = _sbr_or_clm()
    return emit(m, segment_index=idx, segment_id=sid, element="SBR04", message=msg,
                expected="HMO, EPO, POS2, POS3 or PPO", found=_sbr_found())


@rule("KP161", "KP region undetermined for an insured plan", severity="warning", snip=SNIP,
      family="kp", applies_to=MEDICAL)
def kp161_region_unknown(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Reports insured KP members' claims for care outside KP states whose region (NCAL, SCAL,
    CO, GA, HI, MAS, NW, WA) cannot be determined from the roster or SBR04: SBR04 names no
    region, or several (plan names are free text and two-letter codes collide: `CO-PAY`,
    `INSURANCE CO`, `HI DEDUCTIBLE`), in which case none is taken.

    ## Why is this bad?
    Insured plans of some regions are excluded from the Cigna route
    ({% for r in kp.regions.values() if r.excluded_insured_products -%}
    {{ r.name }} for {{ r.excluded_insured_products | join(", ") }}{{ "; " if not loop.last }}
    {%- else %}none in this ruleset{% endfor %}); without the region that exclusion (KP120)
    cannot be checked.

    ## Example
    `SBR*P*18**KAISER HMO*****HM~`

    ## How to fix
    Verify the member's region at {{ kp.phone }} and name it in SBR04 (e.g. `KAISER NCAL HMO`)
    or list the member in the `--members` roster.
    """
    cfg, m = _kp(ctx)
    if cfg is None:
        return pl.DataFrame()
    m = m.filter((pl.col("funding") == "insured") & pl.col("region").is_null()
                 & ~pl.col("in_kp_state"))
    named = pl.col("regions_named").fill_null(pl.lit([], pl.List(pl.String)))
    why = (pl.when(named.list.len() > 1)
           .then(pl.format("names several regions ({})", named.list.join(", ")))
           .otherwise(pl.lit("names none")))
    msg = pl.format("the Kaiser Permanente region could not be determined: SBR04 {} {}, so region "
                    "exclusions (Washington; Northwest PPO and POS 3-Tier) were not checked; verify "
                    "the member's region at {} and name it in SBR04 or the --members roster",
                    pl.col("plan_name").fill_null("(empty)"), why, pl.lit(cfg.phone))
    idx, sid = _sbr_or_clm()
    return emit(m, segment_index=idx, segment_id=sid, element="SBR04", message=msg,
                expected=", ".join(cfg.regions), found=pl.col("plan_name").fill_null("(empty)"))


@annotator("kp", compact="member")
def kp_annotation(ctx: Context) -> pl.DataFrame:
    """The ``kp`` struct per claim: ``member`` plus, for members, how they were identified,
    product, region, funding, expected payer (ID, name, address), appeals and phone."""
    kp = identify.kp_claims(ctx)
    cols = identify.KP_COLUMNS
    out = ctx.batch.claims.select("claim_key").join(kp, on="claim_key", how="left", maintain_order="left")
    return out.select("claim_key", kp=pl.struct(pl.col("member").fill_null(False), *cols[1:]))
