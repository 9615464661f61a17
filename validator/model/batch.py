"""A run's tables: what the reader produced from the inputs, before any rule runs."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ..x12.segments import SplitSegments


@dataclass
class Batch:
    """Everything read from the inputs of one run."""

    files: pl.DataFrame  # file_id, path, status, error, interchanges (ISAs), segments
    segments: pl.DataFrame  # annotated segments (validator.x12.segments.annotate)
    transactions: pl.DataFrame
    claims: pl.DataFrame  # every CLM of every parsed file
    lines: pl.DataFrame
    load_findings: pl.DataFrame  # raised while loading (unreadable files, text before ISA…)
    split: SplitSegments | None = None  # segments split into elements per ID (shared)

    def split_segments(self) -> SplitSegments:
        if self.split is None:  # only batches built by hand (tests) come without one
            self.split = SplitSegments(self.segments)
        return self.split
