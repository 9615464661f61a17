"""Findings: the one table every check writes to and every renderer reads from."""

from __future__ import annotations

import polars as pl

from ..severity import RANK

# Internal schema. ``file_id``/``st_key``/``claim_key`` tie a finding to the batch tables;
# renderers resolve them to paths and claim IDs.
SCHEMA: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "severity": pl.String(),
    "snip_level": pl.Int8(),
    "file_id": pl.UInt32(),
    "st_key": pl.UInt32(),
    "claim_key": pl.UInt32(),
    "segment_index": pl.UInt32(),
    "segment_id": pl.String(),
    "element": pl.String(),
    "message": pl.String(),
    "expected": pl.String(),
    "found": pl.String(),
    # Implementation-guide findings only (null elsewhere): pyx12's loop and error code.
    "loop": pl.String(),
    "ig_code": pl.String(),
}



def worst(found: pl.DataFrame) -> int:
    """Highest severity rank among ``found`` (-1 when there are none)."""
    if not found.height:
        return -1
    return int(found["severity"].replace_strict(RANK, return_dtype=pl.Int8).max())


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def conform(df: pl.DataFrame) -> pl.DataFrame:
    """Give a rule's output the full findings schema (missing columns become null).

    Extra columns a rule adds are kept.
    """
    cols = [
        (pl.col(name) if name in df.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in SCHEMA.items()
    ]
    extra = [c for c in df.columns if c not in SCHEMA]
    return df.select(*cols, *extra)


def concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [conform(f) for f in frames if f is not None and f.height]
    if not frames:
        return empty()
    return pl.concat(frames, how="diagonal_relaxed")
