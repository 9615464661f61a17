"""Edits: the one table every fix returns and ``claims-validator fix`` applies.

A fix (``Rule.fix``) looks at its rule's findings and the batch tables and returns, for the
findings that have exactly one right answer, one row per segment to rewrite: the segment
(``file_id``, ``segment_index``, which is the ``seg_index`` of the segments table), its
claim when it belongs to one, and ``new``, the whole segment's new text in canonical
separators (``\\x1d`` element, ``\\x1f`` component, ``\\x1e`` repetition, as the segments
table's ``raw``). Edits replace one segment by one segment: none adds or removes one, so
every other segment keeps its place and its bytes. The tool fills in ``old`` from the
segments table and refuses an edit whose segment no longer reads so.

The selection and joins run as whole columns; the string surgery on the (few) segments a
fix rewrites is done per row with :func:`set_elements`.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from ..x12.load import COMP, ELEM

SCHEMA: dict[str, pl.DataType] = {
    "file_id": pl.UInt32(),
    "segment_index": pl.UInt32(),
    "claim_key": pl.UInt32(),
    "rule": pl.String(),
    "new": pl.String(),
}


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def conform(df: pl.DataFrame) -> pl.DataFrame:
    """A fix's output with exactly the edit columns (missing ones null)."""
    return df.select(*((pl.col(n) if n in df.columns else pl.lit(None)).cast(t).alias(n)
                       for n, t in SCHEMA.items()))


def edits(df: pl.DataFrame, *, new: pl.Expr | str = "new",
          segment_index: pl.Expr | str = "segment_index", rule: str | None = None,
          ) -> pl.DataFrame:
    """Edits, one per row of ``df`` (which carries ``file_id`` and, when the segment is a
    claim's, ``claim_key``): the one way a fix builds its output."""
    at = pl.col(segment_index) if isinstance(segment_index, str) else segment_index
    text = pl.col(new) if isinstance(new, str) else new
    cols = {"file_id": pl.col("file_id"),
            "claim_key": pl.col("claim_key") if "claim_key" in df.columns else pl.lit(None),
            "segment_index": at, "new": text}
    if rule is not None:
        cols["rule"] = pl.lit(rule)
    return conform(df.select(**cols))


def set_elements(raw: str, values: Mapping[int, str], *, keep: int | None = None) -> str:
    """Segment ``raw`` (canonical) with element ``i`` (1-based, ``NM109`` is 9) set to
    ``values[i]``; elements between the last one present and ``i`` are added empty.
    ``keep`` cuts the segment after element ``keep`` (``N4``: city, state, ZIP only)."""
    parts = raw.split(ELEM)
    need = max(values, default=0) + 1
    parts += [""] * (need - len(parts))
    for i, v in values.items():
        parts[i] = v
    if keep is not None:
        parts = parts[: keep + 1]
    return ELEM.join(parts)


def set_component(raw: str, element: int, component: int, value: str) -> str:
    """Segment ``raw`` with component ``component`` (1-based) of element ``element`` set."""
    parts = raw.split(ELEM)
    comps = parts[element].split(COMP)
    comps[component - 1] = value
    parts[element] = COMP.join(comps)
    return ELEM.join(parts)


def per_row(df: pl.DataFrame, fn, *cols: str) -> pl.Series:
    """``fn(*row)`` for each row of ``df`` over ``cols``: the new text of each segment."""
    return pl.Series("new", [fn(*row) for row in df.select(*cols).iter_rows()], pl.String)
