"""Running rules: which run (the plan), each one contained, their findings finished.

One broken check never costs the run its output: it becomes ``INT001`` findings and the
run exits 2 after writing its reports.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import UsageError
from ..model import chunking
from ..model.batch import Batch
from ..rules import findings as F
from ..rules.api import ANY_SEGMENT, Context, Rule, RunOptions
from ..rules.registry import Registry, matches
from ..ruleset.model import Ruleset
from ..severity import RANK
from ..x12.cut import Piece
from ..x12.spans_stream import LOOKBACK, PREFIX, locate_wanted
from .read import build_tables, read_segments

log = logging.getLogger("claims_validator")

# Rule families that read only the segments and transaction sets (never the claims or
# lines tables): they can run while the tables are being built.
SEGMENT_FAMILIES = ("envelope", "file")
# Rule families that read the whole unsplit segments table and nothing the other rules
# derive (the implementation-guide engines): they run last, once the split segments and
# the tables the other rules derived are freed, so that their working memory does not come
# on top of those (the run's peak).
LAST_FAMILIES = ("ig",)
_RULE_THREADS = max(2, min(4, os.cpu_count() or 1))  # more threads than cores: more memory, no speed
FAILED = "INT001"  # the finding of a check that stopped with an internal error

Results = dict[str, pl.DataFrame | None]  # rule code -> its findings (None: nothing found)


@dataclass
class Selection:
    """Which rules run and at what severity (ruleset settings, then the command line)."""

    select: list[str] = field(default_factory=lambda: ["ALL"])
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, ruleset: Ruleset, select: Sequence[str] = (), ignore: Sequence[str] = (),
              ) -> Selection:
        return cls(
            select=list(select) or list(ruleset.select),
            ignore=list(ruleset.ignore) + list(ignore),
            severity=dict(ruleset.severity),
        )

    def enabled(self, code: str) -> bool:
        return matches(code, self.select) and not matches(code, self.ignore)


@dataclass(frozen=True)
class Plan:
    """What one run does: the enabled rules (registry order), the ruleset, the options."""

    registry: Registry
    ruleset: Ruleset
    selection: Selection
    options: RunOptions
    rules: tuple[Rule, ...]

    @classmethod
    def build(cls, registry: Registry, ruleset: Ruleset, selection: Selection,
              options: RunOptions) -> Plan:
        rules = tuple(r for r in registry.checks() if any(selection.enabled(c) for c in r.codes))
        return cls(registry, ruleset, selection, options, rules)

    @property
    def retained(self) -> tuple[str, ...]:
        """Segment IDs the rules that run after the claim tables read: kept split."""
        return self.registry.reads(r for r in self.rules
                                   if r.family not in SEGMENT_FAMILIES + LAST_FAMILIES)

    def context(self, batch) -> Context:
        return Context(batch, self.ruleset, self.options, self.selection.enabled)


def run_rule(ctx: Context, r: Rule) -> pl.DataFrame | None:
    """One rule's findings (``rule`` filled in), or None when it found nothing."""
    t0 = time.perf_counter()
    try:
        out = r.check(ctx.for_rule(r))  # type: ignore[misc]
    except UsageError:  # bad input of the user's (e.g. a broken roster): the run stops
        raise
    except Exception as exc:  # one broken check must not cost the whole run its output
        return failed(ctx, r.code, exc)
    if out is not None and out.height:
        if "rule" not in out.columns:
            out = out.with_columns(rule=pl.lit(r.code))
        else:
            out = out.with_columns(pl.col("rule").fill_null(r.code))
        out = _with_message(out, r)
    log.debug("rule %s: %d findings in %.3fs", r.code, 0 if out is None else out.height,
              time.perf_counter() - t0)
    return out if out is not None and out.height else None


NO_DETAIL = "(a value this check quotes is missing from the segment)"


def _with_message(out: pl.DataFrame, r: Rule) -> pl.DataFrame:
    """Every finding has a message (the JSON contract): a check whose message quoted a
    missing value gets its rule's title instead, and the gap is logged (a bug to fix)."""
    msg = pl.col("message") if "message" in out.columns else pl.lit(None, pl.String)
    blank = msg.is_null() | (msg.str.strip_chars() == "")
    if not out.select(blank.any()).item():
        return out
    log.debug("rule %s produced findings without a message", r.code)
    return out.with_columns(message=pl.when(blank).then(pl.lit(f"{r.title} {NO_DETAIL}"))
                            .otherwise(msg))


def failed(ctx: Context, code: str, exc: Exception, what: str = "rule") -> pl.DataFrame:
    """One ``INT001`` finding per parsed file for rule (or annotator) ``code``, which
    raised ``exc``."""
    why = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    log.error("%s %s failed (%s); its checks did not run (-vv shows the traceback)", what,
              code, why)
    log.debug("traceback of %s %s", what, code, exc_info=True)
    files = ctx.batch.files.filter(pl.col("status") == "parsed").get_column("file_id")
    if not files.len():  # still reported (and still exit code 2) when no file was parsed
        files = pl.Series("file_id", [None], pl.UInt32)
    return pl.DataFrame({"file_id": files}).with_columns(
        rule=pl.lit(FAILED),
        message=pl.lit(f"{what} {code} failed ({why}); its checks did not run on this file"))


def failed_rules(results: Results) -> list[str]:
    """The rules whose check raised (their result is ``INT001`` findings, in any chunk)."""
    return [code for code, f in results.items()
            if f is not None and f.height and (f.get_column("rule") == FAILED).any()]


def collect(plan: Plan, ctx: Context, results: Results,
            faults: Mapping[str, pl.DataFrame] | None = None) -> pl.DataFrame:
    """Loader findings, the rules' results (registry order) and annotator faults, finished."""
    frames = [ctx.batch.load_findings, *(results.get(r.code) for r in plan.rules)]
    frames += list((faults or {}).values())
    return finish(plan, F.concat([f for f in frames if f is not None]))


def run_rules(plan: Plan, ctx: Context) -> pl.DataFrame:
    """Run every enabled rule on one context and return the finished findings table.

    Rules run on a small thread pool: polars releases the GIL while it computes, so one
    rule's Python overhead overlaps another's column work. Results are collected in
    registry order, so the output does not depend on the scheduling.
    """
    with ThreadPoolExecutor(max_workers=_RULE_THREADS) as pool:
        found = dict(zip([r.code for r in plan.rules],
                         pool.map(lambda r: run_rule(ctx, r), plan.rules), strict=True))
    return collect(plan, ctx, found)


# The findings' order: by file, segment (a file's own findings first) and rule, and in
# the order the rules gave them (see engine.finding_store for a run in units).
ORDER = ("file_id", "segment_index", "rule")


def finish(plan: Plan, found: pl.DataFrame, sort: bool = True) -> pl.DataFrame:
    """Drop disabled codes, apply registry severities/overrides and SNIP levels, sort
    (unless not ``sort``)."""
    rules, sel = plan.registry.rules, plan.selection
    meta = pl.DataFrame(
        {
            "rule": list(rules),
            "_sev": [sel.severity.get(c, r.severity) for c, r in rules.items()],
            "_snip": [r.snip_level for r in rules.values()],
        },
        schema={"rule": pl.String, "_sev": pl.String, "_snip": pl.Int8},
    )
    enabled = [c for c in rules if sel.enabled(c)]
    found = found.filter(pl.col("rule").is_in(enabled))
    found = found.join(meta, on="rule", how="left", maintain_order="left").with_columns(
        severity=pl.coalesce("severity", "_sev"),
        snip_level=pl.coalesce("snip_level", "_snip"),
    ).drop("_sev", "_snip")
    return found.sort(ORDER, nulls_last=False, maintain_order=True) if sort else found


STATUS_ROWS = 1 << 19  # claims given their status at a time


def claim_status(claims: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """Each claim's worst severity over its own findings and those of its transaction
    set and file (an envelope error rejects every claim inside)."""
    rank = pl.col("severity").replace_strict(RANK, return_dtype=pl.Int8)
    f = found.with_columns(_r=rank)
    own = f.filter(pl.col("claim_key").is_not_null()).group_by("claim_key").agg(
        _own=pl.col("_r").max())
    txn = f.filter(pl.col("claim_key").is_null() & pl.col("st_key").is_not_null()).group_by(
        "st_key").agg(_txn=pl.col("_r").max())
    fil = f.filter(pl.col("claim_key").is_null() & pl.col("st_key").is_null()).group_by(
        "file_id").agg(_file=pl.col("_r").max())
    worst = pl.max_horizontal("_own", "_txn", "_file")
    status = (pl.when(worst == 2).then(pl.lit("error"))
              .when(worst == 1).then(pl.lit("warning")).otherwise(pl.lit("pass")))
    # (joined on the keys alone, the claims table is not copied; a slice of claims at a
    # time, the joins' columns are not held for every claim at once)
    parts = [claims.slice(at, STATUS_ROWS).select("claim_key", "st_key", "file_id")
             .join(own, on="claim_key", how="left", maintain_order="left")
             .join(txn, on="st_key", how="left", maintain_order="left")
             .join(fil, on="file_id", how="left", maintain_order="left")
             .select(status=status).to_series() for at in range(0, claims.height, STATUS_ROWS)]
    return claims.with_columns(pl.concat(parts) if parts else pl.Series("status", [], pl.String))


@dataclass
class Part:
    """One pass over some files: its context, rule results (by code, one entry per
    enabled rule), the annotators' per-claim columns and the INT001 findings of those
    that failed (both by annotator name)."""

    ctx: Context
    results: Results
    annotations: dict[str, pl.DataFrame]
    faults: dict[str, pl.DataFrame]
    counts: dict[str, int]  # segments per ID that keys count (see chunking.Offsets)
    # file_id -> (the segments asked for, their spans being located; see locate_early)
    located: dict[int, tuple[np.ndarray, Future]] = field(default_factory=dict)


def check_part(plan: Plan, paths: Sequence[Path | Piece], first_id: int, batch_rules: bool,
               exclude: Collection[str] = (), locate: bool = False) -> Part:
    """Read ``paths`` (file IDs from ``first_id``) and run the rules on them; ``batch``
    rules only with ``batch_rules``, none of the rules coded in ``exclude`` (their entries
    are None otherwise).

    The envelope and file rules need only the segments: they start as soon as the
    segments are read, while the claims and lines tables are built; the other rules
    follow on the same pool.
    """
    t0 = time.perf_counter()
    head = read_segments(paths, first_id)
    counts = chunking.key_counts(head.split_segments())
    run = [r for r in plan.rules if (batch_rules or not r.batch) and r.code not in exclude]
    with ThreadPoolExecutor(max_workers=_RULE_THREADS) as pool:
        early = plan.context(head)
        pending = {r.code: pool.submit(run_rule, early, r) for r in run
                   if r.family in SEGMENT_FAMILIES}
        batch = build_tables(head, plan.retained)
        n, c = batch.files.height, batch.claims.height
        log.info("read %d file%s, %d claim%s in %.2fs", n, "" if n == 1 else "s", c,
                 "" if c == 1 else "s", time.perf_counter() - t0)
        ctx = plan.context(batch)
        rest = [r for r in run if r.code not in pending and r.family not in LAST_FAMILIES]
        done = _Countdown(ctx, rest)
        for r in rest:
            pending[r.code] = pool.submit(run_rule, ctx, r)
            pending[r.code].add_done_callback(lambda _f, r=r: done(r))
        results = {code: p.result() for code, p in pending.items()}
        notes = annotate(plan, ctx)
        last = [r for r in run if r.family in LAST_FAMILIES]
        located = locate_early(batch, results) if locate and last else {}
        if last:
            ctx = release(ctx)
            results.update(zip([r.code for r in last],
                               pool.map(lambda r: run_rule(ctx, r), last), strict=True))
    return Part(ctx, {r.code: results.get(r.code) for r in plan.rules}, *notes, counts,
                located)


_LOCATOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="locate")


def locate_early(batch: Batch, results: Results) -> dict[int, tuple[np.ndarray, Future]]:
    """Start locating the segments that have findings so far (file positions, text; see
    validator.output.locations) on a thread of its own, while the last rules run: a file
    whose last findings fall on segments located here is not read again for its report.
    Only whole files (not pieces), whose segment positions are the file's."""
    frames = [f.select("file_id", "segment_index") for f in results.values()
              if f is not None and f.height]
    if not frames:
        return {}
    return {file_id: (seg, _LOCATOR.submit(locate_wanted, path, seg, LOOKBACK, PREFIX))
            for file_id, path, seg in segments_by_file(pl.concat(frames), batch.files)}


def segments_by_file(findings: pl.DataFrame, files: pl.DataFrame,
                     ) -> list[tuple[int, str, np.ndarray]]:
    """``(file_id, path, segment indexes)`` of every parsed file of ``files`` that
    ``findings`` name segments of: the distinct indexes, sorted (int64)."""
    wanted = (findings.select("file_id", "segment_index").drop_nulls().unique()
              .sort("file_id", "segment_index"))
    paths = dict(files.filter(pl.col("status") == "parsed").select("file_id", "path")
                 .iter_rows())
    return [(file_id, paths[file_id], group["segment_index"].to_numpy().astype(np.int64))
            for (file_id,), group in wanted.group_by("file_id", maintain_order=True)
            if file_id in paths]


class _Countdown:
    """Frees a segment ID's split rows (and the tables derived from them) as soon as the
    last of the rules that read it has finished, rather than at the end of the run."""

    def __init__(self, ctx: Context, rules: Sequence[Rule]) -> None:
        self.ctx = ctx
        self.left = Counter(s for r in rules for s in set(r.reads) if s != ANY_SEGMENT)
        self.lock = threading.Lock()

    def __call__(self, r: Rule) -> None:
        with self.lock:
            gone = set()
            for s in set(r.reads) - {ANY_SEGMENT}:
                self.left[s] -= 1
                if self.left[s] == 0:
                    gone.add(s)
        if gone and self.ctx.batch.split is not None:
            self.ctx.batch.split.drop(gone)
            self.ctx.forget_split(gone)


def release(ctx: Context) -> Context:
    """``ctx`` without what only the rules that already ran needed: the segments split
    into elements and the tables derived from them (a fresh cache; the batch's tables stay)."""
    if ctx.batch.split is not None:
        ctx.batch.split.retain(())
    return ctx.fresh()


def annotate(plan: Plan, ctx: Context) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """Each annotator's per-claim columns; one that raises gives INT001 findings instead,
    as a rule would (its columns are then missing: null in the outputs)."""
    notes: dict[str, pl.DataFrame] = {}
    faults: dict[str, pl.DataFrame] = {}
    for a in plan.registry.annotators:
        try:
            notes[a.name] = a(ctx)
        except UsageError:
            raise
        except Exception as exc:
            faults[a.name] = failed(ctx, a.name, exc, what="annotator")
    return notes, faults


def log_failure(what: str, exc: Exception) -> None:
    log.error("%s could not be read (%s: %s); reading it again file by file", what,
              type(exc).__name__, str(exc).splitlines()[0][:300] if str(exc) else "")
    log.debug("traceback of the failure", exc_info=True)  # shown with -vv only
