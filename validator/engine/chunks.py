"""Checking a large batch a chunk of whole files at a time (see validator.model.chunking),
then the batch-wide rules once over the merged tables."""

from __future__ import annotations

import collections
import logging
from dataclasses import replace
from pathlib import Path

import polars as pl

from ..errors import UsageError
from ..model import chunking
from ..model.batch import Batch
from ..rules import findings as F
from ..rules.api import Context
from .read import failed_file
from .run import Plan, Results, check_part, log_failure, run_rule

log = logging.getLogger("claims_validator")


def check_chunks(plan: Plan, chunks: list[tuple[int, list[Path]]],
                 ) -> tuple[Context, Results, dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """:func:`~validator.engine.run.check_part` chunk by chunk, keeping only tables and findings (keys shifted
    to the batch's numbering), then the batch rules over the merged tables.

    A chunk that fails as a whole is read again file by file; a file that fails on its own
    becomes unreadable (FILE001) and the batch goes on without it.
    """
    offsets = chunking.Offsets()
    batches: list[Batch] = []
    results: list[Results] = []  # per chunk
    notes: dict[str, list[pl.DataFrame]] = {}  # per annotator, per chunk
    faults: dict[str, list[pl.DataFrame]] = {}
    todo = collections.deque(chunks)
    n = 0
    while todo:
        first_id, chunk = todo.popleft()
        n += 1
        log.info("chunk %d of %d: %d files", n, n + len(todo), len(chunk))
        try:
            part = check_part(plan, chunk, first_id, batch_rules=False)
        except UsageError:
            raise
        except Exception as exc:
            if len(chunk) > 1:
                log_failure(f"a chunk of {len(chunk)} files", exc)
                todo.extendleft(reversed([(first_id + k, [p]) for k, p in enumerate(chunk)]))
            else:
                batches.append(failed_file(first_id, chunk[0], exc))
                results.append({})
            continue
        b = part.ctx.batch
        batches.append(replace(
            b, segments=b.segments.clear(), split=None,  # the chunk's segments go
            transactions=offsets.shift(b.transactions), claims=offsets.shift(b.claims),
            lines=offsets.shift(b.lines)))
        results.append({code: None if f is None else offsets.shift(f)
                        for code, f in part.results.items()})
        for name, a in part.annotations.items():
            notes.setdefault(name, []).append(offsets.shift(a))
        for name, f in part.faults.items():
            faults.setdefault(name, []).append(f)
        offsets.advance(part.counts)
        del part, b
    merged = Batch(
        files=pl.concat([b.files for b in batches], how="vertical_relaxed"),
        segments=batches[0].segments,
        transactions=pl.concat([b.transactions for b in batches], how="vertical_relaxed"),
        claims=pl.concat([b.claims for b in batches], how="vertical_relaxed"),
        lines=pl.concat([b.lines for b in batches], how="vertical_relaxed"),
        load_findings=F.concat([b.load_findings for b in batches]),
    )
    ctx = plan.context(merged)
    found: Results = {}
    for r in plan.rules:
        if r.batch:
            found[r.code] = run_rule(ctx, r)
        else:
            parts = [f for chunk in results if (f := chunk.get(r.code)) is not None]
            found[r.code] = F.concat(parts) if parts else None
    return (ctx, found, {k: pl.concat(v, how="vertical_relaxed") for k, v in notes.items()},
            {k: F.concat(v) for k, v in faults.items()})
