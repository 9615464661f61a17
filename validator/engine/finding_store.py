"""The findings of a run in units, kept on disk a unit at a time (issue #18).

One pass sorts its findings table (:data:`validator.engine.run.ORDER`: by file, segment and
rule; among equal keys, in the order the rules gave them). A run in units writes each
unit's findings, finished and sorted, as a part (LZ4 Arrow IPC, see
:class:`~validator.engine.claim_store.ClaimStore`). Memory keeps an index of ~40 bytes a
finding: the sort keys, where the row is, and what the summary and the claims' status read.

A unit's findings fill a range of that order no other unit's do (its whole files, or the
segments of its piece), except those that sort elsewhere: a file's own findings (no
segment), findings on ISA and GS headers (which later pieces of a file repeat), and the
batch-wide, envelope trailer and annotator-fault findings computed after the units. Those
*loose* findings stay in memory; sorting the index places them among the parts' rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import polars as pl

from ..rules import findings as F
from ..severity import RANK
from .claim_store import ClaimStore

# Among findings of equal keys, which came first in one pass: the source (0: the loader,
# then the rules in registry order, then the annotators' faults), the unit, the row.
TIE = ("_src", "_unit", "_row")
_ORDER = ("file_id", "segment_index", "rule")  # (validator.engine.run.ORDER)
_INDEX = ("file_id", "segment_index", "rule", "claim_key", "st_key")
_RANK = pl.col("severity").replace_strict(RANK, default=None, return_dtype=pl.Int8)
_NAMES = {v: k for k, v in RANK.items()}


def tagged(df: pl.DataFrame, src: int, unit: int = 0) -> pl.DataFrame:
    """``df`` with its tie-break columns (:data:`TIE`)."""
    return df.with_columns(pl.lit(src, pl.UInt16).alias("_src"),
                           pl.lit(unit, pl.UInt32).alias("_unit"),
                           pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"))


class FindingStore:
    """Finished findings added a unit at a time (:meth:`add`), then the loose ones
    (:meth:`close`); read back in one pass's order a slice at a time."""

    def __init__(self) -> None:
        self.parts = ClaimStore(keyed=False)
        self.index: list[pl.DataFrame] = []  # per part: its sort keys and row numbers
        self.loose: list[pl.DataFrame] = []  # per unit: its loose findings
        self.first: dict[str, tuple[int, int, int]] = {}  # extra column -> (src, unit, at)
        self.spine = pl.DataFrame()  # after close(): the index in findings order
        self.rest = pl.DataFrame()  # after close(): the loose findings

    def _extras(self, df: pl.DataFrame) -> None:
        if not df.height:
            return
        src, unit = int(df.get_column("_src").min()), int(df.get_column("_unit").min())
        for at, c in enumerate(df.columns):
            if c not in F.SCHEMA and not c.startswith("_"):
                self.first[c] = min(self.first.get(c, (src, unit, at)), (src, unit, at))

    def add(self, part: pl.DataFrame, loose: pl.DataFrame) -> None:
        """A unit's findings: ``part`` (its range of the order) and ``loose`` (the rest),
        both finished (validator.engine.run.finish) and tagged (:func:`tagged`)."""
        self._extras(part)
        self._extras(loose)
        if loose.height:
            self.loose.append(loose)
        if not part.height:
            return
        part = part.sort([*_ORDER, *TIE], nulls_last=False)
        self.index.append(self._keys(part, len(self.parts.parts)))
        self.parts.add(part.drop(TIE))

    @staticmethod
    def _keys(df: pl.DataFrame, part: int) -> pl.DataFrame:
        return df.select(*_INDEX, *TIE, _rank=_RANK, _part=pl.lit(part, pl.Int32),
                         _pos=pl.int_range(pl.len(), dtype=pl.UInt32))

    def checkpoint(self) -> tuple[int, int, int]:
        return len(self.parts.parts), len(self.index), len(self.loose)

    def rollback(self, mark: tuple[int, int, int]) -> None:
        del self.parts.parts[mark[0]:], self.index[mark[1]:], self.loose[mark[2]:]

    def close(self, loose: pl.DataFrame) -> None:
        """The loose findings (every unit's and those computed after the units, finished
        and tagged) placed among the parts' rows."""
        self._extras(loose)
        self.rest = loose.sort([*_ORDER, *TIE], nulls_last=False)
        self.loose = []
        keys = [*self.index, self._keys(self.rest, -1)]
        self.index = []
        spine = pl.concat([k for k in keys if k.height], how="vertical_relaxed") if any(
            k.height for k in keys) else self._keys(F.empty().pipe(tagged, 0), -1)
        self.spine = spine.sort([*_ORDER, *TIE], nulls_last=False).drop(TIE)
        self.rest = self.rest.drop(TIE)

    @property
    def height(self) -> int:
        return self.spine.height

    @property
    def columns(self) -> list[str]:
        extras = sorted(self.first, key=self.first.__getitem__)
        return [*F.SCHEMA, *extras]

    def _schema(self) -> dict[str, pl.DataType]:
        known = {**self.parts.schema, **{c: t for c, t in self.rest.schema.items()
                                         if t != pl.Null or c not in self.parts.schema}}
        return {c: F.SCHEMA.get(c) or known.get(c, pl.Null) for c in self.columns}

    def slices(self, rows: int) -> Iterator[pl.DataFrame]:
        """Every finding in one pass's order, ``rows`` at a time."""
        schema = self._schema()
        cols = list(schema)
        cached: tuple[int, pl.DataFrame] | None = None
        for at in range(0, self.height, rows):
            s = self.spine.slice(at, rows).select("_part", "_pos").with_row_index("_o")
            frames = []
            for (p,), g in s.group_by("_part", maintain_order=True):
                if p < 0:
                    src = self.rest
                elif cached is not None and cached[0] == p:
                    src = cached[1]
                else:
                    src = self.parts.read(p, [c for c in cols if c in self.parts.schema])
                    cached = (p, src)
                frames.append(src.select(pl.all().gather(g.get_column("_pos")))
                              .with_columns(g.get_column("_o")))
            out = pl.concat(frames, how="diagonal_relaxed").sort("_o")
            yield out.select(pl.col(c).cast(t) if c in out.columns else pl.lit(None, t).alias(c)
                             for c, t in schema.items())

    def frame(self, rows: int = 500_000) -> pl.DataFrame:
        """Every finding, in one table (one pass's)."""
        parts = list(self.slices(rows))
        if not parts:
            return pl.DataFrame(schema=self._schema())
        return pl.concat(parts, how="vertical", rechunk=True)

    def keys(self, columns: Sequence[str]) -> pl.DataFrame:
        """Of every finding (in order): ``columns`` among the index's (``file_id``,
        ``segment_index``, ``rule``, ``claim_key``, ``st_key``, ``severity``)."""
        sev = pl.col("_rank").replace_strict(_NAMES, default=None, return_dtype=pl.String)
        return self.spine.select(sev.alias(c) if c == "severity" else pl.col(c)
                                 for c in columns)

    def worst(self) -> int:
        """Highest severity rank (-1 when there are no findings)."""
        top = self.spine.get_column("_rank").max() if self.height else None
        return -1 if top is None else int(top)  # type: ignore[arg-type]
