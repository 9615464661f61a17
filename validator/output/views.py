"""Public views of a result: the files, claims and findings tables every renderer uses.

These are the columns of the JSON contract (schema_version 1); CSV, Parquet, JUnit and
HTML renderers start from the same views so that every output tells the same story.
"""

from __future__ import annotations

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


def claims_view(result: Result, extra: bool = True) -> pl.DataFrame:
    """Claims with the contract's columns (plus annotator columns such as ``kp``)."""
    # The file's path joined to the key alone: a join of the whole claims table would copy
    # every column of it (the largest table of a run) to keep a few (issue #18).
    path = result.claims.select("file_id").join(
        result.batch.files.select("file_id", file="path"), on="file_id", how="left",
        maintain_order="left").get_column("file")
    c = result.claims.with_columns(path)
    base = [
        "file", "claim_id", "transaction_type",
        pl.col("segment_index").cast(pl.Int64), "total_charge", "payer_id", "payer_name",
        pl.col("service_date_from").dt.to_string("%Y-%m-%d"),
        pl.col("service_date_to").dt.to_string("%Y-%m-%d"), "status",
    ]
    extras = [col for col in result.claims.columns if col in _annotator_columns(result)]
    return c.select(*base, "claim_key", "file_id", *(extras if extra else []))


def _annotator_columns(result: Result) -> set[str]:
    return set(result.claims.columns) - set(result.batch.claims.columns) - {"status"}


def findings_view(result: Result, locations: bool = False,
                  show_phi: bool | None = None) -> pl.DataFrame:
    """Findings with the contract's columns; with ``locations`` also ``line``, ``offset``
    and ``segment_text`` (see :mod:`validator.output.locations`; PHI masked unless
    ``show_phi``, which defaults to the run's option)."""
    f = result.findings
    files = result.batch.files.select("file_id", file="path")
    ids = result.batch.claims.select("claim_key", "claim_id")
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


def summary(result: Result) -> dict:
    sev = result.findings.group_by("severity").agg(n=pl.len())
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
    counts = result.findings.group_by("rule").agg(n=pl.len()).sort(["n", "rule"],
                                                                   descending=[True, False])
    return [(r, k) for r, k in counts.head(n).iter_rows()]
