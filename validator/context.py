"""What a rule sees: the batch's tables, the ruleset and the run's options."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .ruleset import Ruleset
from .x12.segments import SplitSegments


@dataclass
class Batch:
    """Everything read from the inputs of one run."""

    files: pl.DataFrame  # file_id, path, status, error, interchanges (ISA count)
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


@dataclass
class Context:
    batch: Batch
    ruleset: Ruleset
    options: dict[str, Any] = field(default_factory=dict)
    # Whether a rule code is enabled in this run (a check raising several codes may skip
    # costly work none of its enabled codes needs).
    enabled: Callable[[str], bool] = field(default=lambda code: True)
    _cache: dict[str, Any] = field(default_factory=dict)
    _locks: dict[str, threading.RLock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def segments(self) -> pl.DataFrame:
        """All segments (``raw`` text, no elements); ``segs`` gives them split."""
        return self.batch.segments

    def segs(self, *seg_ids: str, supported: bool = True) -> pl.DataFrame:
        """Segments with these ids: their keys and the ``el`` list column (no ``raw``); by
        default only those of supported 5010 837 transaction sets. Cached per signature."""

        def build() -> pl.DataFrame:
            s = self.batch.split_segments().in_order(seg_ids)
            if not supported:
                return s
            if self._all_supported():  # only segments outside every set to drop, if any
                return s.filter(pl.col("st_key").is_not_null()) if s["st_key"].null_count() else s
            keys = self.transactions.filter(pl.col("supported")).get_column("st_key")
            return s.filter(pl.col("st_key").is_in(keys.implode()))

        return self.derived(f"segs:{','.join(seg_ids)}:{supported}", build)

    @property
    def transactions(self) -> pl.DataFrame:
        return self.batch.transactions

    @property
    def claims(self) -> pl.DataFrame:
        """Claims of supported 5010 837 transactions (the ones content rules check)."""
        def build() -> pl.DataFrame:
            c = self.batch.claims  # (a CLM outside every set has a null ``supported``)
            sup = c.get_column("supported")
            return c if sup.null_count() == 0 and sup.all() else c.filter(pl.col("supported"))

        return self.derived("claims_supported", build)

    @property
    def lines(self) -> pl.DataFrame:
        return self.derived(
            "lines_supported",
            lambda: self.batch.lines if self.claims.height == self.batch.claims.height
            else self.batch.lines.join(self.claims.select("claim_key"), on="claim_key",
                                       how="semi"),
        )

    def _all_supported(self) -> bool:
        """Every transaction set is a supported 5010 837 (the usual case: no filtering)."""
        if "supported" not in self.transactions.columns:  # a batch built by hand
            return False
        sup = self.transactions.get_column("supported")
        return sup.null_count() == 0 and bool(sup.all())

    def derived(self, name: str, build: Callable[[], Any]) -> Any:
        """A table derived once per run and shared by the rules that need it (rules run on
        several threads: the first one to ask builds it, the others wait for it)."""
        if name in self._cache:
            return self._cache[name]
        with self._locks_guard:
            lock = self._locks.setdefault(name, threading.RLock())
        with lock:
            if name not in self._cache:
                self._cache[name] = build()
        return self._cache[name]
