"""The pipeline: inputs -> segments -> claim tables -> rules -> findings -> result.

One broken file never stops a batch: whatever goes wrong while reading a file becomes a
file-level finding and the run moves on.
"""

from __future__ import annotations

import collections
import contextlib
import fnmatch
import glob
import itertools
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from . import chunking
from . import findings as F
from .context import Batch, Context
from .model import tables
from .rules.generic._common import SCANNED as RULE_SEGMENTS
from .rules.registry import ANNOTATORS, REGISTRY, load_all, matches
from .ruleset import Ruleset
from .x12.load import LoadedFile, LoadError, load
from .x12.segments import SplitSegments, annotate, tokenize, tokenize_files

log = logging.getLogger("claims_validator")

# Files a folder scan passes over (documentation and manifests living beside EDI files).
DEFAULT_EXCLUDES = ("README*", "LICENSE*", "*.md", "*.tsv", "*.csv", "*.parquet", "*.license", ".*")


class UsageError(Exception):
    """Bad arguments or input the user must fix, such as a broken roster (exit code 2)."""


def collect_inputs(paths: Sequence[str], excludes: Iterable[str] = DEFAULT_EXCLUDES) -> list[Path]:
    """Expand files, folders (recursively) and globs into a sorted list of files.

    Files named explicitly are always read; files found by a folder scan or a glob skip
    ``excludes``; a folder a glob matches is scanned like a folder argument. A file reached
    twice (another spelling, a symlink) is read once, under its first name. A path that
    does not exist, or an empty one, is a usage error; a glob pattern that matches nothing
    only gives a warning (an empty inbox).
    """
    excludes = tuple(excludes)
    out: dict[str, Path] = {}  # real path -> first spelling

    def excluded(p: Path) -> bool:
        return any(fnmatch.fnmatch(p.name, pat) for pat in excludes)

    def add(p: Path) -> None:
        out.setdefault(os.path.realpath(p), p)

    def scan(folder: Path) -> None:
        for q in sorted(folder.rglob("*")):
            if q.is_file() and not excluded(q) and not any(
                part.startswith(".") for part in q.relative_to(folder).parts
            ):
                add(q)

    for arg in paths:
        if not arg.strip():  # Path("") is the current folder: never what was meant
            raise UsageError("empty path argument")
        p = Path(arg)
        if p.is_file():
            add(p)
        elif p.is_dir():
            scan(p)
        else:
            hits = [Path(h) for h in sorted(glob.glob(arg, recursive=True))]
            hits = [h for h in hits if h.is_dir() or (h.is_file() and not excluded(h))]
            if not hits and not _searchable(arg):  # a path that is not there: a typo
                raise UsageError(f"no such file, folder or glob match: {arg}")
            if not hits:  # a pattern with no match in its folder: an empty inbox
                log.warning("no file matches %s", arg)
            for h in hits:
                scan(h) if h.is_dir() else add(h)
    return list(out.values())


def _searchable(pattern: str) -> bool:
    """A glob pattern whose folder (its leading parts without wildcards) exists: no match
    there is an empty inbox, not a typo."""
    if not glob.has_magic(pattern):
        return False
    lead = list(itertools.takewhile(lambda q: not glob.has_magic(q), Path(pattern).parts))
    return Path(*lead).is_dir() if lead else True


def read_batch(paths: Sequence[Path]) -> Batch:
    """Read every file; unreadable ones become rows with ``status = unreadable``."""
    return build_tables(read_segments(paths))


# Files are tokenised in groups of about this many bytes (see tokenize_files): a folder of
# small files costs two passes of the CSV reader per group, not per file. (32 MB groups were
# 1% faster on 200 files of 500 claims, and peaked 50 MB higher.)
GROUP_BYTES = 16 << 20

# Findings raised while reading (before any rule runs): which file, which rule, why.
_LOAD_SCHEMA = {"file_id": pl.UInt32, "rule": pl.String, "message": pl.String}


def _read_error(exc: Exception) -> str:
    """The FILE001 message of a file whose reading failed with an internal error."""
    return f"internal error while reading the file: {type(exc).__name__}: {exc}"


def read_segments(paths: Sequence[Path], first_id: int = 0) -> Batch:
    """The first half of :func:`read_batch`: files, annotated segments and transaction sets.
    ``claims`` and ``lines`` stay ``None`` until :func:`build_tables`. File IDs count from
    ``first_id`` (a chunk of a larger batch)."""
    files = [{"file_id": i, "path": str(p), "status": "parsed", "error": None}
             for i, p in enumerate(paths, first_id)]
    parts: list[pl.DataFrame] = []
    load_findings: list[dict[str, Any]] = []
    group: list[tuple[int, LoadedFile]] = []
    grouped = 0  # bytes held in ``group``

    def unreadable(file_id: int, code: str, message: str) -> None:
        files[file_id - first_id].update(status="unreadable", error=message)
        load_findings.append({"file_id": file_id, "rule": code, "message": message})

    def internal(file_id: int, exc: Exception) -> None:  # a reader bug must not stop the batch
        msg = _read_error(exc)
        log.error("%s: %s", paths[file_id - first_id], msg)
        log.debug("traceback of the reader error", exc_info=True)  # shown with -vv only
        unreadable(file_id, "FILE001", msg)

    def flush() -> None:
        nonlocal grouped
        if not group:
            return
        try:
            parts.append(tokenize_files(group))
        except Exception:  # file by file, so that only the file at fault is lost
            for file_id, loaded in group:
                try:
                    parts.append(tokenize(loaded, file_id))
                except Exception as exc:
                    internal(file_id, exc)
        group.clear()  # the files' bytes: the segments table holds what is needed
        grouped = 0

    for file_id, path in enumerate(paths, first_id):
        try:
            loaded = load(path, str(path))
        except LoadError as exc:
            unreadable(file_id, exc.code, exc.message)
            log.warning("%s: %s", path, exc.message)
            continue
        except Exception as exc:
            internal(file_id, exc)
            continue
        for code, message in loaded.notes:
            load_findings.append({"file_id": file_id, "rule": code, "message": message})
        if grouped + len(loaded.data) > GROUP_BYTES:
            flush()
        group.append((file_id, loaded))
        grouped += len(loaded.data)
        del loaded
    flush()
    files_df = pl.DataFrame(
        files, schema={"file_id": pl.UInt32, "path": pl.String, "status": pl.String,
                       "error": pl.String},
    )
    if parts:
        segs = annotate(pl.concat(parts))
    else:
        segs = annotate(pl.DataFrame(schema={"file_id": pl.UInt32, "seg_index": pl.UInt32,
                                             "seg_id": pl.String, "raw": pl.String}))
    lf = pl.DataFrame(load_findings, schema=_LOAD_SCHEMA) if load_findings else F.empty()
    split = SplitSegments(segs)
    isa = split.rows(["ISA"]).group_by("file_id").agg(interchanges=pl.len().cast(pl.Int64))
    files_df = files_df.join(isa, on="file_id", how="left", maintain_order="left").with_columns(
        pl.col("interchanges").fill_null(0))
    return Batch(files_df, segs, tables.transactions(segs, split), None, None,  # type: ignore[arg-type]
                 F.conform(lf), split)


def build_tables(batch: Batch) -> Batch:
    """The second half of :func:`read_batch`: the claims and lines tables.

    Should building them fail, they are built again one file at a time: a file whose tables
    cannot be built becomes unreadable (FILE001) and the batch goes on without it.
    """
    try:
        return _tables(batch)
    except Exception:  # a reader bug must not stop the batch
        log.debug("traceback of the claim-table error", exc_info=True)  # shown with -vv only
        return _tables_file_by_file(batch)


def _tables_file_by_file(batch: Batch) -> Batch:
    segs = batch.segments
    by_file = segs.partition_by("file_id", as_dict=True, maintain_order=True)
    built: list[Batch] = []
    failed: dict[int, str] = {}
    for (file_id,), sub in by_file.items():
        txns = batch.transactions.filter(pl.col("file_id") == file_id)
        try:
            built.append(_tables(replace(batch, segments=sub, transactions=txns,
                                         split=SplitSegments(sub))))
        except Exception as exc:
            failed[int(file_id)] = (f"internal error while building the claim tables: "
                                    f"{type(exc).__name__}: {exc}")
            log.error("%s: %s", batch.files["path"][int(file_id)], failed[int(file_id)])
    gone = pl.col("file_id").is_in(list(failed))
    segs = segs.filter(~gone)
    if not built:  # every file failed: empty tables of the usual shape
        built.append(_tables(replace(batch, segments=segs, transactions=batch.transactions.clear(),
                                     split=SplitSegments(segs))))
    reason = pl.col("file_id").replace_strict(failed, default=None, return_dtype=pl.String)
    files = batch.files.with_columns(
        status=pl.when(reason.is_not_null()).then(pl.lit("unreadable")).otherwise("status"),
        error=pl.coalesce(reason, "error"))
    files = files.with_columns(  # its segments are gone with it
        pl.when(reason.is_null()).then("interchanges").otherwise(0).alias("interchanges"))
    found = pl.DataFrame({"file_id": list(failed), "rule": ["FILE001"] * len(failed),
                          "message": list(failed.values())}, schema=_LOAD_SCHEMA)
    return replace(
        batch, files=files, segments=segs, split=SplitSegments(segs),
        transactions=batch.transactions.filter(~gone),
        claims=pl.concat([b.claims for b in built], how="vertical_relaxed"),
        lines=pl.concat([b.lines for b in built], how="vertical_relaxed"),
        load_findings=F.concat([batch.load_findings, found]),
    )


def _tables(batch: Batch) -> Batch:
    segs, split = batch.segments, batch.split_segments()
    split.prefetch(tables.READER_SEGMENTS)
    # The two tables are independent: build them side by side (polars releases the GIL).
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = pool.submit(tables.lines, segs, split)
        claims = tables.claims(segs, batch.transactions, split)
        lines = pending.result()
    claims = tables.with_service_span(claims, lines)
    split.retain(RULE_SEGMENTS)  # the rest served the claim tables only: free it
    return replace(batch, claims=claims, lines=lines)


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


# Rule families that read only the segments and transaction sets (never the claims or
# lines tables): they can run while the tables are being built.
SEGMENT_FAMILIES = ("envelope", "file")
_RULE_THREADS = min(4, 2 * (os.cpu_count() or 1))


def enabled_rules(selection: Selection) -> list[tuple[str, Any]]:
    """``(code, rule)`` of every enabled rule with a check, in registry order."""
    load_all()
    return [(code, r) for code, r in REGISTRY.items()
            if r.check is not None and any(selection.enabled(c) for c in r.codes)]


def run_rule(ctx: Context, code: str, r: Any) -> pl.DataFrame | None:
    """One rule's findings (``rule`` filled in), or None when it found nothing."""
    t0 = time.perf_counter()
    try:
        out = r.check(ctx)
    except UsageError:  # bad input of the user's (e.g. a broken roster): the run stops
        raise
    except Exception as exc:  # one broken check must not cost the whole run its output
        return _failed(ctx, code, exc)
    if out is not None and out.height:
        if "rule" not in out.columns:
            out = out.with_columns(rule=pl.lit(code))
        else:
            out = out.with_columns(pl.col("rule").fill_null(code))
    log.debug("rule %s: %d findings in %.3fs", code, 0 if out is None else out.height,
              time.perf_counter() - t0)
    return out if out is not None and out.height else None


FAILED = "INT001"  # the finding of a check that stopped with an internal error


def _failed(ctx: Context, code: str, exc: Exception, what: str = "rule") -> pl.DataFrame:
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


def failed_rules(codes: Iterable[str], results: Iterable[pl.DataFrame | None]) -> list[str]:
    """Those of ``codes`` whose check raised (their result is ``INT001`` findings)."""
    return [code for code, f in zip(codes, results, strict=True)  # (in any chunk)
            if f is not None and f.height and (f.get_column("rule") == FAILED).any()]


def collect(ctx: Context, results: Iterable[pl.DataFrame | None],
            selection: Selection) -> pl.DataFrame:
    """Loader findings, the rules' results (in registry order) and extra findings, finished."""
    frames = [ctx.batch.load_findings, *(f for f in results if f is not None)]
    frames.extend(ctx.options.get("extra_findings") or [])
    return finish(F.concat(frames), selection)


def run_rules(ctx: Context, selection: Selection) -> pl.DataFrame:
    """Run every enabled rule and return the finished findings table.

    Rules run on a small thread pool: polars releases the GIL while it computes, so one
    rule's Python overhead overlaps another's column work. Results are collected in
    registry order, so the output does not depend on the scheduling.
    """
    todo = enabled_rules(selection)
    with ThreadPoolExecutor(max_workers=_RULE_THREADS) as pool:
        results = list(pool.map(lambda item: run_rule(ctx, *item), todo))
    return collect(ctx, results, selection)


def finish(found: pl.DataFrame, selection: Selection) -> pl.DataFrame:
    """Drop disabled codes, apply registry severities/overrides and SNIP levels, sort."""
    meta = pl.DataFrame(
        {
            "rule": list(REGISTRY),
            "_sev": [selection.severity.get(c, r.severity) for c, r in REGISTRY.items()],
            "_snip": [r.snip_level for r in REGISTRY.values()],
        },
        schema={"rule": pl.String, "_sev": pl.String, "_snip": pl.Int8},
    )
    enabled = [c for c in REGISTRY if selection.enabled(c)]
    found = found.filter(pl.col("rule").is_in(enabled))
    found = found.join(meta, on="rule", how="left", maintain_order="left").with_columns(
        severity=pl.coalesce("severity", "_sev"),
        snip_level=pl.coalesce("snip_level", "_snip"),
    ).drop("_sev", "_snip")
    return found.sort(["file_id", "segment_index", "rule"], nulls_last=False,
                      maintain_order=True)


def claim_status(claims: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """Each claim's worst severity over its own findings and those of its transaction
    set and file (an envelope error rejects every claim inside)."""
    rank = pl.col("severity").replace_strict(F.SEVERITY_RANK, return_dtype=pl.Int8)
    f = found.with_columns(_r=rank)
    own = f.filter(pl.col("claim_key").is_not_null()).group_by("claim_key").agg(
        _own=pl.col("_r").max())
    txn = f.filter(pl.col("claim_key").is_null() & pl.col("st_key").is_not_null()).group_by(
        "st_key").agg(_txn=pl.col("_r").max())
    fil = f.filter(pl.col("claim_key").is_null() & pl.col("st_key").is_null()).group_by(
        "file_id").agg(_file=pl.col("_r").max())
    out = (claims.join(own, on="claim_key", how="left", maintain_order="left")
           .join(txn, on="st_key", how="left", maintain_order="left")
           .join(fil, on="file_id", how="left", maintain_order="left"))
    worst = pl.max_horizontal("_own", "_txn", "_file")
    return out.with_columns(
        status=pl.when(worst == 2).then(pl.lit("error"))
        .when(worst == 1).then(pl.lit("warning")).otherwise(pl.lit("pass"))
    ).drop("_own", "_txn", "_file")


@dataclass
class Result:
    batch: Batch
    findings: pl.DataFrame
    claims: pl.DataFrame  # batch claims plus ``status`` (and rule-family columns, e.g. kp)
    ruleset: Ruleset
    inputs: list[str]
    started: float
    elapsed: float = 0.0
    failed: list[str] = field(default_factory=list)  # rules/annotators that raised (INT001)

    def worst(self) -> int:
        """Highest severity rank present (-1 when there are no findings)."""
        if not self.findings.height:
            return -1
        return int(self.findings["severity"].replace_strict(F.SEVERITY_RANK,
                                                            return_dtype=pl.Int8).max())


def _preload_rules() -> None:
    # A broken rule module fails again, and is reported, when run_rules imports it.
    with contextlib.suppress(Exception):
        load_all()


def check(paths: Sequence[Path], ruleset: Ruleset, selection: Selection,
          options: dict[str, Any] | None = None, inputs: Sequence[str] = ()) -> Result:
    """Read ``paths``, run the rules and return the result.

    Inputs larger than ``options["chunk_bytes"]`` (default :data:`chunking.CHUNK_BYTES`)
    are read and checked a chunk of whole files at a time, so that memory follows the
    chunk; the result is the same as that of a single pass. Should reading fail for a
    whole batch or chunk, it is read again file by file (see :func:`_check_chunks`).
    """
    started = time.time()
    t0 = time.perf_counter()
    # Import the rule modules while the files are read (polars releases the GIL).
    threading.Thread(target=_preload_rules, name="load-rules", daemon=True).start()
    options = options or {}
    chunks = chunking.plan(paths, options.get("chunk_bytes", chunking.CHUNK_BYTES))
    single = None
    if len(chunks) == 1:
        try:
            single = _check_part(chunks[0][1], 0, ruleset, selection, options, batch_rules=True)
        except UsageError:
            raise
        except Exception as exc:  # a reader bug must not stop the batch: file by file
            _log_failure("the batch", exc)
            chunks = [(i, [p]) for i, p in enumerate(paths)]
    if single is not None:
        ctx, results, notes, faults = (single.ctx, single.results, single.annotations,
                                       single.faults)
    else:
        ctx, results, notes, faults = _check_chunks(chunks, ruleset, selection, options)
    todo = enabled_rules(selection)
    found = collect(ctx, [*results, *faults.values()], selection)
    claims = claim_status(ctx.batch.claims, found)
    for extra in notes.values():
        claims = claims.join(extra, on="claim_key", how="left", maintain_order="left")
    return Result(ctx.batch, found, claims, ruleset, list(inputs), started,
                  time.perf_counter() - t0,
                  [*failed_rules([c for c, _ in todo], results), *faults])


@dataclass
class _Part:
    """One pass over some files: its context, rule results (registry order, one entry per
    enabled rule), the annotators' per-claim columns and the INT001 findings of those
    that failed (both by annotator name)."""

    ctx: Context
    results: list[pl.DataFrame | None]
    annotations: dict[str, pl.DataFrame]
    faults: dict[str, pl.DataFrame]
    counts: dict[str, int]  # segments per ID that keys count (see chunking.Offsets)


def _check_part(paths: Sequence[Path], first_id: int, ruleset: Ruleset, selection: Selection,
                options: dict[str, Any], batch_rules: bool) -> _Part:
    """Read ``paths`` (file IDs from ``first_id``) and run the rules on them; ``batch``
    rules only with ``batch_rules`` (their entries are None otherwise).

    The envelope and file rules need only the segments: they start as soon as the
    segments are read, while the claims and lines tables are built; the other rules
    follow on the same pool.
    """
    t0 = time.perf_counter()
    head = read_segments(paths, first_id)
    counts = chunking.key_counts(head.split_segments())
    todo = enabled_rules(selection)
    run = [(code, r) for code, r in todo if batch_rules or not r.batch]
    with ThreadPoolExecutor(max_workers=_RULE_THREADS) as pool:
        early = Context(head, ruleset, options, selection.enabled)
        pending = {code: pool.submit(run_rule, early, code, r) for code, r in run
                   if r.family in SEGMENT_FAMILIES}
        batch = build_tables(head)
        log.info("read %d files, %d claims in %.2fs", batch.files.height,
                 batch.claims.height, time.perf_counter() - t0)
        ctx = Context(batch, ruleset, options, selection.enabled)
        for code, r in run:
            if code not in pending:
                pending[code] = pool.submit(run_rule, ctx, code, r)
        results = [pending[code].result() if code in pending else None for code, _ in todo]
    return _Part(ctx, results, *_annotate(ctx), counts)


def _annotate(ctx: Context) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """Each annotator's per-claim columns; one that raises gives INT001 findings instead,
    as a rule would (its columns are then missing: null in the outputs)."""
    notes: dict[str, pl.DataFrame] = {}
    faults: dict[str, pl.DataFrame] = {}
    for annotate_claims in ANNOTATORS:
        name = annotate_claims.__name__
        try:
            notes[name] = annotate_claims(ctx)
        except UsageError:
            raise
        except Exception as exc:
            faults[name] = _failed(ctx, name, exc, what="annotator")
    return notes, faults


def _log_failure(what: str, exc: Exception) -> None:
    log.error("%s could not be read (%s: %s); reading it again file by file", what,
              type(exc).__name__, str(exc).splitlines()[0][:300] if str(exc) else "")
    log.debug("traceback of the failure", exc_info=True)  # shown with -vv only


def _check_chunks(chunks: list[tuple[int, list[Path]]], ruleset: Ruleset, selection: Selection,
                  options: dict[str, Any],
                  ) -> tuple[Context, list[pl.DataFrame | None], dict[str, pl.DataFrame],
                             dict[str, pl.DataFrame]]:
    """:func:`_check_part` chunk by chunk, keeping only tables and findings (keys shifted
    to the batch's numbering), then the batch rules over the merged tables.

    A chunk that fails as a whole is read again file by file; a file that fails on its own
    becomes unreadable (FILE001) and the batch goes on without it.
    """
    offsets = chunking.Offsets()
    batches: list[Batch] = []
    results: list[list[pl.DataFrame | None]] = []  # per chunk, per enabled rule
    notes: dict[str, list[pl.DataFrame]] = {}  # per annotator, per chunk
    faults: dict[str, list[pl.DataFrame]] = {}
    todo = collections.deque(chunks)
    n = 0
    while todo:
        first_id, chunk = todo.popleft()
        n += 1
        log.info("chunk %d of %d: %d files", n, n + len(todo), len(chunk))
        try:
            part = _check_part(chunk, first_id, ruleset, selection, options, batch_rules=False)
        except UsageError:
            raise
        except Exception as exc:
            if len(chunk) > 1:
                _log_failure(f"a chunk of {len(chunk)} files", exc)
                todo.extendleft(reversed([(first_id + k, [p]) for k, p in enumerate(chunk)]))
            else:
                batches.append(_failed_file(first_id, chunk[0], exc))
                results.append([None] * len(enabled_rules(selection)))
            continue
        b = part.ctx.batch
        batches.append(replace(
            b, segments=b.segments.clear(), split=None,  # the chunk's segments go
            transactions=offsets.shift(b.transactions), claims=offsets.shift(b.claims),
            lines=offsets.shift(b.lines)))
        results.append([None if f is None else offsets.shift(f) for f in part.results])
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
    ctx = Context(merged, ruleset, options, selection.enabled)
    found: list[pl.DataFrame | None] = []
    for i, (code, r) in enumerate(enabled_rules(selection)):
        if r.batch:
            found.append(run_rule(ctx, code, r))
        else:
            parts = [chunk[i] for chunk in results if chunk[i] is not None]
            found.append(F.concat(parts) if parts else None)
    return (ctx, found, {k: pl.concat(v, how="vertical_relaxed") for k, v in notes.items()},
            {k: F.concat(v) for k, v in faults.items()})


def _failed_file(file_id: int, path: Path, exc: Exception) -> Batch:
    """The empty tables of a file whose reading failed, with its FILE001 finding."""
    msg = _read_error(exc)
    log.error("%s: %s", path, msg)
    empty = build_tables(read_segments([], file_id))
    files = pl.DataFrame({"file_id": [file_id], "path": [str(path)], "status": ["unreadable"],
                          "error": [msg], "interchanges": [0]}, schema=empty.files.schema)
    found = pl.DataFrame({"file_id": [file_id], "rule": ["FILE001"], "message": [msg]},
                         schema=_LOAD_SCHEMA)
    return replace(empty, files=files, load_findings=F.conform(found), split=None)
