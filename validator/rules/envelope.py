"""Envelope checks (WEDI SNIP level 1): ISA/IEA, GS/GE, ST/SE integrity.

Each check compares a header with its trailer, or a trailer's count with the real count,
as joins and group-bys over the segments table.
"""

from __future__ import annotations

import polars as pl

from ..x12.load import COMP, ELEM, REP
from ..x12.segments import el, with_el
from .api import Context, FixFn, declare, emit, rule
from .edits import edits, per_row, set_elements
from .repeats import first_of

SID = pl.col("seg_id")


def _rows(ctx: Context, *seg_ids: str) -> pl.DataFrame:
    """The unsplit segments with these IDs, in document order (picked by row number, no
    scan), of every transaction set and outside them."""
    return ctx.segs(*seg_ids, supported=False, split=False)

# ISA01..ISA16 fixed widths.
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)

ENV101 = declare(
    "ENV101", "Text before the ISA segment", severity="warning", snip=1, family="envelope",
    doc="""
    ## What it does
    Flags bytes other than white space before the first ISA segment of a file.

    ## Why is this bad?
    A clearinghouse expects the interchange to start at the first byte; leading text (a
    mail header, a banner, a note) makes most translators reject the whole file.

    ## Example
    `Claims for October\\nISA*00*...`

    ## How to fix
    Export the file again straight from the billing system, or delete everything before
    `ISA`.
    """,
)
ENV102 = declare(
    "ENV102", "File is not valid UTF-8", severity="warning", snip=1, family="envelope",
    doc="""
    ## What it does
    Flags a file whose bytes are not valid UTF-8; it is read as Latin-1 instead.

    ## Why is this bad?
    X12 uses the basic and extended character sets; accented bytes from a legacy code page
    are often rejected or garbled downstream.

    ## Example
    A patient name `MU\\xd1OZ` written in Windows-1252.

    ## How to fix
    Export as ASCII (or UTF-8) and replace accented letters by their plain forms.
    """,
)


def _isa(ctx: Context) -> pl.DataFrame:
    return with_el(_rows(ctx, "ISA"))


@rule("ENV100", "ISA segment is malformed", severity="error", snip=1, family="envelope", reads=("ISA",))
def isa_shape(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that the ISA has exactly 16 elements and that each has its fixed width
    (ISA06/ISA08 15 characters, ISA09 date YYMMDD, ISA13 nine digits, …).

    ## Why is this bad?
    The ISA is fixed-length (106 characters). Receivers locate the delimiters by
    position, so a short or long field makes the whole interchange unreadable (TA1 reject).

    ## Example
    `ISA*00*          *00*          *ZZ*SENDER*ZZ*RECEIVER ...` (ISA06 not padded to 15)

    ## How to fix
    Pad every ISA field to its fixed width with trailing spaces (numbers with leading
    zeros); ISA13 is a 9-digit control number.
    """
    isa = _isa(ctx).with_columns(n=pl.col("el").list.len() - 1)
    lens = pl.concat_list(
        [pl.col("el").list.get(i + 1, null_on_oob=True).str.len_chars() for i in range(16)]
    )
    bad = isa.with_columns(lens=lens).with_columns(
        bad_field=pl.concat_list(
            [pl.when(pl.col("lens").list.get(i) != w).then(pl.lit(f"ISA{i + 1:02d}"))
             for i, w in enumerate(ISA_WIDTHS)]
        ).list.drop_nulls(),
        found=pl.col("lens").list.eval(pl.element().cast(pl.String)).list.join("/"),
    )
    wrong_count = emit(
        bad.filter(pl.col("n") != 16), segment_index="seg_index", segment_id="ISA",
        message=pl.format("ISA has {} elements; it must have exactly 16", "n"),
        expected="16", found=pl.col("n").cast(pl.String),
    )
    wrong_width = emit(
        bad.filter((pl.col("n") == 16) & (pl.col("bad_field").list.len() > 0)),
        segment_index="seg_index", segment_id="ISA", element=pl.col("bad_field").list.first(),
        message=pl.format(
            "ISA fields have the wrong fixed width: {} (field widths found {})",
            pl.col("bad_field").list.join(", "), "found"),
        expected="/".join(str(w) for w in ISA_WIDTHS), found=pl.col("found"),
    )
    not_numeric = [
        emit(bad.filter((pl.col("n") == 16) & ~el(i).str.contains(rf"^\d{{{width}}}$").fill_null(False)),
             segment_index="seg_index", segment_id="ISA", element=f"ISA{i:02d}",
             message=f"ISA{i:02d} {what} must be {width} digits", expected=f"{width} digits",
             found=el(i))
        for i, width, what in ((9, 6, "interchange date (YYMMDD)"), (10, 4, "interchange time "
                               "(HHMM)"), (13, 9, "interchange control number"))
    ]
    return pl.concat([wrong_count, wrong_width, *not_numeric], how="diagonal_relaxed")


def _empty(col: str) -> pl.Expr:
    """A value that is absent or blank: messages say so instead of quoting nothing."""
    return pl.col(col).is_null() | (pl.col(col) == "")


def _trailer_check(
    ctx: Context, *, header: str, trailer: str, key: str, ctl_h: int, ctl_t: int,
    count_t: int, counted: pl.DataFrame, count_label: str, codes: tuple[str, str, str],
    what: str,
) -> pl.DataFrame:
    """Compare a header/trailer pair: control numbers, counts, and the trailer's presence."""
    s = _rows(ctx, header, trailer).select("file_id", "seg_index", "seg_id", "raw", key)
    h = with_el(s.filter(SID == header)).select(
        key, "file_id", h_index="seg_index", h_ctl=el(ctl_h).str.strip_chars())
    t = with_el(s.filter(SID == trailer)).select(
        key, t_index="seg_index", t_ctl=el(ctl_t).str.strip_chars(), t_count=el(count_t))
    t = t.unique(subset=key, keep="first", maintain_order=True)
    pair = (h.join(t, on=key, how="left", maintain_order="left")
            .join(counted, on=key, how="left", maintain_order="left")
            .with_columns(pl.col("n").fill_null(0)))
    code_ctl, code_count, code_missing = codes
    h_el, t_el, n_el = f"{header}{ctl_h:02d}", f"{trailer}{ctl_t:02d}", f"{trailer}{count_t:02d}"
    missing = emit(
        pair.filter(pl.col("t_index").is_null()), segment_index="h_index", segment_id=header,
        rule=code_missing,
        message=pl.when(_empty("h_ctl")).then(pl.lit(
            f"{header} without a control number ({h_el} is empty) has no {trailer} trailer: "
            f"the {what} is truncated or its trailer is missing"))
        .otherwise(pl.format(f"{header} control number {{}} has no {trailer} trailer: the "
                             f"{what} is truncated or its trailer is missing", "h_ctl")),
        expected=trailer, found=None,
    )
    present = pair.filter(pl.col("t_index").is_not_null())
    ctl = emit(
        present.filter(pl.col("h_ctl").fill_null("") != pl.col("t_ctl").fill_null("")),
        segment_index="t_index", segment_id=trailer, rule=code_ctl, element=t_el,
        message=pl.when(_empty("t_ctl")).then(pl.format(
            f"{t_el} is empty: it must repeat the control number {{}} of {h_el}", "h_ctl"))
        .when(_empty("h_ctl")).then(pl.format(
            f"{h_el} is empty, so {t_el} control number {{}} matches nothing", "t_ctl"))
        .otherwise(pl.format(f"{t_el} control number {{}} does not match {h_el} {{}}",
                             "t_ctl", "h_ctl")),
        expected=pl.col("h_ctl"), found=pl.col("t_ctl"),
    )
    count = emit(
        present.filter(pl.col("t_count").cast(pl.Int64, strict=False).fill_null(-1) != pl.col("n")),
        segment_index="t_index", segment_id=trailer, rule=code_count, element=n_el,
        message=pl.when(_empty("t_count")).then(pl.format(
            f"{n_el} is empty: it must give the number of {count_label} in the {what}, {{}}", "n"))
        .otherwise(pl.format(f"{n_el} says {{}} {count_label} but the {what} holds {{}}",
                             "t_count", "n")),
        expected=pl.col("n").cast(pl.String), found=pl.col("t_count"),
    )
    return pl.concat([missing, ctl, count], how="diagonal_relaxed")


@rule("ENV110", "IEA02 does not match ISA13 (interchange control number)", severity="error", snip=1,
      family="envelope", raises=("ENV111", "ENV112"), reads=("GS", "IEA", "ISA"))
def interchange_trailer(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks each interchange: IEA02 equals ISA13 (ENV110), IEA01 equals the number of GS
    groups inside (ENV111), and the IEA is present at all (ENV112, a truncated file).

    ## Why is this bad?
    Trailer mismatches make the receiver reject the whole interchange with a TA1, so every
    claim inside is returned.

    ## Example
    `ISA*...*000000905*...~ ... IEA*1*000000906~`

    ## How to fix
    Regenerate the file; if it was edited by hand, update IEA01/IEA02 to match.
    """
    gs = _rows(ctx, "GS").group_by("isa_key").agg(n=pl.len())
    return _trailer_check(ctx, header="ISA", trailer="IEA", key="isa_key", ctl_h=13, ctl_t=2,
                          count_t=1, counted=gs, count_label="functional groups",
                          codes=("ENV110", "ENV111", "ENV112"), what="interchange")


@rule("ENV120", "GE02 does not match GS06 (group control number)", severity="error",
      snip=1, family="envelope", raises=("ENV121", "ENV122"), reads=("GE", "GS", "ST"))
def group_trailer(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks each functional group: GE02 equals GS06 (ENV120), GE01 equals the number of
    ST transaction sets inside (ENV121), and the GE is present (ENV122).

    ## Why is this bad?
    The receiver's 999 rejects the whole functional group, with all its claims.

    ## Example
    `GS*HC*...*1*X*005010X222A1~ ... GE*2*1~` with only one ST inside.

    ## How to fix
    Regenerate the file, or set GE01 to the real number of ST segments and GE02 to GS06.
    """
    st = _rows(ctx, "ST").group_by("gs_key").agg(n=pl.len())
    return _trailer_check(ctx, header="GS", trailer="GE", key="gs_key", ctl_h=6, ctl_t=2,
                          count_t=1, counted=st, count_label="transaction sets",
                          codes=("ENV120", "ENV121", "ENV122"), what="functional group")


@rule("ENV130", "SE02 does not match ST02 (transaction set control number)", severity="error",
      snip=1, family="envelope", raises=("ENV131", "ENV132"), reads=("*", "SE", "ST"))
def transaction_trailer(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks each transaction set: SE02 equals ST02 (ENV130), SE01 equals the real number of
    segments from ST to SE inclusive (ENV131), and the SE is present (ENV132).

    ## Why is this bad?
    A wrong segment count or control number makes the 999 reject the transaction set and
    every claim in it.

    ## Example
    `ST*837*0021*005010X222A1~ ... SE*40*0021~` when the set holds 41 segments.

    ## How to fix
    Regenerate the file, or correct SE01 to the number of segments including ST and SE.
    """
    # Keys are running counts and a set's segments stand together: count its runs (one per
    # set, summed in case a set were ever split) instead of hashing every segment.
    every = ctx.segs("*", supported=False, split=False)
    counted = (every.select(pl.col("st_key").drop_nulls().rle()).unnest("st_key")
               .group_by(st_key="value").agg(n=pl.col("len").sum()))
    out = _trailer_check(ctx, header="ST", trailer="SE", key="st_key", ctl_h=2, ctl_t=2,
                         count_t=1, counted=counted, count_label="segments",
                         codes=("ENV130", "ENV131", "ENV132"), what="transaction set")
    keys = _rows(ctx, "ST", "SE").select("file_id", "seg_index", st_key2="st_key")
    return out.drop("st_key").join(keys, left_on=["file_id", "segment_index"],
                    right_on=["file_id", "seg_index"], how="left",
                    maintain_order="left").rename({"st_key2": "st_key"})


def _count_fix(header: str, key: str, ctl_h: int, ctl_t: int) -> FixFn:
    """The fix of a trailer count (IEA01, GE01, SE01): set it to the real count, which the
    finding's ``expected`` holds. Only for a trailer whose control number matches its
    header's: a trailer that also disagrees on that may close another envelope (a file
    cut and pasted together), and the right count is then anyone's guess."""

    def fix(ctx: Context, found: pl.DataFrame) -> pl.DataFrame:
        every = ctx.segs("*", supported=False, split=False)
        f = found.filter(pl.col("expected").str.contains(r"^[0-9]+$")).select(
            "file_id", "segment_index", "claim_key", n="expected")
        t = f.join(every.select("file_id", "raw", key, segment_index="seg_index"),
                   on=["file_id", "segment_index"], how="inner")
        h = every.filter(SID == header).select(key, h_raw="raw").unique(key, keep="first")
        t = t.join(h, on=key, how="inner")
        ctl = pl.col("raw").str.split(ELEM).list.get(ctl_t, null_on_oob=True).str.strip_chars()
        h_ctl = pl.col("h_raw").str.split(ELEM).list.get(ctl_h, null_on_oob=True).str.strip_chars()
        t = t.filter((ctl == h_ctl) & (ctl != ""))
        if not t.height:
            return t.clear()
        return edits(t.with_columns(per_row(t, lambda raw, n: set_elements(raw, {1: n}),
                                            "raw", "n")))

    return fix


ENV111 = declare("ENV111", "IEA01 is not the number of functional groups", severity="error", snip=1,
        family="envelope", doc="""
        ## What it does
        Part of ENV110: IEA01 must equal the number of GS groups in the interchange.

        ## Why is this bad?
        The interchange is rejected with a TA1.

        ## Example
        `IEA*2*000000905~` with one GS/GE group.

        ## How to fix
        Set IEA01 to the number of functional groups.

        ## Fix
        Available: `claims-validator fix` sets IEA01 to the number of groups, when IEA02
        matches ISA13 (otherwise the trailer may close another interchange, and the fix
        leaves it).
        """, fix=_count_fix("ISA", "isa_key", 13, 2))
ENV112 = declare("ENV112", "Interchange has no IEA trailer", severity="error", snip=1,
        family="envelope", doc="""
        ## What it does
        Part of ENV110: an ISA without its IEA; the file is usually truncated.

        ## Why is this bad?
        The receiver cannot tell whether the interchange is complete and rejects it.

        ## Example
        A file that ends in the middle of a claim.

        ## How to fix
        Send the complete file again; check the transfer or the export that cut it.
        """)
ENV121 = declare("ENV121", "GE01 is not the number of transaction sets", severity="error", snip=1,
        family="envelope", doc="""
        ## What it does
        Part of ENV120: GE01 must equal the number of ST transaction sets in the group.

        ## Why is this bad?
        The 999 rejects the functional group.

        ## Example
        `GE*3*1~` with two ST segments.

        ## How to fix
        Set GE01 to the number of transaction sets.

        ## Fix
        Available: `claims-validator fix` sets GE01 to the number of transaction sets, when
        GE02 matches GS06.
        """, fix=_count_fix("GS", "gs_key", 6, 2))
ENV122 = declare("ENV122", "Functional group has no GE trailer", severity="error", snip=1,
        family="envelope", doc="""
        ## What it does
        Part of ENV120: a GS without its GE.

        ## Why is this bad?
        The group is incomplete and is rejected.

        ## Example
        `GS*HC*...~ST*837*...~...SE*...~IEA*1*...~`

        ## How to fix
        Add the GE trailer (GE01 transaction count, GE02 = GS06) or re-export the file.
        """)
ENV131 = declare("ENV131", "SE01 is not the number of segments in the set", severity="error", snip=1,
        family="envelope", doc="""
        ## What it does
        Part of ENV130: SE01 must equal the number of segments from ST to SE inclusive.

        ## Why is this bad?
        The 999 rejects the transaction set with all its claims (IK5 error 4).

        ## Example
        `SE*30*0001~` closing a set of 29 segments.

        ## How to fix
        Regenerate the file or correct SE01. Hand edits that add or delete segments must
        update SE01.

        ## Fix
        Available: `claims-validator fix` sets SE01 to the number of segments from ST to SE,
        when SE02 matches ST02.
        """, fix=_count_fix("ST", "st_key", 2, 2))
ENV132 = declare("ENV132", "Transaction set has no SE trailer", severity="error", snip=1,
        family="envelope", doc="""
        ## What it does
        Part of ENV130: an ST without its SE; the set is truncated.

        ## Why is this bad?
        The set is rejected as incomplete.

        ## Example
        `ST*837*0001*005010X222A1~ ... GE*1*1~` with no SE.

        ## How to fix
        Re-export the complete file.
        """)


@rule("ENV140", "ST03 and GS08 versions disagree", severity="error", snip=1, family="envelope")
def version_agreement(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Checks that the implementation guide version in ST03 equals GS08 of its group.

    ## Why is this bad?
    The receiver picks the guide from GS08/ST03; when they differ the set is validated
    against the wrong guide or rejected outright.

    ## Example
    `GS*HC*...*005010X222A1~ST*837*0001*005010X223A2~`

    ## How to fix
    Make ST03 and GS08 name the same guide (e.g. `005010X222A1` for an 837P).
    """
    t = ctx.transactions
    bad = t.filter(
        pl.col("st03").is_not_null() & pl.col("gs08").is_not_null()
        & (pl.col("st03") != pl.col("gs08"))
    )
    return emit(
        bad, segment_index="st_index", segment_id="ST", element="ST03",
        message=pl.format("ST03 version {} does not match GS08 version {}", "st03", "gs08"),
        expected=pl.col("gs08"), found=pl.col("st03"),
    )


@rule("ENV150", "Empty segment", severity="error", snip=1, family="envelope", reads=("*",))
def empty_segment(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags segments that carry no data element at all (e.g. `DTP~` or `REF**~`).

    ## Why is this bad?
    X12 forbids empty segments; a translator rejects the transaction set (IK3 error 8).

    ## Example
    `NM1*85*2*CLINIC*****XX*1234567893~N3~N4*DALLAS*TX*752011234~`

    ## How to fix
    Remove the segment, or fill in its required elements.
    """
    # Repetition/component separators alone (``REF*:~``) carry no data either.
    # Only the segment ID and separators: no element carries data.
    # Once trailing separators are cut, a bare segment has no element separator left (the
    # same as matching ^[^ELEM]*[ELEM COMP REP]*$, without a regex over every segment).
    bare = ~pl.col("raw").str.strip_chars_end(ELEM + COMP + REP).str.contains(ELEM, literal=True)
    # Cheap length tests first narrow the rows: a segment with no element separator at all
    # has no more than 3 characters, or a 4-character seg_id (the ID is cut to 4); any other
    # bare segment ends with a separator.
    raw = pl.col("raw")
    maybe = (pl.any_horizontal(raw.str.ends_with(c) for c in (ELEM, COMP, REP))
             | (raw.str.len_bytes() <= 3) | (SID.str.len_bytes() == 4))
    s = ctx.segs("*", supported=False, split=False).filter(maybe).filter((SID != "ISA") & bare)
    return emit(s.rename({"clm_key": "claim_key"}), segment_index="seg_index",
                segment_id=SID, message=pl.format("segment {} has no data elements", "seg_id"))


def _unpadded(raw: pl.Expr) -> pl.Expr:
    """``raw`` without the separators that only pad: empty components at the end of an
    element (``HC:99213:``), then empty elements at the end of the segment (``REF*EA*1**``)."""
    return raw.str.replace_all(f"{COMP}+({ELEM}|$)", "${1}").str.strip_chars_end(ELEM)


def _padding_fix(ctx: Context, found: pl.DataFrame) -> pl.DataFrame:
    """ENV154's fix: the segment without its padding separators."""
    every = ctx.segs("*", supported=False, split=False).select(
        "file_id", "raw", segment_index="seg_index")
    f = found.select("file_id", "segment_index", "claim_key").join(
        every, on=["file_id", "segment_index"], how="inner")
    return edits(f, new=_unpadded(pl.col("raw")))


@rule("ENV154", "Separators that only pad", severity="warning", snip=1, family="envelope",
      reads=("*",), fix=_padding_fix)
def padding_separators(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags a segment that ends with empty elements (`REF*EA*12345**`) or an element that
    ends with empty components (`SV1*HC:99213:*100*UN*1***1`): separators that carry no
    data and only pad. Not the ISA (its fields have fixed widths), nor a segment with no
    data at all (ENV150).

    ## Why is this bad?
    X12 syntax omits trailing separators: a strict translator rejects the segment (the
    implementation-guide check reports the trailing element separators, IK304), a lax one
    accepts it, so the same file passes one clearinghouse and fails the next.

    ## Example
    `NM1*PR*2*ACME HEALTH*****PI*12345*~`, `HI*ABK:J069:~`

    ## How to fix
    Drop the trailing separators: `NM1*PR*2*ACME HEALTH*****PI*12345~`, `HI*ABK:J069~`.
    Trailing spaces inside element values are not flagged here (whether a space pads
    depends on the element's type; the implementation-guide check reports them).

    ## Fix
    Available: `claims-validator fix` removes the separators that only pad; the segment
    means the same without them.
    """
    raw = pl.col("raw")
    # Cheap tests first: a padded segment ends with a separator or has a component
    # separator right before an element separator.
    maybe = raw.str.ends_with(ELEM) | raw.str.ends_with(COMP) | raw.str.contains(COMP + ELEM,
                                                                                 literal=True)
    s = ctx.segs("*", supported=False, split=False).filter(maybe & (SID != "ISA"))
    s = s.with_columns(_new=_unpadded(raw)).filter(
        (pl.col("_new") != raw) & pl.col("_new").str.contains(ELEM, literal=True))
    pad = (raw.str.len_chars() - pl.col("_new").str.len_chars()).cast(pl.String)
    return emit(s.rename({"clm_key": "claim_key"}), segment_index="seg_index", segment_id=SID,
                message=pl.format("segment {} ends with separators that carry no data (empty "
                                  "trailing elements or components): drop them", "seg_id"),
                expected="no trailing separators", found=pl.format("{} separator(s) of padding",
                                                                   pad))


# The segment's leading token (seg_id keeps at most 4 characters), cut for display. Without
# an element separator (a wrong one) the token is the whole segment, names and member IDs
# included: only its first 4 characters are shown (findings reach every output, so never
# carry PHI).
_TOKEN = pl.col("raw").str.splitn(ELEM, 2).struct.field("field_0")
_LEADING_TOKEN = pl.when(_TOKEN.str.len_chars() > 4).then(_TOKEN.str.slice(0, 4) + pl.lit("…")) \
    .otherwise(_TOKEN)
_SEGMENT_ID = r"^[A-Z][A-Z0-9]{1,2}$"


@rule("ENV151", "Unknown segment ID", severity="error", snip=1, family="envelope", reads=("*",))
def unknown_segment(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags segment IDs that are not X12 segment identifiers (two or three capital letters
    or digits, starting with a letter) or are not used by any 5010 837 guide.

    ## Why is this bad?
    An unknown segment usually means a broken delimiter, a pasted fragment or a
    proprietary extension; the set is rejected (IK3 error 1).

    ## Example
    `CLM*A1*100***11:B:1*Y*A*Y*Y~XYZ*1~`

    ## How to fix
    Remove the segment or fix the delimiter that split it.
    """
    known = ctx.derived("known_segments", _known_segments)
    supported = ctx.transactions.filter(pl.col("supported")).select("st_key")
    in_837 = pl.col("st_key").is_in(supported["st_key"].implode())
    # Decide on the few distinct IDs, then pick the rows that carry a suspect one.
    ids = pl.DataFrame({"seg_id": list(ctx.batch.split_segments().ids())}, schema={"seg_id": pl.String})
    malformed = ids.filter(~SID.str.contains(_SEGMENT_ID))["seg_id"]
    unknown = ids.filter(~SID.is_in(known))["seg_id"]
    suspect = [*malformed, *unknown]
    s = _rows(ctx, *suspect).filter(SID.is_in(malformed.implode()) | in_837)
    return emit(s.rename({"clm_key": "claim_key"}), segment_index="seg_index", segment_id=SID,
                message=pl.format("unknown segment ID {}", _LEADING_TOKEN), found=_LEADING_TOKEN)


@rule("ENV152", "Segment outside a transaction set", severity="error", snip=1,
      family="envelope", reads=("*",))
def outside_transaction(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags data segments that are not between an ST and its SE (only ISA, GS, GE, IEA and
    TA1 may stand outside a transaction set).

    ## Why is this bad?
    The receiver cannot assign them to a transaction set and rejects the group.

    ## Example
    `SE*20*0001~CLM*X*10***11:B:1*Y*A*Y*Y~GE*1*1~`

    ## How to fix
    Move the segment inside its transaction set or delete it.
    """
    # Envelope segments are checked by ENV153 (a trailer with no open header).
    every = ctx.segs("*", supported=False, split=False)
    s = every.filter(~pl.col("in_txn")).filter(  # (few rows left for the second test)
        ~SID.is_in(["ISA", "GS", "GE", "IEA", "TA1", "SE"]))
    return emit(s, segment_index="seg_index", segment_id=SID,
                message=pl.format("segment {} stands outside any ST/SE transaction set",
                                  SID.str.slice(0, 20)))


# Trailer -> (its header, the segments whose last occurrence decides whether it is open).
_TRAILERS = {"SE": ("ST", ["ISA", "GS", "ST", "SE", "GE", "IEA"]),
             "GE": ("GS", ["ISA", "GS", "GE", "IEA"]),
             "IEA": ("ISA", ["ISA", "IEA"])}


@rule("ENV153", "Trailer without an open header", severity="error", snip=1, family="envelope",
      reads=("GE", "GS", "IEA", "ISA", "SE", "ST"))
def orphan_trailer(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags an SE, GE or IEA trailer that closes nothing: no ST, GS or ISA is open before
    it (a duplicated trailer, or a header that was deleted).

    ## Why is this bad?
    The receiver cannot pair the trailer with a header; the envelope is broken and the
    group or interchange is rejected.

    ## Example
    `SE*20*0001~SE*20*0001~GE*1*1~` (the second SE closes nothing).

    ## How to fix
    Delete the extra trailer, or restore the missing ST/GS/ISA header.
    """
    # Only envelope segments matter here; keeping just them keeps the fills cheap.
    s = _rows(ctx, "ISA", "GS", "ST", "SE", "GE", "IEA").select("file_id", "seg_index", "seg_id")
    frames = []
    for trailer, (header, markers) in _TRAILERS.items():
        last = pl.when(SID.is_in(markers)).then(SID).forward_fill().shift(1)
        hit = s.with_columns(_prev=last).filter((SID == trailer) & (pl.col("_prev") != header)
                                                 | (SID == trailer) & pl.col("_prev").is_null())
        frames.append(emit(
            hit, segment_index="seg_index", segment_id=SID,
            message=f"{trailer} trailer has no open {header} header before it",
            expected=header, found=pl.col("_prev").fill_null("start of file"),
        ))
    return pl.concat(frames)


def _known_segments() -> list[str]:
    from ..data import load_list

    return load_list("segment_ids.txt")


# The control numbers a receiver tells envelopes apart by, and within what they must be
# unique: (header, its element, the columns of the scope, what the scope is called). The
# transactions table holds each as ``<element in lower case>`` with ``<header>_key`` and
# ``<header>_index`` (the header's position).
_CONTROL = (
    ("ISA", "ISA13", ("isa_sender", "isa_receiver"), "interchanges from this sender to this "
     "receiver in the batch"),
    ("GS", "GS06", ("isa_key",), "functional groups of this interchange"),
    ("ST", "ST02", ("gs_key",), "transaction sets of this functional group"),
)


@rule("ENV160", "Control number used twice", severity="error", snip=1, family="envelope",
      batch=True, batch_keys=list)  # (reads the transaction sets, no claim)
def control_number_reused(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Flags an interchange whose ISA13 an earlier interchange of the batch (any file) from the
    same sender (ISA05/ISA06) to the same receiver (ISA07/ISA08) already used, a functional
    group whose GS06 another group of its interchange already used, and a transaction set
    whose ST02 another set of its group already used. The first one keeps the number; each
    later one is reported.

    ## Why is this bad?
    Receivers reject a repeated interchange control number as a duplicate interchange (TA1),
    and a repeated group or set number makes acknowledgements (999) ambiguous; the envelope
    is rejected with every claim inside.

    ## Example
    Two files both starting `ISA*00*...*ZZ*SENDER*ZZ*RECEIVER*...*000000001*...`, or
    `ST*837*0001~ ... SE*40*0001~ST*837*0001~` in one group.

    ## How to fix
    Give every interchange, group and transaction set its own control number (most
    translators increment them; a re-sent file needs new numbers).
    """
    found = []
    for seg_id, element, scope, what in _CONTROL:
        number, key, at = element.lower(), f"{seg_id.lower()}_key", f"{seg_id.lower()}_index"
        rows = ctx.transactions.filter(pl.col(number).is_not_null() & pl.col(key).is_not_null())
        rows = rows.unique(key, keep="first", maintain_order=True).select(  # one per envelope
            "file_id", key, at, number, *scope)
        rows = first_of(ctx, rows, [*scope, number], at).filter(pl.col("k") > 0)
        found.append(emit(
            rows, segment_index=pl.col(at).cast(pl.UInt32), segment_id=seg_id, element=element,
            message=pl.format(f"{element} {{}} is used by {{}} {what} (first at segment {{}} of "
                              "{}); give each its own control number", number, "n",
                              "first_at", "where"),
            expected="a control number not used before", found=pl.col(number)))
    return pl.concat(found)
