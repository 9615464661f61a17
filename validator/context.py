"""What a rule sees: the batch's tables, the ruleset and the run's options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .ruleset import Ruleset


@dataclass
class Batch:
    """Everything read from the inputs of one run."""

    files: pl.DataFrame  # file_id, path, status, error
    segments: pl.DataFrame  # annotated segments (validator.x12.segments.annotate)
    transactions: pl.DataFrame
    claims: pl.DataFrame  # every CLM of every parsed file
    lines: pl.DataFrame
    load_findings: pl.DataFrame  # raised while loading (unreadable files, text before ISA…)


@dataclass
class Context:
    batch: Batch
    ruleset: Ruleset
    options: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def segments(self) -> pl.DataFrame:
        return self.batch.segments

    @property
    def transactions(self) -> pl.DataFrame:
        return self.batch.transactions

    @property
    def claims(self) -> pl.DataFrame:
        """Claims of supported 5010 837 transactions (the ones content rules check)."""
        return self.derived("claims_supported",
                            lambda: self.batch.claims.filter(pl.col("supported")))

    @property
    def lines(self) -> pl.DataFrame:
        return self.derived(
            "lines_supported",
            lambda: self.batch.lines.join(self.claims.select("claim_key"), on="claim_key",
                                          how="semi"),
        )

    def derived(self, name: str, build: Callable[[], Any]) -> Any:
        """A table derived once per run and shared by the rules that need it."""
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]
