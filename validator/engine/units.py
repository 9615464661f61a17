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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl

from ..model import chunking
from ..model.batch import Batch
from ..rules import findings as F
from ..rules.api import Context
from ..rules.earlier import EarlierClaims
from ..rules.generic import codesets, duplicates
from ..x12.cut import Piece, cut
from ..x12.segments import SplitSegments
from .claim_store import KEY_COLUMNS, ClaimStore
from .finding_store import TIE, FindingStore, tagged
from .read import failed_file
from .run import FAILED, Plan, Results, check_part, finish, run_rule

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
class Merged:
    """A run's checked batch: the context (in units, that of the batch rules, whose claims
    are the key columns, or every column of every claim when a batch rule needs them all),
    every rule's findings, the annotators' faults and columns, and the store holding the
    claims' columns in units. A single pass gives one too (see engine.check)."""

    ctx: Context
    results: Results  # (in units: empty, the findings are in ``findings``)
    faults: dict[str, pl.DataFrame]
    store: ClaimStore | None  # (None: a single pass, whose claims are all in ctx)
    notes: dict[str, pl.DataFrame] = field(default_factory=dict)  # (in the store in units)
    located: dict = field(default_factory=dict)  # (single pass: see run.locate_early)
    findings: FindingStore | None = None  # in units: every finding, finished
    failed: list[str] = field(default_factory=list)  # in units: the rules that raised
    # in units with ``--state``: each claim's hashed DUP401/DUP402 keys (see _keep)
    state_keys: pl.DataFrame | None = None


@dataclass
class Merge:
    """Unit results, in plan order, merged into the tables and findings of one pass.

    A unit's claims (with the annotators' columns) and lines go to a :class:`ClaimStore`
    on disk as they arrive; memory keeps their key columns, and the batch rules' keys
    (see :attr:`validator.rules.api.Rule.batch_keys`), so that the client's memory does
    not grow with the claims' columns (issue #18)."""

    plan: Plan
    offsets: chunking.Offsets = field(default_factory=chunking.Offsets)
    files: dict[int, _FileState] = field(default_factory=dict)
    batches: list[Batch] = field(default_factory=list)  # (tables packed: see Packed)
    skeletons: list[pl.DataFrame] = field(default_factory=list)
    faults: dict[str, list[Frame]] = field(default_factory=dict)
    findings: FindingStore = field(default_factory=FindingStore)
    failed: set[str] = field(default_factory=set)  # rules that raised (INT001) in a unit
    units: int = 0  # units merged so far (the findings' tie-break, see finding_store.TIE)
    store: ClaimStore = field(default_factory=ClaimStore)
    line_store: ClaimStore = field(default_factory=ClaimStore)
    keys: list[pl.DataFrame] = field(default_factory=list)  # the claims' key columns
    hashes: list[pl.DataFrame] = field(default_factory=list)  # the batch rules' keys, hashed
    batch_keys: list[pl.Expr] | None = None  # None: the batch rules read every claim
    state_keys: list[pl.DataFrame] = field(default_factory=list)  # (with --state)

    def __post_init__(self) -> None:
        batch = [r for r in self.plan.rules if r.batch]
        if all(r.batch_keys for r in batch):
            self.batch_keys = [e for r in batch for e in r.batch_keys()]  # type: ignore[misc]

    def _keep(self, claims: pl.DataFrame, lines: pl.DataFrame,
              notes: dict[str, pl.DataFrame]) -> None:
        """A unit's claims (keys shifted) into the store, its keys into memory."""
        self.keys.append(for_client(claims, KEY_COLUMNS))
        earlier = self.plan.options.earlier
        if earlier is not None and self.batch_keys is not None and claims.height:
            self.state_keys.append(self._state_keys(claims, lines, earlier.salt))
        if self.batch_keys and claims.height:
            k = claims.select("claim_key", *(e.alias(f"_k{i}") for i, e in
                                             enumerate(self.batch_keys)))
            self.hashes.append(k.with_columns(
                pl.when(pl.col(c).is_not_null()).then(pl.col(c).hash()).alias(c)
                for c, t in k.schema.items() if c != "claim_key" and t != pl.Boolean))
        for note in notes.values():
            claims = with_note(claims, note)
        self.store.add(claims, notes=list(notes_columns(notes)))
        self.line_store.add(lines)

    def _state_keys(self, claims: pl.DataFrame, lines: pl.DataFrame, salt: bytes
                    ) -> pl.DataFrame:
        """The unit's claims' hashed DUP401/DUP402 keys (``check --state``): what the batch
        rules read of earlier runs' claims, and the record of the claims the run passes
        (~24 B a claim instead of every claim's columns)."""
        unit = Batch(files=pl.DataFrame(), segments=pl.DataFrame(),
                     transactions=pl.DataFrame(), claims=claims, lines=lines,
                     load_findings=F.empty())
        keys = duplicates.claim_keys(self.plan.context(unit), salt)
        return keys.select("claim_key", "file_id", "id_key", "dup_key")

    def _findings(self, load: pl.DataFrame | None, results: dict[str, pl.DataFrame],
                  skeleton: pl.DataFrame) -> None:
        """A unit's findings, finished, into the findings store: loose (see
        validator.engine.finding_store) those without a segment, on an ISA or GS header,
        or repeating an earlier piece's (:func:`_once`, applied when the store closes)."""
        unit, self.units = self.units, self.units + 1
        frames = [tagged(load, 0, unit)] if load is not None and load.height else []
        for i, r in enumerate(self.plan.rules, start=1):
            f = results.get(r.code)
            if f is not None and f.height:
                frames.append(tagged(f, i, unit))
                if (f.get_column("rule") == FAILED).any():
                    self.failed.add(r.code)
        if not frames:
            return
        df = finish(self.plan, F.concat(frames), sort=False)
        heads = skeleton.filter(pl.col("seg_id").is_in(["ISA", "GS"])).select(
            pl.col("file_id").cast(pl.UInt32), pl.col("seg_index").cast(pl.UInt32)
            .alias("segment_index"), _head=pl.lit(True)).unique()
        df = df.join(heads, on=["file_id", "segment_index"], how="left", maintain_order="left")
        df = df.with_columns((_repeat(df) | pl.col("segment_index").is_null()
                              | pl.col("_head").fill_null(False)).alias("_head"))
        loose = pl.col("_head")
        keep = [c for c in df.columns if c not in ("_prefix", "_head")]
        self.findings.add(df.filter(~loose).select(keep), df.filter(loose).drop("_head"))

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
        self._keep(shift(unpack(r.claims)), shift(unpack(r.lines)),
                   {name: shift(unpack(a)) for name, a in r.notes.items()})
        self.batches.append(Batch(files, pl.DataFrame(), move(r.transactions), pl.DataFrame(),
                                  pl.DataFrame(), pl.DataFrame()))
        skeleton = shift(r.skeleton)
        self.skeletons.append(skeleton)
        self._findings(shift(unpack(r.load_findings)),
                       {c: shift(unpack(f), mark=True) for c, f in r.results.items()
                        if f is not None}, skeleton)
        for name, f in r.faults.items():
            self.faults.setdefault(name, []).append(move(f, mark=True))
        self.offsets.advance(r.counts)
        if state is not None:
            state.segments += r.segments
            for seg_id, attr in (("ISA", "isa_index"), ("GS", "gs_index")):
                idx = skeleton.filter(pl.col("seg_id") == seg_id)["seg_index"]
                if idx.len():
                    setattr(state, attr, int(idx[-1]))

    def checkpoint(self) -> tuple:
        """Where the merge stands (see :meth:`rollback`)."""
        return (len(self.batches), len(self.skeletons), self.findings.checkpoint(),
                len(self.keys), len(self.hashes), len(self.state_keys), len(self.store.parts),
                len(self.line_store.parts), {k: len(v) for k, v in self.faults.items()},
                dict(self.offsets.seen), set(self.failed))

    def rollback(self, mark: tuple) -> None:
        """Forget what was merged since ``mark`` (the pieces of a file that then failed)."""
        nb, ns, found, nk, nh, nsk, nc, nl, nf, seen, failed = mark
        for items, n in ((self.batches, nb), (self.skeletons, ns), (self.keys, nk),
                         (self.hashes, nh), (self.state_keys, nsk), (self.store.parts, nc),
                         (self.line_store.parts, nl),
                         *((v, nf.get(k, 0)) for k, v in self.faults.items())):
            del items[n:]
        self.findings.rollback(found)
        self.offsets.seen = dict(seen)
        self.failed = failed

    def add_failed(self, unit: Unit, exc: BaseException) -> None:
        """A single file whose check failed as a whole: unreadable (FILE001)."""
        b = failed_file(unit.first_id, unit.paths[0], exc)  # type: ignore[arg-type]
        self._keep(for_client(b.claims, CLIENT_CLAIMS), for_client(b.lines, CLIENT_LINES), {})
        self._findings(b.load_findings, {}, b.segments.select(_SKELETON_COLS))
        b.claims = b.lines = b.load_findings = pl.DataFrame()
        self.batches.append(b)
        self.skeletons.append(b.segments.select(_SKELETON_COLS))

    def finish(self) -> Merged:
        """The merged context, every rule's findings (envelope trailer and batch rules run
        here), the annotators' faults and the claims' store."""
        files = _one_row_per_file(pl.concat([b.files for b in self.batches], how="vertical_relaxed"))
        skeleton = pl.concat(self.skeletons, how="vertical_relaxed")
        batches, self.batches, self.skeletons = self.batches, [], []
        transactions = _concat([unpack(b.transactions) for b in batches])
        keys = pl.concat(self.keys, how="vertical_relaxed", rechunk=False) if self.keys else \
            self.store.empty(KEY_COLUMNS)
        self.keys = []
        earlier, state = self.plan.options.earlier, None
        if earlier is not None and self.batch_keys is not None:
            state = (pl.concat(self.state_keys, how="vertical_relaxed") if self.state_keys else
                     keys.select("claim_key", "file_id").with_columns(
                         id_key=pl.lit(None, pl.UInt64), dup_key=pl.lit(None, pl.UInt64)))
            self.state_keys = []
        base = [c for c in self.store.schema if c not in self.store.notes]
        if self.batch_keys is None:  # every claim, for a batch rule without keys (a plugin's)
            claims = self.store.frame(base)
            lines = self.line_store.frame(list(self.line_store.schema))
        else:
            wanted = _candidates(pl.concat(self.hashes, how="vertical_relaxed") if self.hashes
                                 else pl.DataFrame())
            self.hashes = []
            if state is not None and self.batch_keys:  # (DUP401/DUP402 read those too)
                wanted = pl.concat([wanted, _seen_before(state, earlier)])
            claims = self.store.frame(base, wanted)
            lines = self.line_store.frame(list(self.line_store.schema), wanted)
            log.info("the batch-wide rules read %d of the %d claims (those their keys select)",
                     claims.height, keys.height)
        merged = Batch(files=files, segments=skeleton, transactions=transactions,
                       claims=claims, lines=lines, load_findings=F.empty())
        del batches
        merged.split = SplitSegments(skeleton)
        ctx = self.plan.context(merged)
        late = []  # the batch-wide and envelope trailer rules' findings, then the faults
        for i, r in enumerate(self.plan.rules, start=1):
            if r.batch or r.code in ENVELOPE_TRAILERS:
                f = run_rule(ctx, r)
                if f is not None and f.height:
                    late.append(tagged(f, i))
                    if (f.get_column("rule") == FAILED).any():
                        self.failed.add(r.code)
        if self.batch_keys is not None:  # the outputs read the store; memory keeps the keys
            merged.claims = keys.select(c for c in KEY_COLUMNS if c in keys.columns)
            merged.lines = lines.head(0)
            ctx = self.plan.context(merged)
        faults = {k: _once(F.concat([unpack(f) for f in v])) for k, v in self.faults.items()}
        base = len(self.plan.rules) + 1
        late += [tagged(f, base + k) for k, f in enumerate(faults.values()) if f.height]
        loose = [_once_loose(F.concat(self.findings.loose))] if self.findings.loose else []
        if late:
            loose.append(finish(self.plan, F.concat(late), sort=False))
        self.findings.close(F.concat(loose) if loose else tagged(F.empty(), 0))
        failed = [r.code for r in self.plan.rules if r.code in self.failed]
        return Merged(ctx, {}, faults, self.store, findings=self.findings, failed=failed,
                      state_keys=state)


def _candidates(keys: pl.DataFrame) -> pl.Series:
    """The claims the batch rules read: those sharing a key with another claim, or whose
    Boolean key is true (key columns ``_k0``, ``_k1``…, see Merge._keep). Shared hashes are
    found by sorting (numpy): a hash table over every claim took ~100 B a claim."""
    cols = [c for c in keys.columns if c.startswith("_k")]
    if not cols or not keys.height:
        return pl.Series("claim_key", [], pl.UInt32)
    hit = np.zeros(keys.height, dtype=bool)
    for c in cols:
        col = keys.get_column(c)
        if col.dtype == pl.Boolean:
            hit |= col.fill_null(False).to_numpy()
            continue
        values = col.fill_null(0).to_numpy()  # (a null: hash 0, told apart below)
        present = col.is_not_null().to_numpy()
        ordered = np.sort(values[present])
        shared = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        if len(shared):
            hit |= present & np.isin(values, shared)
    return keys.get_column("claim_key").filter(pl.Series(hit))


def _seen_before(state: pl.DataFrame, earlier: EarlierClaims) -> pl.Series:
    """The claims whose DUP401 or DUP402 key (hashed, see Merge._state_keys) an earlier run
    passed: matched once over the batch, not unit by unit against every earlier key."""
    seen = (state["id_key"].is_in(earlier.keys["id_key"].drop_nulls().implode())
            | state["dup_key"].is_in(earlier.keys["dup_key"].drop_nulls().implode()))
    return state["claim_key"].filter(seen.fill_null(False))


def notes_columns(notes: dict[str, pl.DataFrame]) -> list[str]:
    """The columns the annotators' tables add (all but ``claim_key``)."""
    return [c for note in notes.values() for c in note.columns if c != "claim_key"]


def with_note(claims: pl.DataFrame, note: pl.DataFrame) -> pl.DataFrame:
    """``claims`` with an annotator's columns (``note``: ``claim_key`` and its columns),
    joined on the key alone so that the claims table is not copied."""
    cols = claims.select("claim_key").join(note, on="claim_key", how="left",
                                           maintain_order="left")
    clash = set(cols.columns) - {"claim_key"} & set(claims.columns)
    if cols.height != claims.height or clash:  # (a claim annotated twice: as a join would)
        return claims.join(note, on="claim_key", how="left", maintain_order="left")
    return claims.hstack(cols.drop("claim_key").get_columns())


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


def _repeat(df: pl.DataFrame) -> pl.Expr:
    """Findings that may repeat what an earlier piece of their file found: on its prefix
    headers, and whole-file INT001 findings of a failed check."""
    marked = pl.col("_prefix").fill_null(False) if "_prefix" in df.columns else pl.lit(False)
    return marked | ((pl.col("rule") == FAILED) & pl.col("segment_index").is_null())


def _once_loose(df: pl.DataFrame) -> pl.DataFrame:
    """:func:`_once` over the loose findings of every unit, rule by rule (the loader's are
    never dropped). Every finding a repeat can equal is loose: it has no segment, or its
    segment is an ISA or GS header (see Merge._findings)."""
    repeat = _repeat(df) & (pl.col("_src") > 0)
    cols = [c for c in df.columns if c != "_prefix"]
    if not df.height or not df.select(repeat.any()).item():
        return df.select(cols)
    df = df.sort(TIE)
    same = [c for c in cols if c not in TIE]
    first = pl.struct(same).is_first_distinct().over("_src")
    return df.filter(~repeat | first).select(cols)


def _once(df: pl.DataFrame) -> pl.DataFrame:
    """Without a piece's repeats of what an earlier piece of its file found (see
    :func:`_repeat`)."""
    repeat = _repeat(df)
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


def check_units(plan: Plan, units: list[Unit], run=None) -> Merged:
    """Check ``units`` in this process, one at a time (or through ``run``, which takes the
    units and gives each one's result or the exception it failed with, in order), merging
    each result as it comes: the client never holds more than the result being merged. A
    run of files that fails as a whole is checked again file by file; a file that fails on
    its own (or any piece of it) becomes unreadable (FILE001)."""
    run = run or _run_here
    merge = Merge(plan)
    broken: set[int] = set()  # cut files one of whose pieces failed
    start: tuple | None = None  # the merge before the first piece of the current cut file
    for u, r in zip(units, run(plan, units), strict=True):
        if u.piece is not None:
            if u.first_id in broken:
                continue
            if u.piece.index == 0:
                start = merge.checkpoint()
            if isinstance(r, BaseException):  # the whole file fails, as a whole read would
                merge.rollback(start)
                merge.files[u.first_id] = _FileState()
                merge.add_failed(u, r)
                broken.add(u.first_id)
                continue
        elif isinstance(r, BaseException) and len(u.paths) > 1:
            log.error("%s could not be checked (%s); checking them again file by file",
                      u.describe(), _why(r))
            singles = u.singles()
            for s, again in zip(singles, run(plan, singles), strict=True):
                _add(merge, s, again)
            continue
        _add(merge, u, r)
        del r  # (freed before the next unit is checked)
    return merge.finish()


def _add(merge: Merge, u: Unit, r: UnitResult | BaseException) -> None:
    if isinstance(r, BaseException):
        merge.add_failed(u, r)
    else:
        merge.add(u, r)


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"


def _run_here(plan: Plan, units: list[Unit]) -> Iterator[UnitResult | BaseException]:
    from ..errors import UsageError

    for n, u in enumerate(units, start=1):
        log.info("unit %d of %d: %s", n, len(units), u.describe())
        out: UnitResult | BaseException
        try:
            out = run_unit(plan, u)
        except UsageError:
            raise
        except Exception as exc:
            log.debug("traceback of the failure", exc_info=True)
            out = exc
        yield out
