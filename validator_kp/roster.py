"""The ``--members`` roster: CSV or Parquet with ``member_id, product, region, funding``.

A roster row fixes a member's product, region and funding. A bad roster is a usage error
(:class:`~validator.engine.UsageError`, exit code 2) naming the file, row and column; member
IDs never appear in the message.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .config import FUNDINGS, PRODUCTS, REGIONS

COLUMNS = ("member_id", "product", "region", "funding")
SCHEMA = {c: pl.String for c in COLUMNS}


class RosterError(Exception):
    """The roster cannot be used (raised as a usage error by the caller)."""


def normalise_id(expr: pl.Expr) -> pl.Expr:
    """Member IDs compare trimmed and upper-cased (claims and roster alike)."""
    return expr.str.strip_chars().str.to_uppercase()


def _read(path: Path) -> tuple[pl.DataFrame, int]:
    """The raw table as strings and the row number of its first data row."""
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pl.read_parquet(path)
            first = 1
        else:
            df = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy",
                             truncate_ragged_lines=False)
            first = 2  # line 1 is the header
    except FileNotFoundError:
        raise RosterError(f"member roster {path}: file not found") from None
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        kind = "Parquet" if path.suffix.lower() in (".parquet", ".pq") else "CSV"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RosterError(f"member roster {path}: not a readable {kind} file: {first_line}") from None
    return df, first


def load(path: Path) -> pl.DataFrame:
    """The roster as ``member_id, product, region, funding`` (normalised, one row per ID)."""
    df, first = _read(path)
    df = df.rename({c: c.strip().lower() for c in df.columns})
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise RosterError(f"member roster {path}: missing column(s) {', '.join(missing)} "
                          f"(expected columns: {', '.join(COLUMNS)}; found: "
                          f"{', '.join(df.columns) or 'none'})")
    unit = "line" if first == 2 else "row"
    try:
        df = df.select(pl.col(c).cast(pl.String) for c in COLUMNS)
    except pl.exceptions.PolarsError:
        raise RosterError(f"member roster {path}: columns {', '.join(COLUMNS)} must be text") from None
    df = df.with_row_index("_row", offset=first).with_columns(
        member_id=normalise_id(pl.col("member_id")),
        product=pl.col("product").str.strip_chars().str.to_uppercase(),
        region=pl.col("region").str.strip_chars().str.to_uppercase(),
        funding=pl.col("funding").str.strip_chars().str.to_lowercase()
        .str.replace_all(r"[\s_]+", "-"),
    )
    if df.height == 0:
        raise RosterError(f"member roster {path}: no member rows")
    allowed = {"product": PRODUCTS, "region": REGIONS, "funding": FUNDINGS}
    checks = [("member_id", pl.col("member_id").is_null() | (pl.col("member_id") == ""), None)]
    checks += [(c, ~pl.col(c).is_in(list(v)) | pl.col(c).is_null(), v) for c, v in allowed.items()]
    for col, bad_expr, values in checks:
        bad = df.filter(bad_expr)
        if bad.height:
            row = bad.row(0, named=True)
            shown = "empty" if not row[col] else repr(row[col])
            more = f" ({bad.height - 1} more row(s) like it)" if bad.height > 1 else ""
            if values is None:
                raise RosterError(f"member roster {path}: {unit} {row['_row']}, column member_id: "
                                  f"empty member ID{more}")
            raise RosterError(f"member roster {path}: {unit} {row['_row']}, column {col}: {shown} "
                              f"is not one of {', '.join(values)}{more}")
    # The same member twice is fine only when both rows agree.
    clash = (df.group_by("member_id").agg(pl.col("_row").min(), n=pl.struct(COLUMNS[1:]).n_unique())
             .filter(pl.col("n") > 1).sort("_row"))
    if clash.height:
        rows = df.filter(pl.col("member_id") == clash["member_id"][0])["_row"].to_list()
        raise RosterError(f"member roster {path}: {unit}s {', '.join(map(str, rows))}: the same "
                          "member ID with different product/region/funding")
    return df.unique(subset="member_id", keep="first", maintain_order=True).drop("_row")
