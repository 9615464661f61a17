"""The claims of a run in units, kept on disk a unit at a time (issue #18).

A run in units (a large batch, a file cut in pieces, a Dask run) would otherwise hold every
claim's row on the client until the reports are written: ~650 bytes a claim, 1.5 GB for a
2.3M-claim file. The client keeps in memory only the keys each output joins on
(:data:`KEY_COLUMNS`, 12 bytes a claim, see :class:`validator.engine.result.Result`); the
other columns (what the reports show of a claim, the annotators' columns such as ``kp``)
are written here, one LZ4-compressed Arrow IPC file a unit (~100 bytes a claim), and read
back a unit at a time, or only for the claims a report or a batch rule needs.

Rows keep the order they were added in, so the store's rows line up with the key table's.
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

log = logging.getLogger("claims_validator")

# What the client keeps in memory of every claim of a run in units: the keys that give a
# claim its status (its own findings, its transaction set's and its file's). The claim ID
# and position are read from the store for the claims a report shows.
KEY_COLUMNS = ("claim_key", "file_id", "st_key")


@dataclass
class _Part:
    source: Path | bytes  # an IPC file, or its bytes when it could not be written
    columns: tuple[str, ...]
    rows: int
    lo: int  # smallest and largest key (claim_key; 0 and -1 in a store without keys)
    hi: int


class ClaimStore:
    """Tables of rows keyed by ``claim_key`` (or by nothing: ``keyed=False``), added a unit
    at a time and read back a part at a time; the files live in a temporary folder removed
    with the store."""

    def __init__(self, keyed: bool = True) -> None:
        self.keyed = keyed
        self.parts: list[_Part] = []
        self.schema: dict[str, pl.DataType] = {}
        self.notes: list[str] = []  # annotator columns (e.g. ``kp``), last in the schema
        self._dir: Path | None = None

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)

    def _folder(self) -> Path | None:
        if self._dir is None:
            try:
                self._dir = Path(tempfile.mkdtemp(prefix="claims-validator-"))
            except OSError as exc:
                log.warning("no temporary folder for the claims (%s): they are kept in "
                            "memory, compressed", exc)
                return None
            weakref.finalize(self, shutil.rmtree, self._dir, True)
        return self._dir

    def add(self, df: pl.DataFrame, notes: Sequence[str] = ()) -> None:
        """Append ``df`` (with a ``claim_key`` column); ``notes`` are annotator columns."""
        for name, dtype in df.schema.items():
            if self.schema.get(name, pl.Null) == pl.Null:
                self.schema[name] = dtype
        self.notes += [n for n in notes if n not in self.notes]
        self.schema = {**{c: t for c, t in self.schema.items() if c not in self.notes},
                       **{c: self.schema[c] for c in self.notes if c in self.schema}}
        if not df.height:
            return
        source: Path | bytes | None = None
        folder = self._folder()
        if folder is not None:
            try:
                source = folder / f"{len(self.parts):06d}.arrow"
                df.write_ipc(source, compression="lz4")
            except OSError as exc:
                log.warning("could not write the claims to %s (%s): kept in memory, "
                            "compressed", folder, exc)
                source = None
        if source is None:
            buf = io.BytesIO()
            df.write_ipc(buf, compression="lz4")
            source = buf.getvalue()
        lo, hi = (0, -1) if not self.keyed else (int(df.get_column("claim_key").min()),
                                                 int(df.get_column("claim_key").max()))
        self.parts.append(_Part(source, tuple(df.columns), df.height, lo, hi))

    def read(self, index: int, columns: Sequence[str]) -> pl.DataFrame:
        """``columns`` of part ``index`` (those it lacks as nulls)."""
        return self._read(self.parts[index], columns)

    def _read(self, part: _Part, columns: Sequence[str]) -> pl.DataFrame:
        have = [c for c in columns if c in part.columns] or [part.columns[0]]
        src = io.BytesIO(part.source) if isinstance(part.source, bytes) else part.source
        df = pl.read_ipc(src, columns=have)
        missing = [pl.lit(None, self.schema[c]).alias(c) for c in columns if c not in have]
        return df.with_columns(missing).select(columns)

    def iter(self, columns: Sequence[str]) -> Iterator[tuple[int, pl.DataFrame]]:
        """``(row offset, frame)`` per part, with ``columns`` (those a part lacks as nulls)."""
        offset = 0
        for part in self.parts:
            yield offset, self._read(part, columns)
            offset += part.rows

    def frame(self, columns: Sequence[str], keys: pl.Series | None = None) -> pl.DataFrame:
        """``columns`` of every row, or of the rows whose ``claim_key`` is in ``keys``
        (store order), one chunk per column."""
        cols = list(dict.fromkeys(columns))
        out = []
        if keys is not None:
            keys = keys.drop_nulls().unique()
            if not keys.len():
                return self.empty(cols)
            lo, hi = int(keys.min()), int(keys.max())  # type: ignore[arg-type]
        for part in self.parts:
            if keys is None:
                out.append(self._read(part, cols))
            elif part.lo <= hi and part.hi >= lo:
                take = [*cols, "claim_key"] if "claim_key" not in cols else cols
                df = self._read(part, take).filter(pl.col("claim_key").is_in(keys.implode()))
                out.append(df.select(cols))
        out = [f for f in out if f.height]
        if not out:
            return self.empty(cols)
        return pl.concat(out, how="vertical_relaxed", rechunk=True)

    def empty(self, columns: Sequence[str]) -> pl.DataFrame:
        return pl.DataFrame(schema={c: self.schema.get(c, pl.Null) for c in columns})
