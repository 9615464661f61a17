"""Masking of protected health information (names, member IDs, birth dates) in reports.

Reports mask PHI by default; ``--show-phi`` opts in. The helpers exist both as plain
functions (for single values, e.g. in log lines) and as polars expressions (whole columns).
"""

from __future__ import annotations

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
