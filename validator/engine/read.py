"""Reading: files -> segments -> claim tables, one broken file never stopping the batch.

Whatever goes wrong while reading a file becomes a file-level finding (FILE0xx) and the
run moves on; should a whole-batch step fail, it is done again file by file so that only
the file at fault is lost.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from ..model import tables
from ..model.batch import Batch
from ..rules import findings as F
from ..x12.cut import Piece
from ..x12.load import LoadedFile, LoadError, load
from ..x12.segments import SplitSegments, annotate, tokenize, tokenize_files

log = logging.getLogger("claims_validator")


def read_batch(paths: Sequence[Path]) -> Batch:
    """Read every file; unreadable ones become rows with ``status = unreadable``."""
    return build_tables(read_segments(paths))


# Files are tokenised in groups of about this many bytes (see tokenize_files): a folder of
# small files costs two passes of the CSV reader per group, not per file. (32 MB groups were
# 1% faster on 200 files of 500 claims, and peaked 50 MB higher.)
GROUP_BYTES = 16 << 20

# Findings raised while reading (before any rule runs): which file, which rule, why.
LOAD_SCHEMA = {"file_id": pl.UInt32, "rule": pl.String, "message": pl.String}


def read_error(exc: Exception) -> str:
    """The FILE001 message of a file whose reading failed with an internal error."""
    return f"internal error while reading the file: {type(exc).__name__}: {exc}"


def _listing_error(folder: Path) -> str:
    try:
        with os.scandir(folder):
            return "it could not be listed during the scan"
    except OSError as exc:
        return exc.strerror or str(exc)


def read_segments(paths: Sequence[Path | Piece], first_id: int = 0) -> Batch:
    """The first half of :func:`read_batch`: files, annotated segments and transaction sets.
    ``claims`` and ``lines`` stay ``None`` until :func:`build_tables`. File IDs count from
    ``first_id`` (a chunk of a larger batch). A :class:`~validator.x12.cut.Piece` is read
    as its file would be (see validator.engine.units)."""
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
        msg = read_error(exc)
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
        if isinstance(path, Path) and path.is_dir():  # a folder a scan could not list
            unreadable(file_id, "FILE005", f"cannot read folder: {_listing_error(path)}")
            log.warning("%s: cannot read folder", path)
            continue
        try:
            loaded = path.load(str(path)) if isinstance(path, Piece) else load(path, str(path))
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
    lf = pl.DataFrame(load_findings, schema=LOAD_SCHEMA) if load_findings else F.empty()
    split = SplitSegments(segs)
    isa = split.rows(["ISA"]).group_by("file_id").agg(interchanges=pl.len().cast(pl.Int64))
    count = segs.group_by("file_id").agg(segments=pl.len().cast(pl.Int64))
    files_df = (files_df.join(isa, on="file_id", how="left", maintain_order="left")
                .join(count, on="file_id", how="left", maintain_order="left")
                .with_columns(pl.col("interchanges", "segments").fill_null(0)))
    return Batch(files_df, segs, tables.transactions(segs, split), None, None,  # type: ignore[arg-type]
                 F.conform(lf), split)


def build_tables(batch: Batch, retain: Sequence[str] = ()) -> Batch:
    """The second half of :func:`read_batch`: the claims and lines tables. Of the segments
    split into elements, those with the IDs in ``retain`` (the rules read them) are kept.

    Should building them fail, they are built again one file at a time: a file whose tables
    cannot be built becomes unreadable (FILE001) and the batch goes on without it.
    """
    try:
        return _tables(batch, retain)
    except Exception:  # a reader bug must not stop the batch
        log.debug("traceback of the claim-table error", exc_info=True)  # shown with -vv only
        return _tables_file_by_file(batch, retain)


def _tables_file_by_file(batch: Batch, retain: Sequence[str]) -> Batch:
    segs = batch.segments
    by_file = segs.partition_by("file_id", as_dict=True, maintain_order=True)
    built: list[Batch] = []
    failed: dict[int, str] = {}
    for (file_id,), sub in by_file.items():
        txns = batch.transactions.filter(pl.col("file_id") == file_id)
        try:
            built.append(_tables(replace(batch, segments=sub, transactions=txns,
                                         split=SplitSegments(sub)), retain))
        except Exception as exc:
            failed[int(file_id)] = (f"internal error while building the claim tables: "
                                    f"{type(exc).__name__}: {exc}")
            log.error("%s: %s", batch.files["path"][int(file_id)], failed[int(file_id)])
    gone = pl.col("file_id").is_in(list(failed))
    segs = segs.filter(~gone)
    if not built:  # every file failed: empty tables of the usual shape
        built.append(_tables(replace(batch, segments=segs, transactions=batch.transactions.clear(),
                                     split=SplitSegments(segs)), retain))
    reason = pl.col("file_id").replace_strict(failed, default=None, return_dtype=pl.String)
    files = batch.files.with_columns(
        status=pl.when(reason.is_not_null()).then(pl.lit("unreadable")).otherwise("status"),
        error=pl.coalesce(reason, "error"))
    files = files.with_columns(  # its segments are gone with it
        *(pl.when(reason.is_null()).then(c).otherwise(0).alias(c)
          for c in ("interchanges", "segments")))
    found = pl.DataFrame({"file_id": list(failed), "rule": ["FILE001"] * len(failed),
                          "message": list(failed.values())}, schema=LOAD_SCHEMA)
    return replace(
        batch, files=files, segments=segs, split=SplitSegments(segs),
        transactions=batch.transactions.filter(~gone),
        claims=pl.concat([b.claims for b in built], how="vertical_relaxed"),
        lines=pl.concat([b.lines for b in built], how="vertical_relaxed"),
        load_findings=F.concat([batch.load_findings, found]),
    )


def _tables(batch: Batch, retain: Sequence[str]) -> Batch:
    segs, split = batch.segments, batch.split_segments()
    split.prefetch(tables.READER_SEGMENTS)
    # The two tables are independent: build them side by side (polars releases the GIL).
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = pool.submit(tables.lines, segs, split)
        claims = tables.claims(segs, batch.transactions, split)
        lines = pending.result()
    claims = tables.with_service_span(claims, lines)
    split.retain(retain)  # the rest served the claim tables only: free it
    return replace(batch, claims=claims, lines=lines)


def failed_file(file_id: int, path: Path, exc: Exception) -> Batch:
    """The empty tables of a file whose reading failed, with its FILE001 finding."""
    msg = read_error(exc)
    log.error("%s: %s", path, msg)
    empty = build_tables(read_segments([], file_id))
    files = pl.DataFrame({"file_id": [file_id], "path": [str(path)], "status": ["unreadable"],
                          "error": [msg], "interchanges": [0], "segments": [0]},
                         schema=empty.files.schema)
    found = pl.DataFrame({"file_id": [file_id], "rule": ["FILE001"], "message": [msg]},
                         schema=LOAD_SCHEMA)
    return replace(empty, files=files, load_findings=F.conform(found), split=None)
