"""Public views of a result: the files, claims and findings tables every renderer uses.

These are the columns of the JSON contract (schema_version 1); CSV, Parquet, JUnit and
HTML renderers start from the same views so that every output tells the same story.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from ..engine.result import Result
from .locations import LOCATION_COLUMNS, with_locations

SCHEMA_VERSION = 1

CLAIM_COLUMNS = [
    "file", "claim_id", "transaction_type", "segment_index", "total_charge", "payer_id",
    "payer_name", "service_date_from", "service_date_to", "status",
]
FINDING_COLUMNS = [
    "rule", "severity", "file", "claim_id", "segment_index", "segment_id", "element",
    "message", "expected", "found", "snip_level",
]


def files_view(result: Result) -> pl.DataFrame:
    b = result.batch
    tx = b.transactions.group_by("file_id").agg(
        transactions=pl.len(),
        transaction_types=pl.col("transaction_type").fill_null(pl.col("st01")).fill_null("?")
        .unique(maintain_order=True),
    )
    cl = b.claims.group_by("file_id").agg(claims=pl.len())
    left = {"how": "left", "maintain_order": "left"}
    out = b.files.join(tx, on="file_id", **left).join(cl, on="file_id", **left)
    return out.select(
        "file_id", "path", "status", "error",
        pl.col("transaction_types").fill_null(pl.lit([], pl.List(pl.String))),
        *(pl.col(c).fill_null(0).cast(pl.Int64) for c in ("interchanges", "transactions",
                                                           "claims")),
    ).sort("file_id")


_VIEW_READS = ("claim_key", "file_id", "claim_id", "transaction_type", "segment_index",
               "total_charge", "payer_id", "payer_name", "service_date_from",
               "service_date_to", "status")


def claims_view(result: Result, extra: bool = True, keys: pl.Series | None = None
                ) -> pl.DataFrame:
    """Claims with the contract's columns (plus annotator columns such as ``kp``); with
    ``keys``, those claims only (in that order)."""
    extras = result.annotator_columns() if extra else []
    if keys is None and result.store is not None:
        parts = list(claims_view_parts(result, extra))
        return pl.concat(parts, how="vertical_relaxed", rechunk=True)
    c = result.claim_frame([*_VIEW_READS, *extras], keys)
    return _view(result, c, extras)


def claims_view_parts(result: Result, extra: bool = True) -> Iterator[pl.DataFrame]:
    """:func:`claims_view` a unit at a time (one frame when the run held its claims whole):
    a run in units never holds every claim's columns at once."""
    extras = result.annotator_columns() if extra else []
    for c in result.claim_parts([*_VIEW_READS, *extras]):
        yield _view(result, c, extras)


def _view(result: Result, c: pl.DataFrame, extras: list[str]) -> pl.DataFrame:
    # The file's path joined to the key alone: a join of the whole claims table would copy
    # every column of it (the largest table of a run) to keep a few (issue #18).
    path = c.select("file_id").join(
        result.batch.files.select("file_id", file="path"), on="file_id", how="left",
        maintain_order="left").get_column("file")
    c = c.with_columns(path)
    base = [
        "file", "claim_id", "transaction_type",
        pl.col("segment_index").cast(pl.Int64), "total_charge", "payer_id", "payer_name",
        pl.col("service_date_from").dt.to_string("%Y-%m-%d"),
        pl.col("service_date_to").dt.to_string("%Y-%m-%d"), "status",
    ]
    return c.select(*base, "claim_key", "file_id", *extras)


def findings_view(result: Result, locations: bool = False,
                  show_phi: bool | None = None, findings: pl.DataFrame | None = None
                  ) -> pl.DataFrame:
    """Findings with the contract's columns; with ``locations`` also ``line``, ``offset``
    and ``segment_text`` (see :mod:`validator.output.locations`; PHI masked unless
    ``show_phi``, which defaults to the run's option). ``findings``: some rows of
    ``result.findings`` only (a slice: the view of the whole, a slice at a time)."""
    f = result.findings if findings is None else findings
    files = result.batch.files.select("file_id", file="path")
    # (the IDs of these findings' claims only: a join with every claim's ID hashed the
    # whole claims table, ~60 bytes a claim, for each slice of findings)
    ids = result.claim_frame(["claim_key", "claim_id"],
                             keys=f.get_column("claim_key").drop_nulls().unique())
    out = (f.join(files, on="file_id", how="left", maintain_order="left")
           .join(ids, on="claim_key", how="left", maintain_order="left"))
    extras = [c for c in f.columns if c not in FINDING_COLUMNS
              and c not in ("file_id", "st_key", "claim_key")]
    if locations:
        out = with_locations(out, result, show_phi)
    return out.select(
        *FINDING_COLUMNS[:4], pl.col("segment_index").cast(pl.Int64),
        *FINDING_COLUMNS[5:10], pl.col("snip_level").cast(pl.Int64), *extras,
        *(LOCATION_COLUMNS if locations else []), "claim_key", "file_id",
    )


def findings_view_slices(result: Result, rows: int, show_phi: bool | None = None
                         ) -> Iterator[pl.DataFrame]:
    """:func:`findings_view` with locations, ``rows`` findings at a time (a run in units
    reads them from disk); one empty view when there are none."""
    empty = True
    for part in result.finding_slices(rows):
        empty = False
        yield findings_view(result, locations=True, show_phi=show_phi, findings=part)
    if empty:
        yield findings_view(result, locations=True, show_phi=show_phi)


def summary(result: Result) -> dict:
    sev = result.finding_keys(["severity"]).group_by("severity").agg(n=pl.len())
    counts = {s: 0 for s in ("error", "warning", "info")}
    counts.update({r["severity"]: r["n"] for r in sev.iter_rows(named=True)})
    status = result.claims["status"] if result.claims.height else pl.Series([], dtype=pl.String)
    return {
        "files": result.batch.files.height,
        "files_unreadable": int((result.batch.files["status"] == "unreadable").sum()),
        "claims": result.claims.height,
        "claims_with_errors": int((status == "error").sum()),
        "claims_with_warnings": int((status == "warning").sum()),
        "findings": counts,
    }


def top_rules(result: Result, n: int = 5) -> list[tuple[str, int]]:
    counts = result.finding_keys(["rule"]).group_by("rule").agg(n=pl.len()).sort(
        ["n", "rule"], descending=[True, False])
    return [(r, k) for r, k in counts.head(n).iter_rows()]
