"""Where each finding stands in its file, in terms a person can use: the line (or, in a file
without line breaks, the byte offset) and the segment's text as written, PHI masked.

The findings carry ``file_id`` and ``segment_index`` only; here each file with findings is
re-read once, streaming (:func:`validator.x12.spans_stream.locate_wanted`: memory follows
its blocks and the segments with findings, not the file), and only the segments that have
findings (and the first bytes of a few before each) are kept. A file that cannot be read
any more (moved, deleted, no longer X12) gets null locations, never an error. The table is
computed once per run (and PHI setting) and shared by every format written.
"""

from __future__ import annotations

import logging
import weakref

import numpy as np
import polars as pl

from ..engine.result import Result
from ..engine.run import segments_by_file
from ..x12.load import LoadError
from ..x12.spans_stream import LOOKBACK, PREFIX, WantedSpans, locate_wanted_parts
from .phi import CODE, UNKNOWN_ENTITY, mask_segments

log = logging.getLogger(__name__)

LOCATION_COLUMNS = ["line", "offset", "segment_text"]
SCHEMA = {"file_id": pl.UInt32, "segment_index": pl.UInt32, "line": pl.Int64,
          "offset": pl.Int64, "segment_text": pl.String}
PART_ROWS = 200_000  # segments kept (with the look-back ones) per part of a streamed file
TEXT_LIMIT = 500  # characters of a segment's text shown (a longer one ends with "…")
_LOOP_STARTS = frozenset({"ISA", "GS", "ST", "SE", "HL", "SBR", "CLM", "LX", "LIN", "SVD"})

# (id(result), id(findings), show_phi) -> table; an entry goes when its result does.
_CACHE: dict[tuple[int, int, bool], pl.DataFrame] = {}


def finding_locations(result: Result, show_phi: bool | None = None) -> pl.DataFrame:
    """``file_id, segment_index, line, offset, segment_text`` for every distinct segment
    that has a finding (rows only for the segments found in their file)."""
    show = result.options.show_phi if show_phi is None else show_phi
    found = result.finding_store if result._findings is None else result._findings
    key = (id(result), id(found), show)
    if key not in _CACHE:
        _CACHE[key] = _compute(result, show)
        weakref.finalize(result, _CACHE.pop, key, None)
    return _CACHE[key]


def with_locations(findings: pl.DataFrame, result: Result, show_phi: bool | None = None
                   ) -> pl.DataFrame:
    """``findings`` (with ``file_id`` and ``segment_index``) plus the location columns."""
    loc = finding_locations(result, show_phi)
    keyed = findings.with_columns(pl.col("file_id").cast(pl.UInt32).alias("_fid"),
                                  pl.col("segment_index").cast(pl.UInt32).alias("_seg"))
    out = keyed.join(loc.rename({"file_id": "_fid", "segment_index": "_seg"}),
                     on=["_fid", "_seg"], how="left", maintain_order="left")
    return out.drop("_fid", "_seg")


def _compute(result: Result, show_phi: bool) -> pl.DataFrame:
    wanted = segments_by_file(result.finding_keys(["file_id", "segment_index"]),
                              result.batch.files)
    if not wanted:
        return pl.DataFrame(schema=SCHEMA)
    counts = _segment_counts(result, pl.Series([file_id for file_id, _, _ in wanted]))
    frames = []
    for file_id, path, seg in wanted:
        try:
            early = _early(result, file_id, seg)
            located = _file_locations(early, file_id, seg, show_phi) if early else \
                _streamed(path, file_id, seg, show_phi)
        except (LoadError, OSError) as exc:  # gone or changed since the check
            log.warning("%s: no finding locations (%s)", path,
                        getattr(exc, "message", None) or exc)
            continue
        count, table = located if isinstance(located, tuple) else (len(early), located)
        if counts.get(file_id, count) != count:
            log.warning("%s: no finding locations (the file changed since it was checked)", path)
            continue
        frames.append(table)
    if not frames:
        return pl.DataFrame(schema=SCHEMA)
    return pl.concat(frames)


def _streamed(path: str, file_id: int, seg: np.ndarray, show_phi: bool
              ) -> tuple[int, pl.DataFrame]:
    """The file's segment count and the locations of ``seg``, located in parts of
    :data:`PART_ROWS` segments as the file streams by (issue #18: the segments kept for a
    large file's findings, with their look-back, took ~0.7 KB a finding at once)."""
    frames, done, last = [], 0, None
    for part in locate_wanted_parts(path, seg, before=LOOKBACK, head=PREFIX, rows=PART_ROWS):
        mine = seg[(seg > done) & (seg <= part.count)]
        if len(mine):
            frames.append(_file_locations(part, file_id, mine, show_phi).with_columns(
                _cr=pl.Series(part.lines_cr[part.rows(mine)], dtype=pl.Int64)))
        done, last = part.count, part
    if last is None or not frames:
        return (last.count if last else 0), pl.DataFrame(schema=SCHEMA)
    table = pl.concat(frames)
    line = (pl.col("line") if last.lf_seen else pl.col("_cr")) if last.multiline else \
        pl.lit(None, pl.Int64)
    return last.count, table.with_columns(line.alias("line")).drop("_cr")


def _early(result: Result, file_id: int, seg: np.ndarray) -> WantedSpans | None:
    """The spans the check located while the last rules ran (see
    validator.engine.run.check_part), when they hold every segment ``seg`` asks for."""
    early = result.located.get(file_id)
    if early is None or not np.isin(seg, early[0]).all():
        return None
    try:
        return early[1].result()
    except (LoadError, OSError):  # read again, which says why
        return None


def _segment_counts(result: Result, file_ids: pl.Series) -> dict[int, int]:
    """Segments per file as checked: a file whose count differs has changed since."""
    files = result.batch.files
    if "segments" not in files.columns:  # a batch built by hand
        return {}
    known = files.filter(pl.col("file_id").is_in(file_ids.implode()))
    return dict(known.select("file_id", "segments").iter_rows())


def _file_locations(spans: WantedSpans, file_id: int, seg: np.ndarray,
                    show_phi: bool) -> pl.DataFrame:
    seg = seg[(seg >= 1) & (seg <= len(spans))]
    rows = spans.rows(seg)
    # (a part gives its lines: which count holds is known at the file's end, see _streamed)
    lines = spans.lines[rows] if spans.multiline or spans.lines_cr is not None else None
    return pl.DataFrame({
        "file_id": pl.Series(np.full(len(seg), file_id), dtype=pl.UInt32),
        "segment_index": pl.Series(seg, dtype=pl.UInt32),
        "line": pl.Series(lines, dtype=pl.Int64) if lines is not None
        else pl.repeat(None, len(seg), dtype=pl.Int64, eager=True),
        "offset": pl.Series(spans.starts[rows], dtype=pl.Int64),
        "segment_text": _texts(spans, seg, rows, show_phi),
    })


def _texts(spans: WantedSpans, seg: np.ndarray, rows: np.ndarray, show_phi: bool) -> pl.Series:
    """The segments ``seg`` (at ``rows`` of ``spans``) as a person reads them (their own
    delimiters, no line breaks), PHI masked unless ``show_phi``, at most
    :data:`TEXT_LIMIT` characters."""
    text = _cut_texts(spans, rows)
    if not show_phi:
        # Interchanges may declare different element separators: mask each group with its own.
        first = np.array([x.first for x in spans.interchanges])
        which = np.searchsorted(first, seg, side="right") - 1
        elements = [x.delimiters.element for x in spans.interchanges]
        entity = pl.Series([None] * len(seg), dtype=pl.String)
        need = np.flatnonzero(text.str.contains(r"^(N3|N4|REF)[^A-Z0-9]").to_numpy())
        if len(need):  # only these depend on the loop they sit in
            entity = entity.scatter(need, _entities(spans, seg[need], which[need], elements))
        for element in dict.fromkeys(elements):
            rows = np.flatnonzero(np.array(elements)[which] == element)
            masked = mask_segments(text.gather(rows), element, entity.gather(rows))
            text = text.scatter(rows, masked) if len(rows) < len(seg) else masked
    long = text.str.len_chars() > TEXT_LIMIT
    if long.any():
        text = pl.select(pl.when(long).then(text.str.slice(0, TEXT_LIMIT - 1) + pl.lit("…"))
                         .otherwise(text)).to_series()
    return text.alias("segment_text")


def _cut_texts(spans: WantedSpans, rows: np.ndarray) -> pl.Series:
    """The bytes of each segment, line breaks removed, as text."""
    data = spans.data
    pieces = [data[a : a + n] for a, n in zip(spans.at[rows].tolist(), spans.size[rows].tolist(),
                                              strict=True)]
    joined = b"\x1c".join(pieces)
    if b"\n" in joined or b"\r" in joined:
        joined = joined.replace(b"\r", b"").replace(b"\n", b"")
    texts = joined.decode("utf-8", errors="replace").split("\x1c") if len(rows) else []
    if len(texts) != len(rows):  # a segment holds \x1c itself (cannot come from X12)
        texts = [p.replace(b"\r", b"").replace(b"\n", b"").decode("utf-8", errors="replace")
                 for p in pieces]
    return pl.Series(texts, dtype=pl.String)


def _entities(spans: WantedSpans, seg: np.ndarray, which: np.ndarray,
              elements: list[str]) -> pl.Series:
    """Per segment, the NM101 of the NM1 a few segments before it that opens its loop (an
    N3, N4 or REF follows its NM1 closely): looked up in the first bytes of the segments
    before it, whole-array. :data:`UNKNOWN_ENTITY` when a broken segment comes first; null
    when a loop start (HL, CLM…) or nothing comes first."""
    arr = np.frombuffer(spans.data, dtype=np.uint8)
    prev = seg[:, None] - np.arange(1, LOOKBACK + 1)[None, :]  # n x LOOKBACK seg_indexes
    ok = prev >= 1
    rows = spans.rows(np.clip(prev, 1, None))  # kept: their first PREFIX bytes at least
    at = spans.at[rows]
    end = at + spans.size[rows]
    pos = at[..., None] + np.arange(PREFIX)  # n x LOOKBACK x PREFIX byte offsets
    head = np.where(pos < end[..., None], arr[np.minimum(pos, len(arr) - 1)], 0).astype(np.uint8)
    head[~ok] = 0
    head[head == 0x1C] = 0  # the joiner below
    heads = np.ascontiguousarray(head).view(f"S{PREFIX}").ravel().tolist()
    flat = pl.Series(b"\x1c".join(heads).decode("latin-1").split("\x1c"))  # IDs are ASCII
    frame = pl.DataFrame({"h": flat,
                          "el": pl.Series(np.repeat(np.array(elements)[which], LOOKBACK))})
    frame = frame.with_columns(pl.col("h").str.replace_all(r"[\r\n]", ""))
    head_els = pl.col("h").str.split(pl.col("el"))
    frame = frame.select(id=head_els.list.first(), q=head_els.list.get(1, null_on_oob=True))
    # Row-major (segment, k): column k holds the k-th segment before each one.
    cols = {f"{c}{k}": frame[c].gather_every(LOOKBACK, offset=k)
            for c in ("id", "q") for k in range(LOOKBACK)}
    ent = pl.lit(None, pl.String)
    for k in reversed(range(LOOKBACK)):  # the nearest segment decides
        sid, q = pl.col(f"id{k}"), pl.col(f"q{k}")
        ent = (pl.when(sid == "").then(ent)  # before the file's first segment
               .when(sid == "NM1").then(pl.when(q.str.contains(CODE)).then(q)
                                        .otherwise(pl.lit(UNKNOWN_ENTITY)))
               .when(~sid.str.contains(CODE)).then(pl.lit(UNKNOWN_ENTITY))
               .when(sid.is_in(list(_LOOP_STARTS))).then(pl.lit(None, pl.String))
               .otherwise(ent))
    return pl.DataFrame(cols).select(ent.alias("entity")).to_series()
