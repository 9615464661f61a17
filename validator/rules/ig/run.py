"""Run pyx12 over a batch and turn its errors into findings.

Unit of work: a chunk of transaction sets (see :mod:`validator.ig.build`), validated by
one pyx12 run in a worker process (``--jobs``; 1 = in this process). A transaction set
pyx12 cannot handle becomes one IG299 finding; the batch goes on.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING

import polars as pl

from .. import findings as F
from ..api import emit
from . import build, maps
from .worker import ChunkResult, die_with_parent, validate_chunk

if TYPE_CHECKING:
    from ..api import Context

log = logging.getLogger("claims_validator")

# Segments per pyx12 run when working in parallel: about four chunks per worker so that
# they even out, each big enough (~250 claims) that sending it to a worker is cheap next
# to validating it (maps are loaded once per worker process). Smaller batches stay in
# this process.
MIN_CHUNK, MAX_CHUNK, CHUNKS_PER_WORKER = 5_000, 500_000, 4
# pyx12 error levels -> the X12 acknowledgment data element whose codes pyx12 uses.
CODE_PREFIX = {"isa": "TA105", "gs": "AK905", "st": "IK502", "seg": "IK304", "ele": "IK403"}
ERROR_SCHEMA = {
    "chunk": pl.Int64, "block": pl.Int64, "line": pl.Int64, "level": pl.String,
    "code": pl.String, "text": pl.String, "value": pl.String, "pyx12_seg": pl.String,
    "ele": pl.Int64, "sub": pl.Int64, "loop": pl.String,
}
# The codes that need pyx12 to run (IG210/IG211 come from the map table alone).
PYX12_CODES = ("IG200", "IG201", "IG299")
# Segments whose values are PHI (subscriber/patient names, IDs, birth dates).
PHI_ENTITIES = ("IL", "QC")


def jobs_from(jobs: int) -> int:
    """Worker processes for ``--jobs`` (0 = one per core)."""
    return max(1, int(jobs)) if jobs else max(1, os.cpu_count() or 1)


def sets_to_validate(ctx: Context) -> pl.DataFrame | None:
    """The supported 837 transaction sets, or None when there is nothing to validate (IG
    validation is off, or no set is supported). Both engines start here."""
    if not ctx.options.ig:
        return None
    txns = ctx.transactions.filter(pl.col("supported"))
    return txns if txns.height else None


def with_maps(txns: pl.DataFrame, map_for: Callable[[str], str | None]) -> pl.DataFrame:
    """``txns`` with the guide (``map``) each set is validated against, null when none."""
    versions = txns["version"].unique().to_list()
    return txns.with_columns(map=pl.col("version").replace_strict(
        {v: map_for(v) for v in versions}, default=None, return_dtype=pl.String))


def validate(ctx: Context) -> pl.DataFrame:
    """All IG2xx findings of the batch (empty unless ``ctx.options.ig`` is true)."""
    t0 = time.perf_counter()
    txns = sets_to_validate(ctx)
    if txns is None:
        return F.empty()
    try:
        import pyx12  # noqa: F401
    except ImportError as exc:  # every transaction set is reported, the run goes on
        return _ig299(txns.with_columns(reason=pl.lit(f"pyx12 is not installed ({exc})")))
    txns = with_maps(txns, maps.map_for)
    notes = _notes(txns)
    if not any(ctx.enabled(code) for code in PYX12_CODES):
        return F.conform(notes)  # only the map notes are asked for: pyx12 need not run
    todo = txns.filter(pl.col("map").is_not_null())
    jobs = jobs_from(ctx.options.jobs)
    every = ctx.segs("*", supported=False, split=False)
    total = int(every.filter(pl.col("st_key").is_in(todo["st_key"].implode())).height)
    target = (math.inf if jobs == 1 else
              min(MAX_CHUNK, max(MIN_CHUNK, math.ceil(total / (jobs * CHUNKS_PER_WORKER)))))
    p = build.plan(ctx.segs("*", supported=False, split=False), todo, target)
    results = _execute(p.chunks, jobs)
    out = F.concat([notes, _errors(ctx, p, results), _failures(p, results), _skipped(p)])
    log.info("implementation-guide validation: %d transaction sets, %d segments, %d chunks, "
             "%d findings in %.2fs", todo.height, total, len(p.chunks), out.height,
             time.perf_counter() - t0)
    return out


def _notes(txns: pl.DataFrame) -> pl.DataFrame:
    """IG210 (no map for the guide) and IG211 (validated against another version's map)."""
    none = emit(
        txns.filter(pl.col("map").is_null()), segment_index="st_index", segment_id="ST",
        rule="IG210", found=pl.col("version"),
        message=pl.format("no implementation-guide map for this guide ({} {}; pyx12 ships "
                          "none, and the native engine is compiled from pyx12's maps): "
                          "implementation-guide validation skipped for this transaction set",
                          "transaction_type", "version"))
    other = emit(
        txns.filter(pl.col("map").is_not_null() & (pl.col("map") != pl.col("version"))),
        segment_index="st_index", segment_id="ST", rule="IG211", expected=pl.col("map"),
        found=pl.col("version"),
        message=pl.format("{} {} validated against pyx12's {} map (the closest it ships); "
                          "differences between the two versions are not checked",
                          "transaction_type", "version", "map"))
    return pl.concat([none, other], how="diagonal_relaxed")


def _execute(chunks: list[list[str]], jobs: int) -> list[ChunkResult]:
    """Validate every chunk; in this process when one worker (or one chunk) is enough."""
    workers = min(jobs, len(chunks))
    if workers <= 1:
        return [validate_chunk(c) for c in chunks]
    results: list[ChunkResult | None] = [None] * len(chunks)
    order = sorted(range(len(chunks)), key=lambda i: -sum(len(b) for b in chunks[i]))
    # spawn, not fork: the parent holds polars' thread pool, which fork would corrupt.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(validate_chunk, chunks[i]): i for i in order}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                results[i] = fut.result()
            except Exception as exc:  # a dead worker costs its chunk, not the batch
                reason = f"worker process failed: {type(exc).__name__}: {exc}"[:300]
                results[i] = ChunkResult(failed=dict.fromkeys(range(len(chunks[i])), reason))
            log.debug("IG chunk %d: %d blocks in %.2fs", i, len(chunks[i]), results[i].seconds)
    return [r or ChunkResult() for r in results]


def _errors(ctx: Context, p: build.Plan, results: list[ChunkResult]) -> pl.DataFrame:
    rows = [(c, *row) for c, r in enumerate(results) for row in r.errors]
    if not rows:
        return F.empty()
    err = pl.DataFrame(rows, schema=ERROR_SCHEMA, orient="row")
    df = err.join(p.meta, on=["chunk", "block"], how="inner")
    line, level = pl.col("line"), pl.col("level")
    in_txn = (line >= 3) & (line <= pl.col("n").cast(pl.Int64) + 2)
    df = df.with_columns(
        segment_index=pl.when(level == "isa").then(pl.col("isa_index"))
        .when(level == "gs").then(pl.col("gs_index"))
        .when(line == 1).then(pl.col("isa_index"))
        .when(line == 2).then(pl.col("gs_index"))
        .when(in_txn).then((pl.col("st_index").cast(pl.Int64) + line - 3).cast(pl.UInt32))
        # on the synthetic GE/IEA (e.g. "SE missing"): the transaction set's last segment
        .otherwise(pl.col("st_index") + pl.col("n") - 1),
        # Interchange- and group-level errors belong to no single transaction set.
        st_key=pl.when(level.is_in(["isa", "gs"])).then(None).otherwise(pl.col("st_key")),
    )
    segs = ctx.segs("*", supported=False, split=False).select(
        "file_id", segment_index="seg_index", segment_id="seg_id", claim_key="clm_key",
        _phi=pl.col("nm1").is_in(PHI_ENTITIES).fill_null(False) | (pl.col("seg_id") == "DMG"))
    df = df.join(segs, on=["file_id", "segment_index"], how="left").with_columns(
        segment_id=pl.coalesce("segment_id", "pyx12_seg"),
        # a claim's own error only when pyx12 saw it on one of the file's own segments
        claim_key=pl.when(level.is_in(["seg", "ele"]) & in_txn).then(pl.col("claim_key")),
    )
    element = pl.when(pl.col("ele").is_not_null()).then(pl.concat_str(
        pl.col("segment_id"), pl.col("ele").cast(pl.String).str.zfill(2),
        pl.when(pl.col("sub").is_not_null()).then(pl.lit("-") + pl.col("sub").cast(pl.String))
        .otherwise(pl.lit(""))))
    df = df.with_columns(element=element)
    # Findings reach every output (CSV, Parquet, JUnit, logs) and never carry PHI, also
    # with --show-phi (which unmasks the HTML report's claim panels only).
    df = _mask_phi(df).with_columns(text=_mask_quoted(pl.col("text")))
    prefix = level.replace_strict(CODE_PREFIX, default="?")
    out = emit(
        df, segment_id=pl.col("segment_id"), element=pl.col("element"), loop=pl.col("loop"),
        rule=pl.when(level.is_in(["seg", "ele"])).then(pl.lit("IG200")).otherwise(pl.lit("IG201")),
        ig_code=pl.concat_str(prefix, pl.lit("-"), pl.col("code")),
        message=pl.concat_str(
            pl.when(pl.col("loop").is_not_null() & level.is_in(["seg", "ele"]))
            .then(pl.lit("loop ") + pl.col("loop") + pl.lit(": ")).otherwise(pl.lit("")),
            pl.col("text").str.replace_all(r"\s+", " ").str.strip_chars()),
        found=pl.col("value"),
    )
    return out.unique(maintain_order=True)


def _mask_phi(df: pl.DataFrame) -> pl.DataFrame:
    """Mask values of PHI segments (names, member IDs, birth dates) in pyx12's text and
    in ``found``: ``***`` plus, for a member ID (NM109), its last 4 characters."""
    value = pl.col("value")
    hide = pl.col("_phi").fill_null(False) & value.is_not_null() & (value != "")
    df = df.with_columns(_hide=hide, _masked=pl.when(pl.col("element") == "NM109")
                         .then(pl.lit("***") + value.str.slice(-4)).otherwise(pl.lit("***")))
    # pyx12 quotes the value inside its text; polars cannot replace a per-row pattern, and
    # only the (few) PHI error rows need it, so those few strings are edited in Python.
    phi = df.filter("_hide")
    texts = [t.replace(v, m) for t, v, m in phi.select("text", "value", "_masked").iter_rows()]
    phi = phi.with_columns(text=pl.Series(texts, dtype=pl.String), value=pl.col("_masked"))
    return pl.concat([df.filter(~pl.col("_hide")), phi]).drop("_hide", "_masked")


def _mask_quoted(text: pl.Expr) -> pl.Expr:
    """Cut the segment text pyx12 quotes in "not found", "is empty" and "is invalid"
    messages. A segment with a wrong separator is quoted whole (names, member IDs and birth
    dates included), and "Segment N3*<street> not found" quotes an address: only the ID and
    short codes (qualifiers) stay."""
    keep = r"Segment (HL\*\S*|[A-Z][A-Z0-9]{1,2}\*(None|\S{1,3})) not found"
    out = (pl.when(text.str.contains(keep)).then(text)
           .when(text.str.contains(r"Segment [A-Z][A-Z0-9]{1,2}\*"))
           .then(text.str.replace(r"Segment ([A-Z][A-Z0-9]{1,2}\*).*? not found",
                                  "Segment ${1}… not found"))
           .otherwise(text.str.replace(r"Segment (\S{1,4}).*? not found",
                                       "Segment ${1}… not found")))
    out = out.str.replace(r'Segment identifier "([^"]{4})[^"]+" is invalid',
                          'Segment identifier "${1}…" is invalid')
    return out.str.replace(r'Segment "([^"]{4})[^"]{5,}" is empty', 'Segment "${1}…" is empty')


def _failures(p: build.Plan, results: list[ChunkResult]) -> pl.DataFrame:
    rows = [(c, b, reason) for c, r in enumerate(results) for b, reason in r.failed.items()]
    if not rows:
        return F.empty()
    df = pl.DataFrame(rows, schema={"chunk": pl.Int64, "block": pl.Int64, "reason": pl.String},
                      orient="row").join(p.meta, on=["chunk", "block"], how="inner")
    return _ig299(df)


def _skipped(p: build.Plan) -> pl.DataFrame:
    return _ig299(p.skipped) if p.skipped.height else F.empty()


def _ig299(df: pl.DataFrame) -> pl.DataFrame:
    return emit(
        df, segment_index="st_index", segment_id="ST", rule="IG299",
        message=pl.lit("implementation-guide validator failed on this transaction set: ")
        + pl.col("reason"))
