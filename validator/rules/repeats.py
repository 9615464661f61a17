"""Things used twice in a batch (a claim ID, a control number): which is the first one, and
where it stands, for the findings on the later ones."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from .api import Context


def first_of(ctx: Context, df: pl.DataFrame, group: Sequence[str], at: str = "segment_index",
             ) -> pl.DataFrame:
    """``df`` (rows in batch order) with, per ``group``: ``k`` (0 for the first row), ``n``
    (rows in the group), ``first_at`` (the first row's ``at``) and ``where`` ("this file",
    or the file holding the first row: its name, or its path as given when another file
    of the batch has the same name, e.g. ``days/03-01/batch.edi``)."""
    group = list(group)
    out = df.with_columns(
        k=pl.int_range(pl.len()).over(group), n=pl.len().over(group),
        first_at=pl.col(at).first().over(group),
        _first_file=pl.col("file_id").first().over(group))
    base = pl.col("path").str.extract(r"([^/\\]+)$")
    paths = ctx.batch.files.select(
        _first_file="file_id",
        _first_path=pl.when(base.is_first_distinct() & base.is_last_distinct()).then(base)
        .otherwise(pl.col("path")))
    out = out.join(paths, on="_first_file", how="left", maintain_order="left")
    return out.with_columns(where=pl.when(pl.col("_first_file") == pl.col("file_id"))
                            .then(pl.lit("this file"))
                            .otherwise(pl.col("_first_path"))
                            ).drop("_first_file", "_first_path")
