"""``check``: read the inputs, run the plan's rules, return the result."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError
from ..model import chunking
from ..rules.api import RunOptions
from ..rules.registry import Registry, discover
from ..ruleset.model import Ruleset
from .chunks import check_chunks
from .result import Result
from .run import Plan, Selection, check_part, claim_status, collect, failed_rules, log_failure

log = logging.getLogger("claims_validator")


def check(paths: Sequence[Path], ruleset: Ruleset, selection: Selection,
          options: RunOptions | None = None, inputs: Sequence[str] = (),
          registry: Registry | None = None) -> Result:
    """Read ``paths``, run the rules and return the result.

    Inputs larger than ``options.chunk_bytes`` are read and checked a chunk of whole files
    at a time, so that memory follows the chunk; the result is the same as that of a
    single pass. Should reading fail for a whole batch or chunk, it is read again file by
    file (see :func:`~validator.engine.chunks.check_chunks`).
    """
    started = time.time()
    t0 = time.perf_counter()
    options = options or RunOptions()
    plan = Plan.build(registry or discover(), ruleset, selection, options)
    chunks = chunking.plan(paths, options.chunk_bytes)
    single = None
    if len(chunks) == 1:
        try:
            single = check_part(plan, chunks[0][1], 0, batch_rules=True)
        except UsageError:
            raise
        except Exception as exc:  # a reader bug must not stop the batch: file by file
            log_failure("the batch", exc)
            chunks = [(i, [p]) for i, p in enumerate(paths)]
    if single is not None:
        ctx, results, notes, faults = (single.ctx, single.results, single.annotations,
                                       single.faults)
    else:
        ctx, results, notes, faults = check_chunks(plan, chunks)
    found = collect(plan, ctx, results, faults)
    claims = claim_status(ctx.batch.claims, found)
    for extra in notes.values():
        claims = claims.join(extra, on="claim_key", how="left", maintain_order="left")
    return Result(ctx.batch, found, claims, ruleset, list(inputs), started,
                  time.perf_counter() - t0, [*failed_rules(results), *faults],
                  plan.registry, options, selection)
