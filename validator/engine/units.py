"""Work units: runs of whole files, or pieces of one large file, checked one at a time
(here or on a cluster's workers) and merged into the result of a single pass.

A unit is read, tabled and checked on its own (every rule but the batch-wide ones and the
envelope trailer rules, whose counts can span pieces); what it returns is small: the claim,
line and transaction tables, its findings, and its envelope segments (the *skeleton*:
ISA, GS, ST, GE, IEA rows). Keys (running ISA/GS/ST/HL/CLM/LX counts) are local to the
unit; :class:`Merge` shifts them, and a piece's segment positions, to those of a
whole-file read, then runs the envelope trailer rules over the merged skeleton and the
batch rules over the merged tables.

A piece of a file cut at an ST reads its enclosing ISA and GS again in front (see
validator.x12.cut): those prefix segments are the file's real headers, so positions that
point at them are mapped there, and a finding a piece raises on them is dropped when an
earlier piece of the file already raised the same one.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from ..model import chunking
from ..model.batch import Batch
from ..rules import findings as F
from ..rules.api import Context
from ..rules.generic import codesets, duplicates
from ..x12.cut import Piece, cut
from ..x12.segments import SplitSegments
from .read import failed_file
from .run import FAILED, Plan, Results, check_part, run_rule

log = logging.getLogger("claims_validator")

# Rules whose trailer counts (IEA01, GE01) span the transaction sets of an envelope, which a
# cut file spreads over pieces: run once over the merged envelope segments.
ENVELOPE_TRAILERS = ("ENV110", "ENV120")
SKELETON_IDS = ("ISA", "GS", "ST", "GE", "IEA")
_SKELETON_COLS = ("file_id", "seg_index", "seg_id", "raw", "isa_key", "gs_key", "st_key", "in_txn")

# Of a unit's claims (89 columns) and lines (17), the client keeps only what is still read
# after the unit ran, so that its memory per claim stays small (issue #18): the keys, what
# the reports show of a claim (validator.output.views.CLAIM_COLUMNS and the HTML report's
# claim panel; the split tool and the 999 writer read keys and positions only) and what
# the batch rules read (DUP401/DUP402 and the nightly keys, CODE513). Annotator columns
# (the KP plugin's ``kp``) are computed in the unit. tests/test_unit_columns.py checks
# that every claim or line column those readers name is kept, and that every output of a
# run in units equals that of one pass.
_KEYS = ("claim_key", "file_id", "st_key", "segment_index", "claim_id", "supported",
         "transaction_type")
_SHOWN = ("total_charge", "payer_id", "payer_name", "service_date_from", "service_date_to",
          "patient_is_subscriber", "patient_last", "patient_first", "patient_birth",
          "subscriber_last", "subscriber_first", "subscriber_birth", "member_id", "plan_name",
          "claim_filing", "billing_name", "billing_npi", "facility_state", "billing_state")
CLIENT_CLAIMS = tuple(dict.fromkeys((*_KEYS, *_SHOWN, *duplicates.CLAIM_COLUMNS,
                                     *codesets.CLAIM_COLUMNS)))
CLIENT_LINES = tuple(dict.fromkeys((*duplicates.LINE_COLUMNS, *codesets.LINE_COLUMNS)))


def for_client(df: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """``df`` with only its columns among ``columns``, in its order (the rest are not read
    after a unit)."""
    return df.select([c for c in df.columns if c in columns])


class Packed:
    """A unit's table kept until the merge as LZ4-compressed Arrow IPC: about 8x smaller
    than the table (a claim's 30 kept columns take ~700 bytes in polars, ~90 packed), and in
    buffers of its own (issue #18). A polars string column taken from a larger one (a
    filter, a gather, a text extraction) holds views into the larger one's buffers and
    keeps them alive: kept as is, a unit's claims and findings held most of its tables. A
    Dask worker's results travel packed too."""

    __slots__ = ("data",)

    def __init__(self, df: pl.DataFrame) -> None:
        buf = io.BytesIO()
        df.write_ipc(buf, compression="lz4")
        self.data = buf.getvalue()

    def frame(self) -> pl.DataFrame:
        return pl.read_ipc(io.BytesIO(self.data))


Frame = pl.DataFrame | Packed


def pack(df: pl.DataFrame | None) -> Frame | None:
    return df if df is None or not df.height else Packed(df)


def unpack(df: Frame | None) -> pl.DataFrame | None:
    return df.frame() if isinstance(df, Packed) else df


@dataclass(frozen=True)
class Unit:
    """Whole files ``paths`` (file IDs from ``first_id``), or one piece of ``paths[0]``."""

    first_id: int
    paths: tuple[Path, ...]
    piece: Piece | None = None

    @property
    def inputs(self) -> list[Path | Piece]:
        return [self.piece] if self.piece is not None else list(self.paths)

    def describe(self) -> str:
        if self.piece is not None:
            return f"piece {self.piece.index + 1} of {self.paths[0]}"
        return str(self.paths[0]) if len(self.paths) == 1 else f"{len(self.paths)} files"

    def absolute(self) -> Unit:
        """The unit with absolute paths (for workers whose working folder differs)."""
        paths = tuple(p.absolute() for p in self.paths)
        piece = None if self.piece is None else replace(self.piece, path=self.piece.path.absolute())
        return replace(self, paths=paths, piece=piece)

    def singles(self) -> list[Unit]:
        """One unit per file (a failed run of files is retried file by file)."""
        return [Unit(self.first_id + k, (p,)) for k, p in enumerate(self.paths)]


def plan_units(paths: Sequence[Path], limit: int) -> list[Unit]:
    """Runs of whole files of about ``limit`` bytes (see validator.model.chunking.plan); a
    file larger than ``limit`` is cut into pieces of about ``limit`` when it can be."""
    units: list[Unit] = []
    for first_id, chunk in chunking.plan(paths, limit):
        pieces = cut(chunk[0], limit) if len(chunk) == 1 and limit > 0 else None
        if pieces:
            units += [Unit(first_id, (chunk[0],), p) for p in pieces]
        else:
            units.append(Unit(first_id, tuple(chunk)))
    return units


@dataclass
class UnitResult:
    """What a unit's check returns: its tables (keys local to the unit), findings by rule,
    annotator columns and faults, envelope skeleton, key counts and segments read."""

    files: pl.DataFrame
    transactions: Frame  # (packed: see Packed)
    claims: Frame
    lines: Frame
    load_findings: Frame
    skeleton: pl.DataFrame
    results: dict[str, Frame | None]
    notes: dict[str, Frame]
    faults: dict[str, Frame]
    counts: dict[str, int]
    segments: int  # segments read after the prefix (pieces)


def run_unit(plan: Plan, unit: Unit) -> UnitResult:
    """Read and check one unit (an exception means the whole unit failed)."""
    part = check_part(plan, unit.inputs, unit.first_id, batch_rules=False,
                      exclude=ENVELOPE_TRAILERS)
    b = part.ctx.batch
    n_prefix = unit.piece.n_prefix if unit.piece else 0
    skeleton = b.split_segments().rows(list(SKELETON_IDS)).select(_SKELETON_COLS)
    counts = dict(part.counts)
    files = b.files
    if n_prefix:  # the prefix ISA and GS are the file's, counted in earlier pieces
        skeleton = skeleton.filter(pl.col("seg_index") > n_prefix)
        counts["ISA"] -= 1
        counts["GS"] -= n_prefix - 1
        files = files.with_columns(pl.col("interchanges") - 1)
    if unit.piece:  # the piece's own segments: the pieces' counts add up to the file's
        files = files.with_columns(segments=pl.lit(b.segments.height - n_prefix, pl.Int64))
    return UnitResult(files, pack(b.transactions), pack(for_client(b.claims, CLIENT_CLAIMS)),
                      pack(for_client(b.lines, CLIENT_LINES)), pack(b.load_findings),
                      unpack(pack(skeleton)), {c: pack(f) for c, f in part.results.items()},
                      {k: pack(f) for k, f in part.annotations.items()},
                      {k: pack(f) for k, f in part.faults.items()}, counts,
                      b.segments.height - n_prefix)


@dataclass
class _FileState:
    """Where the next piece of a cut file starts: segments before it, its headers."""

    segments: int = 0
    isa_index: int | None = None
    gs_index: int | None = None


@dataclass
class Merge:
    """Unit results, in plan order, merged into the tables and findings of one pass."""

    plan: Plan
    offsets: chunking.Offsets = field(default_factory=chunking.Offsets)
    files: dict[int, _FileState] = field(default_factory=dict)
    batches: list[Batch] = field(default_factory=list)  # (tables packed: see Packed)
    skeletons: list[pl.DataFrame] = field(default_factory=list)
    results: list[dict[str, Frame | None]] = field(default_factory=list)
    notes: dict[str, list[Frame]] = field(default_factory=dict)
    faults: dict[str, list[Frame]] = field(default_factory=dict)

    def add(self, unit: Unit, r: UnitResult) -> None:
        piece = unit.piece
        n_prefix = piece.n_prefix if piece else 0
        seen = dict(self.offsets.seen)
        if n_prefix:
            seen["ISA"] -= 1
            seen["GS"] -= n_prefix - 1
        state = self.files.setdefault(unit.first_id, _FileState()) if piece else None

        def shift(df: pl.DataFrame, mark: bool = False) -> pl.DataFrame:
            df = _shift_keys(df, seen)
            if state is None:
                return df
            if mark and n_prefix and "segment_index" in df.columns:
                df = df.with_columns(_prefix=pl.col("segment_index") <= n_prefix)
            heads = [state.isa_index, state.gs_index][:n_prefix]
            return _shift_positions(df, n_prefix, heads, state.segments)

        def move(df: Frame, mark: bool = False) -> Frame:  # kept packed until finish
            return pack(shift(unpack(df), mark))

        paths = [str(p) for p in unit.paths]  # as given (workers may see absolute paths)
        files = r.files.with_columns(path=pl.Series(paths[: r.files.height], dtype=pl.String))
        self.batches.append(Batch(files, pl.DataFrame(), move(r.transactions), move(r.claims),
                                  move(r.lines), move(r.load_findings)))
        skeleton = shift(r.skeleton)
        self.skeletons.append(skeleton)
        self.results.append({c: None if f is None else move(f, mark=True)
                             for c, f in r.results.items()})
        for name, a in r.notes.items():
            self.notes.setdefault(name, []).append(move(a))
        for name, f in r.faults.items():
            self.faults.setdefault(name, []).append(move(f, mark=True))
        self.offsets.advance(r.counts)
        if state is not None:
            state.segments += r.segments
            for seg_id, attr in (("ISA", "isa_index"), ("GS", "gs_index")):
                idx = skeleton.filter(pl.col("seg_id") == seg_id)["seg_index"]
                if idx.len():
                    setattr(state, attr, int(idx[-1]))

    def add_failed(self, unit: Unit, exc: BaseException) -> None:
        """A single file whose check failed as a whole: unreadable (FILE001)."""
        b = failed_file(unit.first_id, unit.paths[0], exc)  # type: ignore[arg-type]
        b.claims, b.lines = for_client(b.claims, CLIENT_CLAIMS), for_client(b.lines, CLIENT_LINES)
        self.batches.append(b)
        self.skeletons.append(b.segments.select(_SKELETON_COLS))
        self.results.append({})

    def finish(self) -> tuple[Context, Results, dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
        """The merged context, every rule's findings (envelope trailer and batch rules run
        here), the annotators' columns and faults."""
        files = _one_row_per_file(pl.concat([b.files for b in self.batches], how="vertical_relaxed"))
        skeleton = pl.concat(self.skeletons, how="vertical_relaxed")
        batches, self.batches, self.skeletons = self.batches, [], []
        tables = {}
        for name in ("transactions", "claims", "lines"):  # one table at a time, parts freed
            tables[name] = _concat([unpack(getattr(b, name)) for b in batches])
            for b in batches:
                setattr(b, name, None)
        merged = Batch(files=files, segments=skeleton, **tables,
                       load_findings=F.concat([unpack(b.load_findings) for b in batches]))
        del batches
        merged.split = SplitSegments(skeleton)
        ctx = self.plan.context(merged)
        found: Results = {}
        for r in self.plan.rules:
            if r.batch or r.code in ENVELOPE_TRAILERS:
                found[r.code] = run_rule(ctx, r)
            else:
                parts = [unpack(f) for unit in self.results if (f := unit.get(r.code)) is not None]
                found[r.code] = _once(F.concat(parts)) if parts else None
        notes = {k: _concat([unpack(f) for f in v]) for k, v in self.notes.items()}
        faults = {k: _once(F.concat([unpack(f) for f in v])) for k, v in self.faults.items()}
        return ctx, found, notes, faults


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """One table of one chunk per column, as one pass reads it: later selects and joins
    that mix its columns with new ones would otherwise copy it whole to align chunks."""
    return pl.concat([f for f in frames if f.width], how="vertical_relaxed", rechunk=True)


def _shift_keys(df: pl.DataFrame, seen: dict[str, int]) -> pl.DataFrame:
    cols = [(pl.col(c) + seen[s]).cast(df.schema[c]).alias(c)
            for c, s in chunking.KEYS.items() if c in df.columns and seen[s]]
    return df.with_columns(cols) if cols else df


def _positions(df: pl.DataFrame) -> list[str]:
    """Columns holding segment positions (``seg_index``, ``segment_index``, ``*_index``)."""
    return [c for c, t in df.schema.items() if (c.endswith("_index") or c == "seg_index")
            and t.is_integer()]


def _shift_positions(df: pl.DataFrame, n_prefix: int, heads: list[int | None],
                     before: int) -> pl.DataFrame:
    """A piece's positions as in the whole file: the prefix's are its headers', the rest
    follow the ``before`` segments of the earlier pieces."""
    cols = []
    for c in _positions(df):
        v = pl.col(c).cast(pl.Int64)
        out = v - n_prefix + before
        for i, head in enumerate(heads, start=1):
            out = pl.when(v == i).then(pl.lit(head, pl.Int64)).otherwise(out)
        cols.append(out.cast(df.schema[c]).alias(c))
    return df.with_columns(cols) if cols else df


def _once(df: pl.DataFrame) -> pl.DataFrame:
    """Without a piece's repeats of what an earlier piece of its file found: findings on
    its prefix headers, and whole-file INT001 findings of a failed check."""
    marked = pl.col("_prefix").fill_null(False) if "_prefix" in df.columns else pl.lit(False)
    repeat = marked | ((pl.col("rule") == FAILED) & pl.col("segment_index").is_null())
    cols = [c for c in df.columns if c != "_prefix"]
    if not df.height or not df.select(repeat.any()).item():
        return df.select(cols)
    first = pl.struct(cols).is_first_distinct()
    return df.filter(~repeat | first).select(cols)


def _one_row_per_file(files: pl.DataFrame) -> pl.DataFrame:
    """The pieces of a cut file as one row (its interchanges summed)."""
    if files.get_column("file_id").is_unique().all():
        return files
    return files.group_by("file_id", maintain_order=True).agg(
        pl.col("path", "status", "error").first(), pl.col("interchanges", "segments").sum()
    ).select(files.columns).cast(files.schema)


def check_units(plan: Plan, units: list[Unit], run=None
                ) -> tuple[Context, Results, dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """Check ``units`` in this process, one at a time (or through ``run``, which takes the
    units and returns each one's result or the exception it failed with, in order), then
    merge them. A run of files that fails as a whole is checked again file by file; a file
    that fails on its own (or any piece of it) becomes unreadable (FILE001)."""
    done = (run or _run_here)(plan, units)
    retry = [u for u, r in zip(units, done, strict=True) if isinstance(r, BaseException)
             and u.piece is None and len(u.paths) > 1]
    redo: dict[Unit, list] = {}
    if retry:
        for u in retry:
            log.error("%s could not be checked (%s); checking them again file by file",
                      u.describe(), _why(done[units.index(u)]))
        singles = [s for u in retry for s in u.singles()]
        again = (run or _run_here)(plan, singles)
        pos = 0
        for u in retry:
            redo[u] = list(zip(singles[pos:pos + len(u.paths)], again[pos:pos + len(u.paths)],
                               strict=True))
            pos += len(u.paths)
    flat: list[tuple[Unit, UnitResult | BaseException] | None] = []
    for u, r in zip(units, done, strict=True):
        flat += redo.get(u, [(u, r)])
    del done, redo  # each result is dropped once merged: memory holds one copy of the tables
    # A file one of whose pieces failed fails as a whole (as a whole-file read would).
    broken = {u.first_id: r for u, r in flat if u.piece is not None and isinstance(r, BaseException)}
    merge = Merge(plan)
    for i, (u, r) in enumerate(flat):
        flat[i] = None
        if u.piece is not None and u.first_id in broken:
            if u.first_id not in merge.files:
                merge.files[u.first_id] = _FileState()
                merge.add_failed(u, broken[u.first_id])
            continue
        if isinstance(r, BaseException):
            merge.add_failed(u, r)
        else:
            merge.add(u, r)
    return merge.finish()


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"


def _run_here(plan: Plan, units: list[Unit]) -> list[UnitResult | BaseException]:
    from ..errors import UsageError

    out: list[UnitResult | BaseException] = []
    for n, u in enumerate(units, start=1):
        log.info("unit %d of %d: %s", n, len(units), u.describe())
        try:
            out.append(run_unit(plan, u))
        except UsageError:
            raise
        except Exception as exc:
            log.debug("traceback of the failure", exc_info=True)
            out.append(exc)
    return out
