"""A run's result: what the outputs render."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from ..model.batch import Batch
from ..rules import findings as F
from ..rules.api import RunOptions
from ..rules.registry import Registry
from ..ruleset.model import Ruleset
from .claim_store import ClaimStore
from .finding_store import FindingStore

if TYPE_CHECKING:
    from .run import Selection


@dataclass
class Result:
    batch: Batch
    # Every finding (one table, sorted; see run.finish). In a run in units, None until
    # read: the findings are in ``finding_store`` (see finding_slices and finding_keys).
    findings: pl.DataFrame  # type: ignore[assignment]
    # batch claims plus ``status`` (and annotator columns); in a run in units only the key
    # columns (claim_store.KEY_COLUMNS) and ``status``: read the rest with claim_frame()
    claims: pl.DataFrame
    ruleset: Ruleset
    inputs: list[str]
    started: float
    elapsed: float = 0.0
    failed: list[str] = field(default_factory=list)  # rules/annotators that raised (INT001)
    registry: Registry | None = None  # the rules, annotators and panels of the run
    options: RunOptions = field(default_factory=RunOptions)
    selection: Selection | None = None  # which rules ran, at what severity
    # file_id -> (segments, spans located while the last rules ran; see run.locate_early)
    located: dict[int, tuple[Any, Future]] = field(default_factory=dict)
    store: ClaimStore | None = None  # the claims' other columns, in a run in units
    finding_store: FindingStore | None = None  # the findings, in a run in units
    # ``--state`` in units: each claim's hashed DUP401/DUP402 keys (claim_key, file_id,
    # id_key, dup_key; see duplicates.claim_keys), for the record of the claims passed
    state_keys: pl.DataFrame | None = None

    def finding_slices(self, rows: int) -> Iterator[pl.DataFrame]:
        """Every finding, in order, ``rows`` at a time (from disk in a run in units)."""
        if self._findings is None and self.finding_store is not None:
            yield from self.finding_store.slices(rows)
            return
        f = self.findings
        for at in range(0, f.height, rows):
            yield f.slice(at, rows)

    def finding_keys(self, columns: Sequence[str]) -> pl.DataFrame:
        """``columns`` of every finding (in order) among ``file_id``, ``segment_index``,
        ``rule``, ``claim_key``, ``st_key`` and ``severity``: without reading the findings
        of a run in units."""
        if self._findings is None and self.finding_store is not None:
            return self.finding_store.keys(columns)
        return self.findings.select(columns)

    def findings_where(self, predicate: pl.Expr, rows: int = 50_000) -> pl.DataFrame:
        """The findings ``predicate`` keeps, in order: a run in units reads its findings
        ``rows`` at a time and keeps only those."""
        if self._findings is not None or self.finding_store is None:
            return self.findings.filter(predicate)
        kept = [part.filter(predicate) for part in self.finding_store.slices(rows)]
        return pl.concat(kept, how="vertical") if kept else self.findings

    @property
    def finding_count(self) -> int:
        return self.finding_keys(["rule"]).height

    def claim_schema(self) -> dict[str, pl.DataType]:
        """Every claim column of the run (those of the store too), in output order."""
        if self.store is None:
            return dict(self.claims.schema)
        base = {c: t for c, t in self.store.schema.items() if c not in self.store.notes}
        return {**base, **self.claims.schema, **{c: self.store.schema[c] for c in self.store.notes}}

    def annotator_columns(self) -> list[str]:
        """The annotators' claim columns (e.g. ``kp``), in order."""
        if self.store is not None:
            return [c for c in self.store.notes if c in self.store.schema]
        known = set(self.batch.claims.columns) | {"status"}
        return [c for c in self.claims.columns if c not in known]

    def _in_memory(self, columns: Sequence[str]) -> list[str]:
        """Of ``columns``, those only the in-memory claims table holds (``status``)."""
        stored = self.store.schema if self.store is not None else {}
        return [c for c in columns if c in self.claims.columns and c not in stored]

    def claim_parts(self, columns: Sequence[str]) -> Iterator[pl.DataFrame]:
        """``columns`` of every claim, in claims order, a unit at a time (one frame when
        the run held its claims whole)."""
        if self.store is None:
            yield self.claims.select(columns)
            return
        mine = self._in_memory(columns)
        stored = [c for c in columns if c not in mine]
        for offset, df in self.store.iter(stored):
            if mine:
                df = df.hstack(self.claims.slice(offset, df.height).select(mine).get_columns())
            yield df.select(columns)

    def claim_frame(self, columns: Sequence[str], keys: pl.Series | None = None,
                    where: pl.Expr | None = None) -> pl.DataFrame:
        """``columns`` of every claim (claims order), of the claims whose key is in
        ``keys`` (in the order of ``keys``, a missing key gives nulls), or of the claims
        ``where`` is true for."""
        cols = list(dict.fromkeys(columns))
        if keys is not None:
            cols = ["claim_key", *(c for c in cols if c != "claim_key")]
        if self.store is None:
            df = self.claims
            if keys is not None:  # (the claims of ``keys`` first: the join then hashes few)
                df = df.filter(pl.col("claim_key").is_in(keys.drop_nulls().unique().implode()))
            df = (df if where is None else df.filter(where)).select(cols)
        elif keys is not None and where is None:
            mine = self._in_memory(cols)
            df = self.store.frame([c for c in cols if c not in mine], keys)
            if mine:
                df = df.join(self.claims.select("claim_key", *mine), on="claim_key", how="left",
                             maintain_order="left").select(cols)
        else:
            parts = [p if where is None else p.filter(where) for p in self.claim_parts(cols)]
            df = pl.concat(parts, how="vertical_relaxed", rechunk=True) if parts else \
                self.store.empty(cols)
        if keys is None:
            return df.select(columns)
        out = pl.DataFrame({"claim_key": keys}).join(df, on="claim_key", how="left",
                                                     maintain_order="left")
        return out.select(list(dict.fromkeys(columns)))

    def worst(self) -> int:
        """Highest severity rank present (-1 when there are no findings)."""
        if self._findings is None and self.finding_store is not None:
            return self.finding_store.worst()
        return F.worst(self.findings)


def _findings(self: Result) -> pl.DataFrame:
    if self._findings is None and self.finding_store is not None:
        self._findings = self.finding_store.frame()  # (read whole when asked for whole)
    return self._findings


def _set_findings(self: Result, value: pl.DataFrame | None) -> None:
    self._findings = value


# (``findings`` is a field of the constructor, read from the store when first asked for)
Result.findings = property(_findings, _set_findings)  # type: ignore[assignment]
