"""Masking of protected health information (names, member IDs, birth dates) in reports.

Reports mask PHI by default; ``--show-phi`` opts in. The helpers exist both as plain
functions (for single values, e.g. in log lines) and as polars expressions (whole columns).
"""

from __future__ import annotations

import re

import polars as pl

MASK = "***"


def mask_id(value: str | None) -> str | None:
    """``***1234``: only the last four characters of an ID (nothing of a short one)."""
    if value is None:
        return None
    return MASK + value[-4:] if len(value) > 4 else MASK


def mask_name(value: str | None) -> str | None:
    """A name's initial: ``SMITH`` -> ``S.``."""
    if not value:
        return value
    return value.strip()[:1].upper() + "." if value.strip() else MASK


def mask_id_expr(col: str | pl.Expr) -> pl.Expr:
    c = pl.col(col) if isinstance(col, str) else col
    return (pl.when(c.is_null()).then(pl.lit(None, pl.String))
            .when(c.str.len_chars() > 4).then(pl.lit(MASK) + c.str.slice(-4))
            .otherwise(pl.lit(MASK)))


def mask_name_expr(col: str | pl.Expr) -> pl.Expr:
    c = (pl.col(col) if isinstance(col, str) else col).str.strip_chars()
    return (pl.when(c.is_null() | (c == "")).then(pl.lit(None, pl.String))
            .otherwise(c.str.slice(0, 1).str.to_uppercase() + pl.lit(".")))


def mask_birth_expr(col: str | pl.Expr) -> pl.Expr:
    """A birth date as its year only: ``1980-**-**``."""
    c = pl.col(col) if isinstance(col, str) else col
    return pl.when(c.is_null()).then(pl.lit(None, pl.String)).otherwise(
        c.dt.year().cast(pl.String) + pl.lit("-**-**"))


def person_expr(last: str, first: str, show_phi: bool) -> pl.Expr:
    """``LAST, FIRST`` (or ``L. F.`` masked); null when both parts are absent."""
    if show_phi:
        parts = [pl.col(last).fill_null(""), pl.col(first).fill_null("")]
        full = pl.concat_str(parts, separator=", ").str.strip_chars(", ")
    else:
        parts = [mask_name_expr(first).fill_null(""), mask_name_expr(last).fill_null("")]
        full = pl.concat_str(parts, separator=" ").str.strip_chars(" ")
    return pl.when(full == "").then(pl.lit(None, pl.String)).otherwise(full)


def member_id_expr(col: str, show_phi: bool) -> pl.Expr:
    return pl.col(col) if show_phi else mask_id_expr(col)


def birth_expr(col: str, show_phi: bool) -> pl.Expr:
    return pl.col(col).dt.to_string("%Y-%m-%d") if show_phi else mask_birth_expr(col)


# -- segment text -----------------------------------------------------------------------

# NM1 entities that are people whose names and IDs are PHI: insured/subscriber, patient,
# responsible party (providers, payers and submitters are not masked).
PERSON_ENTITIES = ["IL", "QC", "QD"]
UNKNOWN_ENTITY = "?"  # the loop's NM1 cannot be read: its N3, N4 and REF are masked
# REF qualifiers that identify a person: SSN, member ID, subscriber number, Medicare HIC,
# medical record number, insurance policy number, client number, case number, P&C claim
# number. (In a subscriber or patient loop every REF02 is masked.)
PERSON_REFS = ["SY", "1W", "0F", "F6", "EA", "IG", "23", "3H", "Y4"]
FILL = "#"  # masked characters in segment text (``*`` would read as a separator)
CODE = r"^[A-Z0-9]{1,3}$"  # a segment ID or qualifier; anything else may hide PHI

# Masked elements of the segments that are about a person: position -> kind.
_MASKS: dict[str, dict[int, str]] = {
    "NM1": {3: "name", 4: "name", 5: "name", 9: "id"},
    "REF": {2: "id", 3: "all"},
    "DMG": {2: "date"},
    "PAT": {6: "date"},  # date of death
    "N3": {1: "all", 2: "all"},
    "N4": {1: "all", 3: "zip", 7: "all"},
}


def _masked(kind: str, e: pl.Expr) -> pl.Expr:
    n = e.str.len_chars()
    if kind == "name":  # the initial
        c = e.str.strip_chars()
        return pl.when(c == "").then(pl.lit(FILL * 3)).otherwise(
            c.str.slice(0, 1).str.to_uppercase() + pl.lit("."))
    if kind == "id":  # the last four characters
        return pl.when(n > 4).then(pl.lit(FILL * 3) + e.str.slice(-4)).otherwise(pl.lit(FILL * 3))
    if kind == "date":  # the year
        return pl.when(n > 4).then(e.str.slice(0, 4).str.pad_end(n, FILL)).otherwise(
            pl.lit(FILL * 3))
    if kind == "zip":  # the first three digits
        return pl.when(n > 3).then(e.str.slice(0, 3) + pl.lit(FILL * 2)).otherwise(
            pl.lit(FILL * 3))
    return pl.lit(FILL * 3)


def mask_segments(text: pl.Series, element: str, entity: pl.Series | None = None) -> pl.Series:
    """Segments' texts (in their own delimiters, element separator ``element``) with PHI
    masked: person names (initials), member and other person IDs (last four characters),
    birth and death dates (year), and the street, city and ZIP (first three digits) of a
    subscriber or patient. Masked characters are :data:`FILL`
    (``NM1*IL*1*D.*J.****MI*###6789``, ``DMG*D8*1980####*M``).

    ``entity`` is, per segment, the NM101 of the NM1 loop it sits in (used for N3, N4 and
    REF; :data:`UNKNOWN_ENTITY` when that NM1 cannot be read, which masks them too). A
    segment whose ID is not a clean code (a wrong element separator makes the whole segment
    one token) is cut to its first four characters, as ENV151 quotes it; in a segment about
    a person, an element that should be a code but is not (``NM1*IL*1|DOE|JOHN``) is
    masked whole. Whole-column work: no Python per segment.
    """
    if entity is None:
        entity = pl.Series([None] * text.len(), dtype=pl.String)
    sep = re.escape(element)
    df = pl.DataFrame({"t": text.cast(pl.String), "ent": entity.cast(pl.String)})
    # A broken ID is cut; only the segments that may be about a person are split.
    out = df.select(pl.when(~pl.col("t").str.contains(f"^[A-Z0-9]{{1,3}}({sep}|$)")
                            & (pl.col("t").str.len_chars() > 4))
                    .then(pl.col("t").str.slice(0, 4) + pl.lit("…"))
                    .otherwise(pl.col("t")).alias("t")).to_series()
    cand = df.select(pl.arg_where(pl.col("t").str.contains(f"^({'|'.join(_MASKS)}){sep}")))
    idx = cand.to_series()
    if not idx.len():
        return out.alias(text.name)
    els = pl.col("t").str.split(element)
    rows = df[idx].with_columns(_els=els, _n=els.list.len(), _i=idx)
    sid, q = pl.col("_els").list.first(), pl.col("_els").list.get(1, null_on_oob=True)
    person_ent = pl.col("ent").is_in(PERSON_ENTITIES) | (pl.col("ent") == UNKNOWN_ENTITY)
    unclear = ~q.str.contains(CODE)
    person = (pl.when(sid == "NM1").then(unclear | q.is_in(PERSON_ENTITIES))
              .when(sid == "REF").then(unclear | q.is_in(PERSON_REFS) | person_ent)
              .when(sid.is_in(["DMG", "PAT"])).then(pl.lit(True))
              .otherwise(person_ent))  # N3, N4
    rows = rows.with_columns(_sid=sid).filter(person.fill_null(False) & (pl.col("_n") > 1))
    if not rows.height:
        return out.alias(text.name)
    parts = [pl.col("_sid")]
    for i in range(1, int(rows["_n"].max())):
        e = pl.col("_els").list.get(i, null_on_oob=True)
        value = pl.when(e.is_null()).then(pl.lit(None, pl.String)).when(e == "").then(e)
        for seg, masks in _MASKS.items():
            if i in masks:
                value = value.when(pl.col("_sid") == seg).then(_masked(masks[i], e))
        parts.append(value.when(e.str.contains(CODE)).then(e).otherwise(pl.lit(FILL * 3)))
    masked = rows.select(pl.concat_str(parts, separator=element, ignore_nulls=True)).to_series()
    return out.scatter(rows["_i"], masked).alias(text.name)


def mask_segment(text: str, element: str, entity: str | None = None) -> str:
    """:func:`mask_segments` for one segment."""
    return mask_segments(pl.Series([text]), element, pl.Series([entity], dtype=pl.String))[0]
