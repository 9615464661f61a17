"""A run's result: what the outputs render."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from ..model.batch import Batch
from ..rules import findings as F
from ..rules.api import RunOptions
from ..rules.registry import Registry
from ..ruleset.model import Ruleset

if TYPE_CHECKING:
    from .run import Selection


@dataclass
class Result:
    batch: Batch
    findings: pl.DataFrame
    claims: pl.DataFrame  # batch claims plus ``status`` (and annotator columns)
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

    def worst(self) -> int:
        """Highest severity rank present (-1 when there are no findings)."""
        return F.worst(self.findings)
