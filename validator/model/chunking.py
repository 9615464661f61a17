"""Reading a large batch in chunks, so that memory follows the chunk and not the batch.

A run holds every segment of the files it reads at once (about 17-20x their size in RAM).
Inputs beyond :data:`CHUNK_BYTES` are therefore read and checked a chunk of whole files at a
time; only the claim tables and findings of a chunk are kept. Their keys (running counts of
ISA/GS/ST/HL/CLM/LX over the batch) are shifted by the counts of the chunks before, so the
merged tables equal those of a single pass, and batch-wide rules run once over them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..x12.segments import SplitSegments

# Default chunk size: about 2.5 GB of peak memory for the chunk's segments.
CHUNK_BYTES = 128 << 20

# Key columns of the batch tables and findings -> the segment ID they count.
KEYS = {
    "isa_key": "ISA", "gs_key": "GS", "st_key": "ST", "hl_key": "HL", "patient_hl": "HL",
    "subscriber_hl": "HL", "billing_hl": "HL", "clm_key": "CLM", "claim_key": "CLM",
    "lx_key": "LX", "line_key": "LX",
}
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    """``"128M"`` -> bytes (K, M, G suffixes, optional ``B``/``iB``); ``"0"`` means no limit."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:I?B)?\s*", text.upper())
    if not m:
        raise ValueError(f"not a size: {text!r} (use e.g. 512M or 2G; 0 for no chunks)")
    return int(float(m[1]) * _UNITS[m[2]])


def _size(path: Path) -> int:
    """Bytes the file will take once read (a gzip file's size comes from its trailer)."""
    try:
        size = path.stat().st_size
        if path.suffix.lower() == ".gz" and size >= 18:
            with path.open("rb") as f:
                f.seek(-4, os.SEEK_END)
                size = max(size, int.from_bytes(f.read(4), "little"))  # ISIZE (mod 4 GiB)
        return size
    except OSError:  # the reader reports it
        return 0


def plan(paths: Sequence[Path], limit: int) -> list[tuple[int, list[Path]]]:
    """Consecutive runs of whole files of about ``limit`` bytes: ``(first file id, paths)``.
    A file larger than ``limit`` forms a chunk of its own; ``limit <= 0`` gives one chunk."""
    if limit <= 0 or len(paths) < 2:
        return [(0, list(paths))]
    chunks: list[tuple[int, list[Path]]] = []
    held = 0
    for i, path in enumerate(paths):
        size = _size(path)
        if not chunks or (held + size > limit and chunks[-1][1]):
            chunks.append((i, []))
            held = 0
        chunks[-1][1].append(path)
        held += size
    return chunks


@dataclass
class Offsets:
    """How many ISA/GS/ST/HL/CLM/LX segments the chunks read so far hold."""

    seen: dict[str, int] = field(default_factory=lambda: dict.fromkeys(set(KEYS.values()), 0))

    def shift(self, df: pl.DataFrame) -> pl.DataFrame:
        """``df`` with its key columns moved past the earlier chunks' keys."""
        cols = [(pl.col(c) + self.seen[s]).cast(df.schema[c]).alias(c) for c, s in KEYS.items()
                if c in df.columns and self.seen[s]]
        return df.with_columns(cols) if cols else df

    def advance(self, counts: dict[str, int]) -> None:
        """Move past a chunk holding ``counts`` (from :func:`key_counts`)."""
        for seg_id, n in counts.items():
            self.seen[seg_id] += n


def key_counts(split: SplitSegments) -> dict[str, int]:
    """How many segments of each ID that keys count (ISA, GS, ST, HL, CLM, LX) a chunk
    read, before any of its files was dropped."""
    return {seg_id: split.count(seg_id) for seg_id in set(KEYS.values())}
