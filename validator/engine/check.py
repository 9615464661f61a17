"""``check``: read the inputs, run the plan's rules, return the result."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError
from ..rules.api import RunOptions
from ..rules.registry import Registry, discover
from ..ruleset.model import Ruleset
from .result import Result
from .run import Plan, Selection, check_part, claim_status, collect, failed_rules, log_failure
from .units import Merged, check_units, plan_units, with_note

log = logging.getLogger("claims_validator")


def check(paths: Sequence[Path], ruleset: Ruleset, selection: Selection,
          options: RunOptions | None = None, inputs: Sequence[str] = (),
          registry: Registry | None = None) -> Result:
    """Read ``paths``, run the rules and return the result.

    Inputs larger than ``options.chunk_bytes`` are read and checked a unit at a time (a run
    of whole files, or a piece of a larger file), so that memory follows the chunk; with
    ``options.executor == "dask"`` the units are checked on a Dask cluster. The result is
    the same as that of a single pass. Should reading fail for a whole batch or run of
    files, it is read again file by file (see :mod:`validator.engine.units`).
    """
    started = time.time()
    t0 = time.perf_counter()
    options = options or RunOptions()
    plan = Plan.build(registry or discover(), ruleset, selection, options)
    if options.executor == "dask":
        from .distributed import cluster

        with cluster(options.scheduler, options.jobs) as c:
            units = plan_units(paths, c.unit_bytes(paths, options.chunk_bytes))
            log.info("dask: %d work units", len(units))
            m = check_units(plan, units, c.run)
    else:
        m = _check_here(plan, paths, options.chunk_bytes)
    ctx, results, m.results = m.ctx, m.results, {}
    if m.findings is not None:  # in units: the findings are on disk, finished
        failed = [*m.failed, *m.faults]
        found = None
        claims = claim_status(ctx.batch.claims, m.findings.keys(
            ["claim_key", "st_key", "file_id", "severity"]))
    else:
        failed = [*failed_rules(results), *m.faults]
        found = collect(plan, ctx, results, m.faults)
        claims = claim_status(ctx.batch.claims, found)
    del results  # (the rules' own tables: the findings are one table now)
    for extra in m.notes.values():
        claims = with_note(claims, extra)
    return Result(ctx.batch, found, claims, ruleset, list(inputs), started,
                  time.perf_counter() - t0, failed, plan.registry, options, selection,
                  m.located, m.store, m.findings, m.state_keys)


def _check_here(plan: Plan, paths: Sequence[Path], chunk_bytes: int) -> Merged:
    """In this process: one pass when the inputs fit in a chunk, else unit by unit."""
    units = plan_units(paths, chunk_bytes)
    if len(units) == 1 and units[0].piece is None:
        try:
            single = check_part(plan, units[0].paths, 0, batch_rules=True, locate=True)
            return Merged(single.ctx, single.results, single.faults, None, single.annotations,
                          single.located)
        except UsageError:
            raise
        except Exception as exc:  # a reader bug must not stop the batch: file by file
            log_failure("the batch", exc)
            units = units[0].singles()
    return check_units(plan, units)
