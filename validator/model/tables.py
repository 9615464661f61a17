"""The 837 model: transactions, claims and lines tables built from the segments table.

Each field is picked with a filter on the segments of one ID, split into elements once
(:class:`~validator.x12.segments.SplitSegments`, shared with the rules), and aligned to
its claim or line by a dense running key; no Python loop touches a segment.
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

from ..x12.load import COMP
from ..x12.segments import SplitSegments, el, nonempty, with_el

SID = pl.col("seg_id")

# Version string fragment -> transaction type, and which are claim implementations we check.
_TYPE_BY_GUIDE = {
    "X222": "837P",
    "X223": "837I",
    "X224": "837D",
    "X098": "837P",
    "X096": "837I",
    "X097": "837D",
    "X291": "837P",
    "X292": "837I",
    "X298": "837P",
}
_TYPE_BY_SERVICE = {"SV1": "837P", "SV2": "837I", "SV3": "837D"}
SUPPORTED_GUIDES = ("X222", "X223", "X224")
F = TypeVar("F", pl.DataFrame, pl.LazyFrame)


def _first(df: F, key: str, cond: pl.Expr, **cols: pl.Expr) -> F:
    """First segment per ``key`` matching ``cond``, projected to ``cols``.

    Keys are running counts, so rows arrive sorted by key: the first of each key is the
    row whose key differs from the previous one (no hashing needed).
    """
    return _first_rows(df, key, cond).select(pl.col(key), **cols)


def _first_rows(df: F, key: str, cond: pl.Expr) -> F:
    """The rows of ``_first`` (all columns)."""
    hit = df.filter(cond & pl.col(key).is_not_null())
    return hit.filter(pl.col(key) != pl.col(key).shift(1, fill_value=0))


def _date(expr: pl.Expr) -> pl.Expr:
    return expr.str.strptime(pl.Date, "%Y%m%d", strict=False)


def _dtp_range(prefix: str) -> dict[str, pl.Expr]:
    """``<prefix>_from``/``<prefix>_to`` dates from a DTP with D8 or RD8 format."""
    value = el(3)
    return {
        f"{prefix}_from": _date(value.str.slice(0, 8)),
        f"{prefix}_to": _date(
            pl.when(el(2) == "RD8")
            .then(value.str.split("-").list.get(1, null_on_oob=True))
            .otherwise(value.str.slice(0, 8))
        ),
    }


def transactions(segs: pl.DataFrame, split: SplitSegments | None = None) -> pl.DataFrame:
    """One row per ST: envelope identifiers, version and transaction type."""
    z = split if split is not None else SplitSegments(segs)
    env = with_el(z.rows(["ISA", "GS", "ST", "BHT"]).select(
        "seg_id", "raw", "seg_index", "file_id", "isa_key", "gs_key", "st_key"))
    isa = env.filter(SID == "ISA").select(
        "isa_key", isa13=el(13).str.strip_chars(), isa12=el(12), isa_index="seg_index",
        isa_sender=pl.concat_str(el(5), el(6).str.strip_chars(), separator=":"),
        isa_receiver=pl.concat_str(el(7), el(8).str.strip_chars(), separator=":"))
    gs = env.filter(SID == "GS").select("gs_key", gs06=el(6), gs08=el(8), gs01=el(1),
                                        gs_index="seg_index")
    bht = _first(env, "st_key", SID == "BHT", bht04=_date(el(4)), bht06=el(6))
    st = env.filter(SID == "ST").select(
        "st_key",
        "file_id",
        "isa_key",
        "gs_key",
        st_index=pl.col("seg_index"),
        st01=el(1),
        st02=el(2),
        st03=el(3),
    )
    df = (
        st.join(isa, on="isa_key", how="left", maintain_order="left")
        .join(gs, on="gs_key", how="left", maintain_order="left")
        .join(bht, on="st_key", how="left", maintain_order="left")
        .with_columns(version=pl.coalesce("st03", "gs08"))
    )
    # Without a guide in ST03/GS08 the first service segment tells the type (SV1/SV2/SV3).
    svc = _first(z.rows(list(_TYPE_BY_SERVICE)).select("seg_id", "st_key"),
                 "st_key", pl.lit(True), _svc=SID)
    df = df.join(svc, on="st_key", how="left", maintain_order="left")
    guide = pl.col("version").str.extract(r"(X\d{3})", 1)
    ttype = pl.coalesce(
        guide.replace_strict(_TYPE_BY_GUIDE, default=None, return_dtype=pl.String),
        pl.col("_svc").replace_strict(_TYPE_BY_SERVICE, default=None, return_dtype=pl.String),
    )
    # A 5010 set without a guide (FILE013) is checked as the type its service segments show.
    claim_guide = guide.is_in(SUPPORTED_GUIDES) | (guide.is_null() & ttype.is_not_null())
    return df.with_columns(
        guide=guide,
        transaction_type=pl.when(pl.col("st01") == "837").then(ttype).otherwise(pl.col("st01")),
        is_837=pl.col("st01") == "837",
        supported=(pl.col("st01") == "837")
        & pl.col("version").str.starts_with("005010").fill_null(False)
        & claim_guide.fill_null(False),
    ).drop("_svc")


def _hl_parent(df: pl.DataFrame, hl: pl.DataFrame, at: str, parent_id: str, prefix: str,
               unique: bool) -> pl.DataFrame:
    """Join the HL whose HL01 is ``parent_id``: the nearest one at or before HL key ``at``
    in the same transaction set (HL IDs are meant to be unique; this also copes when not).
    Adds ``<prefix>_hl``, ``<prefix>_parent`` (its HL02) and ``<prefix>_code`` (its HL03).
    With ``unique`` IDs per set (the usual case) a hash join finds the same HL."""
    cols = (f"{prefix}_hl", f"{prefix}_parent", f"{prefix}_code")
    right = hl.select(
        "st_key", pl.col("hl_id").alias(parent_id), pl.col("hl_key").alias(cols[0]),
        pl.col("hl_key").alias("_right_at"), pl.col("hl_parent").alias(cols[1]),
        pl.col("hl_code").alias(cols[2]),
    ).filter(pl.col(parent_id).is_not_null() & pl.col("st_key").is_not_null())
    if unique:
        out = df.join(right.drop("_right_at"), on=["st_key", parent_id], how="left",
                      maintain_order="left")
        before = pl.col(cols[0]) <= pl.col(at).fill_null(0)  # a parent precedes its child
        return out.with_columns(pl.when(before).then(pl.col(c)).alias(c) for c in cols)
    right = right.sort("_right_at")
    left = df.with_columns(pl.col(at).fill_null(0).alias("_left_at")).sort("_left_at")
    out = left.join_asof(right, left_on="_left_at", right_on="_right_at", by=["st_key", parent_id],
                         strategy="backward", check_sortedness=False)
    return out.drop("_left_at", "_right_at").sort("claim_key")


def _hl_chain(hl_rows: pl.DataFrame, clm: pl.DataFrame) -> pl.DataFrame:
    """Resolve each claim's patient (2000C), subscriber (2000B) and billing-provider (2000A)
    HL by following HL02 parent IDs upward from the HL the CLM sits in (``hl_rows``: the
    HL segments, split into elements)."""
    hl = hl_rows.select(
        "hl_key", "st_key", hl_id=el(1), hl_parent=el(2), hl_code=el(3)
    )
    ids = hl.filter(pl.col("hl_id").is_not_null() & pl.col("st_key").is_not_null())
    unique = not ids.select(pl.struct("st_key", "hl_id").is_duplicated().any()).item()
    own = clm.join(hl.select("hl_key", "hl_code", "hl_parent"), on="hl_key", how="left",
                   maintain_order="left")
    is_pat, is_sub = pl.col("hl_code") == "23", pl.col("hl_code") == "22"
    own = own.with_columns(
        patient_hl=pl.when(is_pat).then(pl.col("hl_key")),
        _sub_id=pl.when(is_pat).then(pl.col("hl_parent")),
    )
    own = _hl_parent(own, hl, "hl_key", "_sub_id", "_sub", unique)
    own = own.with_columns(
        subscriber_hl=pl.when(is_sub).then(pl.col("hl_key")).otherwise(pl.col("_sub_hl")),
        _bill_id=pl.when(is_sub).then(pl.col("hl_parent")).otherwise(pl.col("_sub_parent")),
    )
    own = _hl_parent(own, hl, "subscriber_hl", "_bill_id", "_bill", unique)
    return own.rename({"_bill_hl": "billing_hl"}).drop(
        "_sub_id", "_sub_hl", "_sub_parent", "_sub_code", "_bill_id", "_bill_parent",
        "_bill_code", "hl_parent", "hl_code")


def _gather(keys: pl.DataFrame, key: str, parts: list[pl.DataFrame]) -> list[pl.DataFrame]:
    """Align each part (unique ``key``) to the rows of ``keys``.

    Keys are dense running counts, so a position table indexed by key value replaces a
    join: ``pos[k]`` is the part's row for key ``k`` (null where it has none). The caller
    stacks the results horizontally: no wide frame is copied per part.
    """
    want = keys.get_column(key)
    out = []
    last: tuple[pl.Series, pl.Series] | None = None  # parts often share their keys
    for part in parts:
        if part.get_column(key).null_count():
            part = part.filter(pl.col(key).is_not_null())
        have = part.get_column(key)
        if not have.len() or not want.len() or want.null_count() == want.len():
            out.append(part.drop(key).clear(keys.height))
            continue
        if have.len() == want.len() and have.equals(want, check_names=False, check_dtypes=False):
            out.append(part.drop(key))  # already aligned (one row per key): no copy
            continue
        if last is not None and last[0].len() == have.len() and last[0].equals(have):
            idx = last[1]
        else:
            size = max(int(have.max()), int(want.max())) + 1  # type: ignore[arg-type]
            pos = pl.repeat(None, size, dtype=pl.UInt32, eager=True)
            pos.scatter(have, pl.int_range(have.len(), dtype=pl.UInt32, eager=True))
            idx = pos.gather(want)  # a null key gathers null
            last = (have, idx)
        out.append(part.drop(key).select(pl.all().gather(idx)))
    return out


# The segments the claims and lines tables read (split once, shared with the rules).
READER_SEGMENTS = ("CLM", "HL", "SBR", "PAT", "NM1", "N3", "N4", "REF", "DMG", "DTP", "AMT",
                   "CL1", "LX", "SV1", "SV2", "SV3")
_NM1 = pl.col("nm1")
_CLM, _LX, _IN_2320 = pl.col("clm_key"), pl.col("lx_key"), pl.col("in_2320")


def claims(segs: pl.DataFrame, txns: pl.DataFrame, split: SplitSegments | None = None,
           ) -> pl.DataFrame:
    """One row per CLM segment (the claim's 2300 loop and the loops above it)."""
    z = split if split is not None else SplitSegments(segs)
    z.prefetch(READER_SEGMENTS)
    clm = z["CLM"].with_columns(_clm05=el(5).str.split(COMP)).select(  # CLM05 split once
        claim_key=pl.col("clm_key"), file_id="file_id", st_key="st_key", hl_key="hl_key",
        segment_index="seg_index", claim_id=el(1), total_charge=el(2),
        facility_code=_item("_clm05", 0), facility_qualifier=_item("_clm05", 1),
        frequency_code=_item("_clm05", 2),
    )
    clm = _hl_chain(z["HL"], clm)
    ix = pl.col("seg_index")
    q = pl.col("q")  # the first element (qualifier), computed once per zone
    # 2000A-2010CA (outside claims); 2300/2310x (outside lines and 2320/2330 loops).
    outside, inside = _CLM.is_null(), _CLM.is_not_null() & _LX.is_null() & ~_IN_2320

    def _zone(seg_id: str, header: bool, cond: pl.Expr | None) -> pl.LazyFrame:
        # A lazy filter of the split rows: no copy of a zone's rows is made, each query
        # keeps only its own matches.
        rows = z[seg_id].lazy().filter(outside if header else inside).with_columns(q=el(1))
        return rows if cond is None else rows.filter(cond)

    def head(seg_id: str, cond: pl.Expr) -> pl.LazyFrame:
        """``seg_id`` rows of 2000A-2010CA matching ``cond``."""
        return _zone(seg_id, True, cond)

    def body(seg_id: str, cond: pl.Expr | None = None) -> pl.LazyFrame:
        """``seg_id`` rows of 2300/2310x matching ``cond``."""
        return _zone(seg_id, False, cond)

    # Billing provider (2000A/2010AA).
    bill = _NM1 == "85"
    billing = [
        _first(head("NM1", bill), "hl_key", pl.lit(True), billing_nm1_index=ix, billing_name=el(3),
               billing_npi=pl.when(el(8) == "XX").then(el(9))),
        _first(head("N3", bill), "hl_key", pl.lit(True), billing_n3_index=ix,
               billing_address1=el(1), billing_address2=el(2)),
        _first(head("N4", bill), "hl_key", pl.lit(True), billing_n4_index=ix, billing_city=el(1),
               billing_state=el(2), billing_zip=el(3), billing_country=el(4)),
        _first(head("REF", bill), "hl_key", q.is_in(["EI", "SY"]), billing_ref_index=ix,
               billing_tax_id=el(2), billing_tax_qualifier=el(1)),
    ]
    # Subscriber (2000B, 2010BA) and payer (2010BB).
    in_sub = pl.col("hl_level") == "22"
    il, pr = in_sub & (_NM1 == "IL"), in_sub & (_NM1 == "PR")
    subscriber = [
        _first(head("SBR", in_sub), "hl_key", pl.lit(True), sbr_index=ix, sbr01=el(1),
               sbr02=el(2), group_number=el(3), plan_name=el(4), claim_filing=el(9)),
        _first(head("NM1", il), "hl_key", pl.lit(True), subscriber_nm1_index=ix,
               subscriber_last=el(3), subscriber_first=el(4), member_id=el(9)),
        _first(head("N4", il), "hl_key", pl.lit(True), subscriber_state=el(2)),
        _first(head("DMG", il), "hl_key", pl.lit(True), subscriber_birth=_date(el(2))),
        _first(head("NM1", pr), "hl_key", pl.lit(True), payer_nm1_index=ix, payer_name=el(3),
               payer_id_qualifier=el(8), payer_id=el(9)),
        _first(head("N3", pr), "hl_key", pl.lit(True), payer_n3_index=ix, payer_address1=el(1),
               payer_address2=el(2)),
        _first(head("N4", pr), "hl_key", pl.lit(True), payer_n4_index=ix, payer_city=el(1),
               payer_state=el(2), payer_zip=el(3)),
    ]
    # Patient (2000C, 2010CA).
    in_pat = pl.col("hl_level") == "23"
    qc = in_pat & (_NM1 == "QC")
    patient = [
        _first(head("PAT", in_pat), "hl_key", pl.lit(True), patient_relationship=el(1)),
        _first(head("NM1", qc), "hl_key", pl.lit(True), patient_nm1_index=ix, patient_last=el(3),
               patient_first=el(4), patient_id=el(9)),
        _first(head("DMG", qc), "hl_key", pl.lit(True), patient_birth=_date(el(2))),
    ]
    # Claim (2300) and its provider loops (2310x).
    day = _date(el(3).str.slice(0, 8))
    dtp, nm1 = body("DTP"), body("NM1")
    key = "clm_key"
    claim_parts = [
        _first(dtp, key, q == "472", **_dtp_range("claim_date")),
        _first(dtp, key, q == "434", **_dtp_range("statement")),
        _first(dtp, key, q == "435", admission_date=day),
        _first(dtp, key, q == "431", onset_date=day),
        _first(dtp, key, q == "096", discharge_hour=el(3)),
        _first(body("AMT"), key, q == "F5", amt_f5_index=ix, patient_paid=el(2)),
        _first(body("CL1"), key, pl.lit(True), cl1_index=ix, admission_type=el(1)),
        _first(body("REF"), key, q == "F8", ref_f8_index=ix, payer_claim_number=el(2)),
        _first(nm1, key, q == "77", facility_nm1_index=ix, facility_name=el(3),
               facility_npi=pl.when(el(8) == "XX").then(el(9))),
        _first(body("N4"), key, _NM1 == "77", facility_n4_index=ix,
               facility_city=el(1), facility_state=el(2), facility_zip=el(3),
               facility_country=el(4)),
        _first(nm1, key, q == "82", rendering_nm1_index=ix,
               rendering_npi=pl.when(el(8) == "XX").then(el(9))),
    ]
    # Built lazily and collected together: polars runs the small queries in parallel.
    n1, n2, n3 = len(claim_parts), len(billing), len(subscriber)
    done = pl.collect_all([*claim_parts, *billing, *subscriber, *patient])
    claim_parts, billing = done[:n1], done[n1:n1 + n2]
    subscriber, patient = done[n1 + n2:n1 + n2 + n3], done[n1 + n2 + n3:]
    tx = txns.select("st_key", "transaction_type", "version", "supported", "isa13", "gs06",
                     "st02", "bht04")
    rename = lambda parts, to: [p.rename({"hl_key": to}) for p in parts]  # noqa: E731
    cols = [
        clm,
        *_gather(clm, "claim_key", [p.rename({key: "claim_key"}) for p in claim_parts]),
        *_gather(clm, "billing_hl", rename(billing, "billing_hl")),
        *_gather(clm, "subscriber_hl", rename(subscriber, "subscriber_hl")),
        *_gather(clm, "patient_hl", rename(patient, "patient_hl")),
        *_gather(clm, "st_key", [tx]),
    ]
    return pl.concat(cols, how="horizontal").with_columns(
        patient_is_subscriber=pl.col("patient_hl").is_null(),
    )


def _item(col: str, i: int) -> pl.Expr:
    """Item ``i`` (0-based) of a list column, null when absent or empty."""
    return nonempty(pl.col(col).list.get(i, null_on_oob=True))


def lines(segs: pl.DataFrame, split: SplitSegments | None = None) -> pl.DataFrame:
    """One row per LX (2400): service segment, codes, charge, units, dates."""
    z = split if split is not None else SplitSegments(segs)
    z.prefetch(READER_SEGMENTS)
    in_line = _LX.is_not_null() & _CLM.is_not_null()
    lx = z["LX"].filter(in_line).select(
        line_key="lx_key",
        claim_key="clm_key",
        line_number=el(1),
        lx_index="seg_index",
    )
    # The first service segment of each line (a line holds one; extra ones are IG errors).
    sv = _first_rows(z.in_order(("SV1", "SV2", "SV3")), "lx_key", in_line)
    is1, is2 = SID == "SV1", SID == "SV2"
    # SV101 / SV202 / SV301 composite, split once: qualifier, code, modifiers.
    sv = sv.with_columns(_proc=pl.when(is2).then(el(2)).otherwise(el(1)).str.split(COMP))
    proc = pl.col("_proc").list
    service = sv.select(
        line_key="lx_key",
        service_segment="seg_id",
        service_index="seg_index",
        procedure_qualifier=_item("_proc", 0),
        procedure_code=_item("_proc", 1),
        # Modifiers 1-4; empty positions dropped only where there are any (rare, slow path).
        modifiers=pl.when(proc.slice(2, 4).list.contains(""))
        .then(proc.slice(2, 4).list.eval(pl.element().filter(pl.element() != "")))
        .otherwise(proc.slice(2, 4))
        .fill_null(pl.lit([], pl.List(pl.String))),
        revenue_code=pl.when(is2).then(el(1)),
        charge=pl.when(is2).then(el(3)).otherwise(el(2)),
        unit_basis=pl.when(is1).then(el(3)).when(is2).then(el(4)),
        units=pl.when(is1).then(el(4)).when(is2).then(el(5)).otherwise(el(6)),
        place_of_service=pl.when(is1).then(el(5)).when(SID == "SV3").then(el(3)),
        diagnosis_pointers=pl.when(is1).then(el(7).str.split(COMP)),
    )
    dates = _first(z["DTP"].filter(in_line), "lx_key", el(1) == "472",
                   **_dtp_range("line_date")).rename({"lx_key": "line_key"})
    return pl.concat([lx, *_gather(lx, "line_key", [service, dates])], how="horizontal")


def with_service_span(claims_df: pl.DataFrame, lines_df: pl.DataFrame) -> pl.DataFrame:
    """Earliest and latest service date over the claim and its lines."""
    span = lines_df.group_by("claim_key").agg(
        pl.col("line_date_from").min().alias("_lf"),
        pl.col("line_date_to").max().alias("_lt"),
    )
    out = claims_df.join(span, on="claim_key", how="left", maintain_order="left")
    return out.with_columns(
        service_date_from=pl.min_horizontal("_lf", "claim_date_from", "statement_from"),
        service_date_to=pl.max_horizontal("_lt", "claim_date_to", "statement_to"),
    ).drop("_lf", "_lt")
