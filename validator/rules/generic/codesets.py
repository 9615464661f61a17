"""SNIP 5 code sets by date (validator/data/codesets): ICD-10-CM diagnoses and ICD-10-PCS
procedures valid on the date that decides the code set, the Medicare Code Editor's
principal-diagnosis and age edits, claims spanning a release, and service dates beyond the
shipped data.

Every check works on the distinct (code, date) pairs of the batch: one polars join of those
pairs with the code-set table (a code's rows carry the dates it is valid), then the few
pairs that fail are explained (header code, 7th character, unknown, ended, not yet valid)
and joined back to the HI composites that carry them. No Python loop runs per claim.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from ...data import codesets
from ..api import CheckFn, Context, emit, no_findings, rule
from ._common import FAMILY
from .diagnoses import ICD10_CM, ICD10_PCS, diagnoses, icd10_qualifiers

# 837I bill types (CLM05-1: facility type and classification) whose code set follows the
# statement's through (discharge) date for the whole claim: inpatient hospital, swing bed,
# SNF inpatient, home health, religious non-medical inpatient, hospice (CMS MLN SE1408).
# Other 837I claims (outpatient) follow the from date, and must be split at a release.
THROUGH_DATE_BILLS = ("11", "18", "21", "32", "41", "81", "82")
# Inpatient bill types, where the Medicare Code Editor's "unacceptable principal
# diagnosis" edit applies.
INPATIENT_BILLS = ("11", "18", "21", "41")
AGE_EDITS = {"newborn": "a newborn code", "pediatric": "a pediatric code",
             "maternity": "a maternity code", "adult": "an adult code"}
MCE_FLAGS = ("newborn", "pediatric", "maternity", "adult", "manifestation",
             "unacceptable_principal", "external_cause_principal")
_DAY = "%Y-%m-%d"


# -- docs: the data release a rule checks against -------------------------------------------

def _data_notes() -> dict[str, str]:
    return {"$ICD10CM": codesets.describe("icd10cm"), "$ICD10PCS": codesets.describe("icd10pcs"),
            "$ZIP": codesets.describe("zip")}


def data_doc(fn: CheckFn) -> CheckFn:
    """Fill ``$ICD10CM``, ``$ICD10PCS``, ``$ZIP`` in a rule's docstring with the shipped
    data's release and source (apply below ``@rule``)."""
    doc = fn.__doc__ or ""
    for mark, text in _data_notes().items():
        doc = doc.replace(mark, text)
    fn.__doc__ = doc
    return fn


# -- dates -------------------------------------------------------------------------------------

def _day(expr: pl.Expr) -> pl.Expr:
    return expr.dt.strftime(_DAY)


# The claim and line columns code_set_dates, _through_date and CODE513 (a batch rule) read:
# a run in units keeps them for the batch (see validator.engine.units.CLIENT_CLAIMS).
CLAIM_COLUMNS = ("claim_key", "file_id", "claim_id", "segment_index", "transaction_type",
                 "facility_code", "service_date_from", "service_date_to", "statement_from",
                 "statement_to")
LINE_COLUMNS = ("claim_key", "line_date_from")
_DATES = ("service_date_from", "service_date_to", "statement_from", "statement_to")


def code_set_dates(ctx: Context, claims: pl.DataFrame | None = None) -> pl.DataFrame:
    """``claim_key, date``: the dates that decide a claim's ICD-10 code set, one row each
    (for the claims of ``claims``, a frame with ``claim_key``; default: every claim).

    837P/837D: each distinct date of service of the claim's lines (DTP*472), else the
    claim's first date. 837I: the statement's through date on inpatient-type bill types
    (:data:`THROUGH_DATE_BILLS`), its from date on the others (outpatient).
    """
    c = ctx.claims.select("claim_key", "transaction_type", "facility_code", "service_date_from",
                          "service_date_to", "statement_from", "statement_to")
    if claims is not None:
        c = c.join(claims.select("claim_key").unique(), on="claim_key", how="semi")
    bill = pl.col("facility_code").str.slice(0, 2)
    inst = c.filter(pl.col("transaction_type") == "837I").select(
        "claim_key",
        date=pl.when(bill.is_in(THROUGH_DATE_BILLS))
        .then(pl.coalesce("statement_to", "service_date_to"))
        .otherwise(pl.coalesce("statement_from", "service_date_from")))
    prof = c.filter(pl.col("transaction_type") != "837I").select(
        "claim_key", lo=pl.coalesce("service_date_from", "statement_from"),
        hi=pl.coalesce("service_date_to", "statement_to"))
    # Most claims are of one day (the span covers the claim's and its lines' dates): that
    # day decides. Only the others need their lines' dates.
    one_day = pl.col("hi").is_null() | (pl.col("lo") >= pl.col("hi"))
    single = prof.filter(one_day).select("claim_key", date="lo")
    multi = prof.filter(~one_day)
    lines = (ctx.lines.select("claim_key", date="line_date_from")
             .join(multi.select("claim_key"), on="claim_key", how="semi").drop_nulls()
             .unique(maintain_order=True))
    undated = multi.join(lines, on="claim_key", how="anti").select("claim_key", date="lo")
    return pl.concat([inst, single, lines, undated]).drop_nulls()


def _through_date(ctx: Context) -> pl.DataFrame:
    """``claim_key, date``: 837I claims' discharge / through date (ICD-10-PCS)."""
    return ctx.claims.lazy().filter(pl.col("transaction_type") == "837I").select(
        "claim_key", date=pl.coalesce("statement_to", "service_date_to")).drop_nulls().collect()


# -- lookups -----------------------------------------------------------------------------------

def _lookup(pairs: pl.DataFrame, name: str, cols: tuple[str, ...] = ()) -> tuple[pl.DataFrame,
                                                                                 pl.DataFrame]:
    """Distinct ``code, date`` pairs against a by-date table: the valid pairs (with
    ``cols`` of the row in effect) and the others with ``first_from, last_to, prev_to,
    next_from`` (null for a code the table lacks)."""
    tbl = codesets.table(name)
    tbl = tbl.filter(pl.col("code").is_in(pairs.get_column("code").unique().implode())).select(
        "code", "valid_from", "valid_to", *cols)  # (a scan of the table beats hashing it)
    j = pairs.join(tbl, on="code", how="inner")
    ok = j.filter((pl.col("valid_from") <= pl.col("date")) & (pl.col("date") <= pl.col("valid_to"))
                  ).drop("valid_from", "valid_to")
    bad = pairs.join(ok.select("code", "date"), on=["code", "date"], how="anti")
    frm, to, day = pl.col("valid_from"), pl.col("valid_to"), pl.col("date")
    info = bad.join(tbl.select("code", "valid_from", "valid_to"), on="code", how="left").group_by(
        "code", "date").agg(first_from=frm.min(), last_to=to.max(),
                            prev_to=to.filter(to < day).max(), next_from=frm.filter(frm > day).min())
    return ok, info


def _codes_under(pairs: pl.DataFrame) -> pl.DataFrame:
    """``code, date, child, valid_from, valid_to``: the ICD-10-CM codes that start with each
    code of ``pairs`` and are longer, shortest and alphabetical first (one join per length
    of the codes asked about: a few at most)."""
    tbl = codesets.table("icd10cm").select("code", "valid_from", "valid_to")
    n = pl.col("code").str.len_chars()
    parts = []
    for size in pairs.select(n.unique()).to_series().to_list():
        asked = pairs.filter(n == size)
        under = tbl.filter(n > size).select(
            prefix=pl.col("code").str.slice(0, size), child="code", valid_from="valid_from",
            valid_to="valid_to")
        under = under.filter(pl.col("prefix").is_in(asked.get_column("code").implode()))
        parts.append(asked.join(under, left_on="code", right_on="prefix", how="inner"))
    if not parts:
        return pairs.clear().with_columns(child=pl.lit(None, pl.String),
                                          valid_from=pl.lit(None, pl.Date),
                                          valid_to=pl.lit(None, pl.Date))
    return pl.concat(parts).sort(pl.col("child").str.len_chars(), "child")


def _explain_cm(bad: pl.DataFrame) -> pl.DataFrame:
    """For ICD-10-CM pairs that are not valid: the codes under them valid on the date (a
    header code, a missing 7th character, a code split in a later release) and the longest
    valid code they start with (extra characters, or a code new in a later release)."""
    pairs = bad.select("code", "date")
    on = (pl.col("valid_from") <= pl.col("date")) & (pl.col("date") <= pl.col("valid_to"))
    n = pl.col("code").str.len_chars()
    under = _codes_under(pairs)
    # A 7th-character completion: 7 characters, placeholders X between the code and the last.
    seventh = ((pl.col("child").str.len_chars() == 7)
               & pl.col("child").str.slice(n, 6 - n).str.contains("^X*$"))
    under = under.group_by("code", "date", maintain_order=True).agg(
        n_under=pl.len(), n_on=on.sum(), examples=pl.col("child").filter(on).head(3),
        seventh=(~on | seventh).all())
    lens = pl.int_ranges(3, n, dtype=pl.Int64)
    anc = pairs.with_columns(k=lens).explode("k").drop_nulls("k").with_columns(
        anc=pl.col("code").str.slice(0, pl.col("k")))
    tbl = codesets.table("icd10cm").select("code", "valid_from", "valid_to")
    anc = (anc.join(tbl.rename({"code": "anc"}), on="anc", how="inner").filter(on)
           .sort("k", descending=True).group_by("code", "date", maintain_order=True)
           .agg(ancestor=pl.col("anc").first()))
    return (bad.join(under, on=["code", "date"], how="left")
            .join(anc, on=["code", "date"], how="left"))


def _release_after(day: pl.Expr, name: str) -> pl.Expr:
    """The release that took effect the day after ``day`` (the one that ended a code)."""
    names = {r["effective"]: r["name"] for r in codesets.manifest()["tables"][name]["releases"]}
    return (day + pl.duration(days=1)).dt.strftime(_DAY).replace_strict(names, default=None)


def _release_from(day: pl.Expr, name: str) -> pl.Expr:
    names = {r["effective"]: r["name"] for r in codesets.manifest()["tables"][name]["releases"]}
    return day.dt.strftime(_DAY).replace_strict(names, default=None)


# -- the diagnoses on their dates --------------------------------------------------------------

def _in_data(name: str) -> pl.Expr:
    start, end = codesets.coverage(name)
    return (pl.col("date") >= start) & (pl.col("date") <= end)


def cm_checked(ctx: Context) -> dict[str, pl.DataFrame]:
    """The ICD-10-CM diagnoses of the batch on their code-set dates, looked up once per run.

    ``rows``: one row per HI composite and date (``claim_key, file_id, st_key,
    segment_index, pos, qual, code, date``) for well-shaped codes dated inside the data,
    except codes valid on every day of the data and flagged by no MCE edit (nothing can
    be wrong with them); ``steady``: ``code`` and MCE flags of the flagged codes valid,
    with the same flags, on every day of the data (their rows carry the claim's own date,
    :func:`diagnoses`: only the patient's age depends on it); ``ok``: the other valid
    ``code, date`` pairs with the flags of the row in effect; ``bad``: the pairs that are
    not valid, explained (see :func:`_explain_cm`).
    """

    def build() -> dict[str, pl.DataFrame]:
        start, end = codesets.coverage("icd10cm")
        tbl = codesets.table("icd10cm")
        d = diagnoses(ctx).filter(pl.col("qual").is_in(icd10_qualifiers("CM")))
        # The distinct codes first: most are valid, with the same flags, on every day of
        # the data; when they carry no MCE flag either, their rows need no date at all.
        codes = d.select("code").unique().filter(pl.col("code").str.contains(ICD10_CM))
        per_code = codes.join(tbl.filter(pl.col("code").is_in(codes.get_column("code").implode())),
                              on="code", how="left")
        days = (pl.col("valid_to") - pl.col("valid_from")).dt.total_days() + 1
        whole = per_code.group_by("code").agg(  # (rows of a code never overlap)
            steady=(pl.col("valid_from").min() <= start) & (pl.col("valid_to").max() >= end)
            & (days.sum() == (end - start).days + 1)
            & pl.all_horizontal(pl.col(f).n_unique() == 1 for f in MCE_FLAGS))
        per_code = per_code.join(whole, on="code", how="left")
        steady = per_code.filter(pl.col("steady")).select("code", *MCE_FLAGS).unique("code")
        flagged = pl.any_horizontal(*MCE_FLAGS)
        steady, plain = steady.filter(flagged), steady.filter(~flagged).select("code")
        # Flagged steady codes: the claim's own date (diagnoses) is enough (for the age).
        held = d.join(steady.select("code"), on="code", how="semi").filter(_in_data("icd10cm"))
        # The others are looked up on each date that decides their code set.
        other = codes.join(plain, on="code", how="anti").join(steady, on="code", how="anti")
        d = d.drop("date").join(other, on="code", how="semi")
        rows = d.join(code_set_dates(ctx, d), on="claim_key", how="inner").filter(
            _in_data("icd10cm"))
        pairs = rows.select("code", "date").unique()
        rows = pl.concat([held.select(rows.columns), rows])
        ok, bad = _lookup(pairs, "icd10cm", MCE_FLAGS)
        if bad.height:
            bad = _explain_cm(bad)
        return {"rows": rows, "steady": steady, "ok": ok, "bad": bad}

    return ctx.derived("codesets_cm", build)


def cm_flagged(ctx: Context, cond: pl.Expr) -> pl.DataFrame:
    """The ``rows`` of :func:`cm_checked` whose code, on that date, has MCE flags meeting
    ``cond`` (with the flag columns)."""
    got = cm_checked(ctx)
    steady, ok = got["steady"].filter(cond), got["ok"].filter(cond)
    parts = []
    if steady.height:
        parts.append(got["rows"].join(steady, on="code", how="inner"))
    if ok.height:
        parts.append(got["rows"].join(ok, on=["code", "date"], how="inner"))
    if not parts:
        return got["rows"].clear().with_columns(pl.lit(False).alias(f) for f in MCE_FLAGS)
    return pl.concat(parts)


def _first_per_composite(df: pl.DataFrame) -> pl.DataFrame:
    """One finding per HI composite: its earliest date that fails."""
    return df.sort("date").unique(subset=["claim_key", "segment_index", "pos"], keep="first",
                                  maintain_order=True).sort("file_id", "segment_index", "pos")


def _hi_element() -> pl.Expr:
    return pl.format("HI{}-2", pl.col("pos").cast(pl.String).str.zfill(2))


def _examples(col: str = "examples", count: str = "n_on") -> pl.Expr:
    more = pl.when(pl.col(count) > 3).then(pl.format("… ({} codes)", count)).otherwise(pl.lit(""))
    return pl.concat_str(pl.col(col).list.join(", "), more)


@rule("CODE510", "ICD-10-CM diagnosis code is not valid on the date of service",
      severity="error", snip=5, family=FAMILY, reads=("HI",))
@data_doc
def icd10cm_valid_on_date(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks every ICD-10-CM diagnosis code in HI (qualifiers `ABK`, `ABF`, `ABJ`, `APR`,
    `ABN`) against the code set in effect on the date that decides it: each line's date of
    service on 837P and 837D (DTP*472; the claim's first date when no line has one); on
    837I the statement's through (discharge) date for inpatient-type bill types (11x, 18x,
    21x, 32x, 41x, 81x, 82x) and its from date for the others. One finding per code says
    which case it is: a header (category) code that needs more characters, a code missing
    its 7th character, a code that does not exist, a code that ended before the date, or a
    code not yet valid on it. Codes of the wrong shape are CODE503's; dates after the
    data's end are not checked (CODE513).

    Data: $ICD10CM.

    ## Why is this bad?
    Payers edit diagnosis codes against the release in effect on the date of service: a
    non-billable header code, a missing 7th character, a deleted or not-yet-effective code
    is one of the most common front-end rejections.

    ## Example
    `HI*ABK:E11` (header: `E119`, `E1165`…), `HI*ABF:S52521` (7th character missing),
    `HI*ABF:M9999` (no such code), `HI*ABF:D691` on a 2026-11-15 visit (ended 2026-09-30).

    ## How to fix
    Code to the highest specificity the release in effect on the date of service has
    (the message lists codes valid then); a claim whose dates span a release is split at
    October 1 (CODE512).
    """
    got = cm_checked(ctx)
    bad = got["bad"]
    if not bad.height:
        return no_findings()
    f = _first_per_composite(got["rows"].join(bad, on=["code", "date"], how="inner"))
    day = _day(pl.col("date"))
    known = pl.col("first_from").is_not_null()
    header = ~known & (pl.col("n_under").fill_null(0) > 0)
    seventh = header & pl.col("seventh").fill_null(False) & (pl.col("n_on").fill_null(0) > 0)
    placeholder = seventh & (pl.col("code").str.len_chars() < 6)
    ended = known & (pl.col("date") > pl.col("last_to"))
    early = known & (pl.col("date") < pl.col("first_from"))
    head = pl.format("ICD-10-CM code {} ({})", "code", "qual")
    valid_then = pl.when(pl.col("n_on").fill_null(0) > 0).then(
        pl.format("; valid on {}: {}", day, _examples())).otherwise(pl.lit(""))
    message = (
        pl.when(placeholder)
        .then(pl.format("{} needs the placeholder X and a 7th character: {}", head, _examples()))
        .when(seventh)
        .then(pl.format("{} is missing its 7th character: {}", head, _examples()))
        .when(header & (pl.col("n_on").fill_null(0) > 0))
        .then(pl.format("{} is a category (header) code, not billable; add characters: {}",
                        head, _examples()))
        .when(header)
        .then(pl.format("{} is a category (header) code, not billable on {}", head, day))
        .when(ended)
        .then(pl.format("{} ended {}{} and is not valid on {}{}", head,
                        _day(pl.col("last_to")),
                        pl.when(_release_after(pl.col("last_to"), "icd10cm").is_not_null())
                        .then(pl.format(" (deleted in {})",
                                        _release_after(pl.col("last_to"), "icd10cm")))
                        .otherwise(pl.lit("")), day, valid_then))
        .when(early)
        .then(pl.format("{} is valid from {}{}, not on {}{}", head, _day(pl.col("first_from")),
                        pl.when(_release_from(pl.col("first_from"), "icd10cm").is_not_null())
                        .then(pl.format(" (new in {})",
                                        _release_from(pl.col("first_from"), "icd10cm")))
                        .otherwise(pl.lit("")), day,
                        pl.when(pl.col("ancestor").is_not_null())
                        .then(pl.format("; on {} the code was {}", day, "ancestor"))
                        .otherwise(pl.lit(""))))
        .when(known)
        .then(pl.format("{} is not valid on {} (it ended {} and is valid again from {})", head,
                        day, _day(pl.col("prev_to")), _day(pl.col("next_from"))))
        .when(pl.col("ancestor").is_not_null())
        .then(pl.format("{} does not exist in ICD-10-CM; {} does (extra characters?)", head,
                        "ancestor"))
        .otherwise(pl.format("{} does not exist in ICD-10-CM ({}); check the code", head,
                             pl.lit(codesets.releases_span("icd10cm"))))
    )
    expected = (
        pl.when(seventh).then(pl.format("{} + 7th character", "code"))
        .when(header).then(pl.lit("a billable code"))
        .when(known).then(pl.format("a code valid on {}", day))
        .otherwise(pl.lit("an ICD-10-CM code")))
    return emit(f, segment_id="HI", element=_hi_element(), found=pl.col("code"),
                expected=expected, message=message)


def _principal_flag(ctx: Context, flag: str, types: tuple[str, ...] | None = None,
                    bills: tuple[str, ...] | None = None) -> pl.DataFrame:
    """Principal diagnoses (``ABK``) whose code carries an MCE ``flag`` on its date."""
    rows = cm_flagged(ctx, pl.col(flag)).filter(pl.col("qual") == "ABK")
    if not rows.height:
        return rows
    if types is not None or bills is not None:
        c = ctx.claims.select("claim_key", "transaction_type",
                              bill=pl.col("facility_code").str.slice(0, 2))
        if types is not None:
            c = c.filter(pl.col("transaction_type").is_in(types))
        if bills is not None:
            c = c.filter(pl.col("bill").is_in(bills))
        rows = rows.join(c.select("claim_key"), on="claim_key", how="semi")
    return _first_per_composite(rows)


@rule("CODE514", "Manifestation code as the principal diagnosis", severity="error", snip=5,
      family=FAMILY, reads=("HI",))
@data_doc
def manifestation_principal(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags a principal or first-listed diagnosis (`ABK`) that is a manifestation code on
    its date (the Medicare Code Editor's "manifestation code as principal diagnosis" edit;
    the tabular's "code first the underlying condition" codes, e.g. `G01`, `F02.80`).

    Data: $ICD10CM.

    ## Why is this bad?
    ICD-10-CM conventions require the underlying condition to be sequenced first; a
    manifestation code is never principal, and payers reject the claim.

    ## Example
    `HI*ABK:G01*ABF:A3901` (meningitis in bacterial disease classified elsewhere, first)

    ## How to fix
    Send the underlying condition as the principal diagnosis (`ABK`) and the manifestation
    as an additional diagnosis (`ABF`).
    """
    f = _principal_flag(ctx, "manifestation")
    if not f.height:
        return no_findings()
    return emit(f, segment_id="HI", element=_hi_element(), found=pl.col("code"),
                expected=pl.lit("the underlying condition first"),
                message=pl.format("principal diagnosis {} ({}) is a manifestation code: send the "
                                  "underlying condition as principal and {} as an additional "
                                  "diagnosis (ABF)", "code", "qual", "code"))


@rule("CODE515", "External cause code as the principal diagnosis", severity="error", snip=5,
      family=FAMILY, reads=("HI",))
@data_doc
def external_cause_principal(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags a principal or first-listed diagnosis (`ABK`) that is an external cause code on
    its date (V00-Y99: how an injury happened, where, the activity; the Medicare Code
    Editor's "E-code as principal diagnosis" edit).

    Data: $ICD10CM.

    ## Why is this bad?
    External cause codes describe the circumstances of an injury, never the condition
    treated; ICD-10-CM guidelines forbid them as first-listed and payers reject the claim.

    ## Example
    `HI*ABK:V0001XA` (pedestrian on foot injured in a collision with another pedestrian)

    ## How to fix
    Send the injury (S/T code) as the principal diagnosis and the external cause as an
    additional diagnosis (`ABF`, or `ABN` on 837I).
    """
    f = _principal_flag(ctx, "external_cause_principal")
    if not f.height:
        return no_findings()
    return emit(f, segment_id="HI", element=_hi_element(), found=pl.col("code"),
                expected=pl.lit("the injury or condition first"),
                message=pl.format("principal diagnosis {} ({}) is an external cause code "
                                  "(V00-Y99): send the injury or condition as principal and {} "
                                  "as an additional diagnosis (ABF, or ABN on 837I)",
                                  "code", "qual", "code"))


@rule("CODE516", "Diagnosis not acceptable as the principal diagnosis of an inpatient claim",
      severity="warning", snip=5, family=FAMILY, applies_to=("837I",), reads=("HI",))
@data_doc
def unacceptable_principal(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags the principal diagnosis (`ABK`) of an inpatient 837I claim (bill types 11x, 18x,
    21x, 41x) that the Medicare Code Editor lists as unacceptable as a principal diagnosis
    on the claim's date (e.g. `Z23` vaccination encounter, `Z9981` dependence on
    wheelchair: codes that do not explain an admission). Outpatient bill types are not
    checked: many of these codes are proper first-listed diagnoses there.

    Data: $ICD10CM.

    ## Why is this bad?
    Medicare and the payers that run the MCE return such inpatient claims to the provider;
    the principal diagnosis must be the condition chiefly responsible for the admission.

    ## Example
    `CLM*A1*1500***11:A:1**A*Y*Y` with `HI*ABK:Z23`

    ## How to fix
    Send the condition that occasioned the admission as `ABK`; keep the status or encounter
    code as an additional diagnosis (`ABF`) when it applies.
    """
    f = _principal_flag(ctx, "unacceptable_principal", ("837I",), INPATIENT_BILLS)
    if not f.height:
        return no_findings()
    return emit(f, segment_id="HI", element=_hi_element(), found=pl.col("code"),
                expected=pl.lit("the condition chiefly responsible for the admission"),
                message=pl.format("principal diagnosis {} ({}) is not acceptable as the principal "
                                  "diagnosis of an inpatient claim (Medicare Code Editor); give "
                                  "the condition that occasioned the admission", "code", "qual"))


@rule("CODE517", "Diagnosis code does not fit the patient's age", severity="warning", snip=5,
      family=FAMILY, reads=("HI",))
@data_doc
def age_conflict(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Compares each ICD-10-CM diagnosis with the patient's age on its code-set date (from
    the birth date in DMG02 of the patient, or of the subscriber when the subscriber is the
    patient), using the Medicare Code Editor's age edits: newborn codes (age 0), pediatric
    codes (0-17), maternity codes (9-64; 12-55 before 2019-10-01), adult codes (15-124).
    Sex edits are not made: CMS removed them from the MCE on 2024-10-01.

    Data: $ICD10CM.

    ## Why is this bad?
    A maternity code on a 70-year-old or a newborn code on an adult is either a coding
    error or a wrong birth date; payers running the MCE return the claim.

    ## Example
    `HI*ABK:O80` (encounter for full-term delivery) with the patient's `DMG*D8*19500101*F`

    ## How to fix
    Check the diagnosis and the patient's birth date (DMG02); correct whichever is wrong.
    """
    rows = cm_flagged(ctx, pl.any_horizontal(*(pl.col(e) for e in AGE_EDITS)))
    if not rows.height:
        return no_findings()
    edits = rows.select("code", "date", *AGE_EDITS).unique().select(
        "code", "date", edit=pl.concat_list(
            pl.when(pl.col(e)).then(pl.lit(e)) for e in AGE_EDITS).list.drop_nulls()
    ).explode("edit")
    ranges = codesets.table("mce_age_ranges")
    edits = edits.join(ranges, on="edit", how="inner").filter(
        (pl.col("valid_from") <= pl.col("date")) & (pl.col("date") <= pl.col("valid_to"))
    ).drop("valid_from", "valid_to")
    birth = ctx.claims.select("claim_key", birth=pl.when(pl.col("patient_hl").is_null())
                              .then(pl.col("subscriber_birth")).otherwise(pl.col("patient_birth")))
    rows = (rows.drop(MCE_FLAGS).join(edits, on=["code", "date"], how="inner")
            .join(birth, on="claim_key", how="inner").filter(pl.col("birth").is_not_null()))
    d, b = pl.col("date"), pl.col("birth")
    age = (d.dt.year().cast(pl.Int32) - b.dt.year().cast(pl.Int32)
           - ((d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32))
              < (b.dt.month().cast(pl.Int32) * 100 + b.dt.day().cast(pl.Int32))).cast(pl.Int32))
    rows = rows.with_columns(age=age).filter(
        (pl.col("birth") <= pl.col("date"))  # a birth after the service is SIT411's
        & ((pl.col("age") < pl.col("min_age")) | (pl.col("age") > pl.col("max_age"))))
    if not rows.height:
        return no_findings()
    f = _first_per_composite(rows)
    shown = pl.when(pl.col("age") >= 90).then(pl.lit("90 or older")).otherwise(
        pl.col("age").cast(pl.String))
    ages = pl.when(pl.col("min_age") == pl.col("max_age")).then(
        pl.format("age {}", "min_age")).otherwise(pl.format("ages {}-{}", "min_age", "max_age"))
    what = pl.col("edit").replace_strict(AGE_EDITS, default="a code")
    return emit(f, segment_id="HI", element=_hi_element(), found=shown, expected=ages,
                message=pl.format("diagnosis {} ({}) is {} ({}, Medicare Code Editor) but the "
                                  "patient is {} on {} (birth date in DMG02); check the code and "
                                  "the birth date", "code", "qual", what, ages, shown,
                                  _day(pl.col("date"))))


# -- ICD-10-PCS --------------------------------------------------------------------------------

@rule("CODE511", "ICD-10-PCS procedure code is not valid on the discharge date",
      severity="error", snip=5, family=FAMILY, applies_to=("837I",), reads=("HI",))
@data_doc
def icd10pcs_valid_on_date(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks every ICD-10-PCS procedure code of an 837I claim (HI qualifiers `BBR`
    principal, `BBQ` other) against the code set in effect on the claim's discharge
    (statement through) date: a code that does not exist, one that ended before that
    date, or one not yet valid on it. Codes of the wrong shape are CODE503's.

    Data: $ICD10PCS.

    ## Why is this bad?
    Inpatient claims are grouped (MS-DRG) and edited with the ICD-10-PCS release in effect
    at discharge; a deleted or not-yet-effective procedure code is rejected.

    ## Example
    `HI*BBR:0DTJ4ZZ:D8:20240115` is valid; `HI*BBR:0DTJ4ZY:D8:20240115` does not exist.

    ## How to fix
    Code the procedure with the ICD-10-PCS release in effect on the discharge date.
    """
    d = diagnoses(ctx).filter(pl.col("qual").is_in(icd10_qualifiers("PCS"))
                              & pl.col("code").str.contains(ICD10_PCS))
    if not d.height:
        return no_findings()
    rows = d.drop("date").join(_through_date(ctx), on="claim_key", how="inner").filter(
        _in_data("icd10pcs"))
    _, bad = _lookup(rows.select("code", "date").unique(), "icd10pcs")
    if not bad.height:
        return no_findings()
    f = _first_per_composite(rows.join(bad, on=["code", "date"], how="inner"))
    day = _day(pl.col("date"))
    head = pl.format("ICD-10-PCS code {} ({})", "code", "qual")
    known = pl.col("first_from").is_not_null()
    message = (
        pl.when(known & (pl.col("date") > pl.col("last_to")))
        .then(pl.format("{} ended {} and is not valid on the discharge date {}", head,
                        _day(pl.col("last_to")), day))
        .when(known & (pl.col("date") < pl.col("first_from")))
        .then(pl.format("{} is valid from {}{}, not on the discharge date {}", head,
                        _day(pl.col("first_from")),
                        pl.when(_release_from(pl.col("first_from"), "icd10pcs").is_not_null())
                        .then(pl.format(" (new in {})",
                                        _release_from(pl.col("first_from"), "icd10pcs")))
                        .otherwise(pl.lit("")), day))
        .when(known)
        .then(pl.format("{} is not valid on the discharge date {}", head, day))
        .otherwise(pl.format("{} does not exist in ICD-10-PCS ({}); check the code", head,
                             pl.lit(codesets.releases_span("icd10pcs")))))
    return emit(f, segment_id="HI", element=_hi_element(), found=pl.col("code"),
                expected=pl.when(known).then(pl.format("a code valid on {}", day))
                .otherwise(pl.lit("an ICD-10-PCS code")), message=message)


# -- releases and the data's end ---------------------------------------------------------------

def _october_firsts() -> list[dt.date]:
    """Every October 1 release of the ICD-10-CM data after its first day."""
    start, end = codesets.coverage("icd10cm")
    return [dt.date(y, 10, 1) for y in range(start.year + 1, end.year + 1)
            if dt.date(y, 10, 1) <= end]


@rule("CODE512", "Claim dates span an ICD-10 code-set release (October 1)", severity="warning",
      snip=5, family=FAMILY, reads=("HI",))
@data_doc
def spans_release(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Warns about a claim carrying ICD-10 codes whose service dates (837P/837D: the claim
    and its lines; 837I: the statement period) span an October 1 on which a new ICD-10-CM
    release took effect. 837I claims of inpatient-type bill types (11x, 18x, 21x, 32x,
    41x, 81x, 82x) are not flagged: their through (discharge) date decides the code set of
    the whole claim.

    Data: $ICD10CM.

    ## Why is this bad?
    Diagnosis codes are edited against the release in effect on the date of service; one
    claim cannot be coded with two releases, and codes added or deleted on October 1 make
    part of it invalid. Payers ask for such claims to be split.

    ## Example
    An 837P claim with lines on 2026-09-29 and 2026-10-02 (FY2026 and FY2027).

    ## How to fix
    Split the claim at October 1 and code each part with the release in effect on its
    dates of service.
    """
    octs = _october_firsts()
    if not octs:
        return no_findings()
    bill = pl.col("facility_code").str.slice(0, 2)
    c = ctx.claims.lazy().filter(
        ~((pl.col("transaction_type") == "837I") & bill.is_in(THROUGH_DATE_BILLS).fill_null(False))
    ).select("claim_key", "file_id", "st_key", "segment_index",
             lo=pl.coalesce("service_date_from", "statement_from"),
             hi=pl.coalesce("service_date_to", "statement_to")).collect()
    c = c.filter(pl.col("lo") < pl.col("hi"))
    if not c.height:
        return no_findings()
    year = pl.col("hi").dt.year() - (pl.col("hi").dt.month() < 10).cast(pl.Int32)
    c = c.with_columns(oct1=pl.date(year, 10, 1)).filter(
        (pl.col("lo") < pl.col("oct1")) & pl.col("oct1").is_in(pl.Series(octs).implode()))
    if not c.height:
        return no_findings()
    kinds = icd10_qualifiers("CM") + icd10_qualifiers("PCS")  # claims carrying ICD-10 codes
    coded = diagnoses(ctx).filter(pl.col("qual").is_in(kinds)).select("claim_key")
    c = c.join(coded, on="claim_key", how="semi")
    if not c.height:
        return no_findings()
    release = _release_from(pl.col("oct1"), "icd10cm")
    span = pl.format("{} to {}", _day(pl.col("lo")), _day(pl.col("hi")))
    return emit(c, segment_id="CLM", found=span, expected=pl.lit("dates within one release"),
                message=pl.format("the claim's service dates ({}) span {}, when ICD-10-CM {} took "
                                  "effect: split the claim at {} and code each part with the "
                                  "release in effect on its dates", span, _day(pl.col("oct1")),
                                  release, _day(pl.col("oct1"))))


def _late() -> list[pl.Expr]:
    """The claims CODE513 reads (see Rule.batch_keys): dated after the code-set data."""
    _, end = codesets.coverage("icd10cm")
    return [pl.max_horizontal(*_DATES) > end]


@rule("CODE513", "Service dates after the end of the code-set data", severity="info", snip=5,
      family=FAMILY, batch=True, batch_keys=_late)
@data_doc
def after_coverage(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Reports, once per run, the claims whose code-set dates (see CODE510) fall after the
    last day the shipped ICD-10 data covers: their ICD-10-CM/PCS codes, MCE edits and
    releases are not checked (CODE510, CODE511, CODE512, CODE514-CODE517 skip them).

    Data: $ICD10CM; $ICD10PCS.

    ## Why is this bad?
    Codes added or deleted after that day are unknown to this installation: checking them
    would raise false errors, and not checking them lets invalid codes pass.

    ## Example
    A claim dated 2027-04-02 checked with data that ends 2027-03-31.

    ## How to fix
    Update claims-validator (a release with newer code-set data), then check the claims
    again.
    """
    _, end = codesets.coverage("icd10cm")
    # Only claims with a date after the end can have a code-set date after it.
    late = ctx.claims.filter(pl.max_horizontal(*_DATES) > end)
    if not late.height:
        return no_findings()
    dates = code_set_dates(ctx, late).filter(pl.col("date") > end)
    pcs = _through_date(ctx).join(late, on="claim_key", how="semi").filter(pl.col("date") > end)
    late = pl.concat([dates, pcs]).group_by("claim_key").agg(pl.col("date").min())
    if not late.height:
        return no_findings()
    c = ctx.claims.select("claim_key", "file_id", "claim_id", "segment_index").join(
        late, on="claim_key", how="inner").sort("file_id", "segment_index")
    first = c.head(1).with_columns(n=pl.lit(c.height), st_key=pl.lit(None, pl.UInt32),
                                   claim_key=pl.lit(None, pl.UInt32))
    v = codesets.versions()["icd10cm"]
    data = f"{v['releases']}, {v['source']} {v['source_version']}"
    return emit(first, segment_id=None, segment_index=pl.lit(None, pl.UInt32),
                found=pl.format("{} claim(s)", "n"), expected=pl.lit(f"dates to {end}"),
                message=pl.format("{} claim(s) of this run have service dates after {}, where the "
                                  "code-set data of this installation ends (ICD-10-CM/PCS {}): "
                                  "their ICD-10 codes were not checked (first: claim {} dated "
                                  "{}); update claims-validator and check them again", "n",
                                  pl.lit(end.isoformat()), pl.lit(data),
                                  pl.col("claim_id").fill_null("(no CLM01)"),
                                  _day(pl.col("date"))))

