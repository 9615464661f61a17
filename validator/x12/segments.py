"""Segments table: one row per segment of the batch, placed in its envelope and loop.

The loop structure of an 837 is recovered with whole-column work: running counts of
ISA/GS/ST/HL/CLM/LX give every segment its keys, and forward-filled markers (small
integer codes, cheap to fill) tell which loop a segment sits in (claim, line,
other-subscriber 2320/2330, NM1 entity).

The table keeps each segment's ``raw`` text; elements are split only for the subsets a
consumer selects (``with_el``), which keeps filters over millions of rows cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Collection

import polars as pl

from .load import COMP, ELEM, SEG, LoadedFile

# Structural segments as small integer codes, ordered so that each marker set is a range:
# 1-6 envelope (ends every loop, also across files: each file starts with an ISA),
# 7 HL, 8 CLM, 9 LX, 10 SBR, 11-16 other segments that end an NM1 loop, 17 NM1.
_ENVELOPE = ["ISA", "GS", "ST", "SE", "GE", "IEA"]
_CODES = {s: i for i, s in enumerate(
    [*_ENVELOPE, "HL", "CLM", "LX", "SBR", "SVD", "LIN", "PAT", "CR1", "CR2", "PRV", "NM1"],
    start=1)}
ISA, GS, ST, SE, GE, IEA, HL, CLM, LX, SBR, NM1 = (
    _CODES[s] for s in ("ISA", "GS", "ST", "SE", "GE", "IEA", "HL", "CLM", "LX", "SBR", "NM1"))
_WHITESPACE = " \t\n\x00"


def tokenize(loaded: LoadedFile, file_id: int) -> pl.DataFrame:
    """Split one file's canonical bytes into ``file_id, seg_index, seg_id, raw, _code,
    _sid``.

    ``seg_index`` is 1-based over the non-empty segments from the ISA on; ``_code`` is the
    structural code of the segment (see :data:`_CODES`, 0 for the others), which
    :func:`annotate` consumes; ``_sid`` is an integer per segment ID (the same in every
    file and group), which groups rows by ID faster than the strings do.
    """
    return _drop_empty(_split(loaded.data)).select(
        pl.lit(file_id, pl.UInt32).alias("file_id"),
        pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("seg_index"),
        "seg_id", "raw", "_code", "_sid",
    )


# A segment no file holds (the loader turns \x01 into "?"): it marks where a file starts
# when several are tokenised together.
_BOUNDARY = "\x01F"


def tokenize_files(files: list[tuple[int, LoadedFile]]) -> pl.DataFrame:
    """:func:`tokenize` for several ``(file_id, loaded)`` at once, as one text: two CSV
    passes in all instead of two per file (each pass costs about a millisecond to set up,
    which adds up over a folder of small files). The result equals the files' tokenised
    one by one and concatenated."""
    if len(files) == 1:
        return tokenize(files[0][1], files[0][0])
    seg, head = SEG.encode(), (_BOUNDARY + SEG).encode()
    data = b"".join(head + f.data + (b"" if f.data.endswith(seg) else seg) for _, f in files)
    df = _split(data).with_columns(_file=(pl.col("seg_id") == _BOUNDARY).cum_sum() - 1)
    df = _drop_empty(df.filter(pl.col("seg_id") != _BOUNDARY))
    file_ids = pl.Series([i for i, _ in files], dtype=pl.UInt32)
    return df.select(
        pl.lit(file_ids).gather(pl.col("_file")).alias("file_id"),
        (pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).over("_file")).alias("seg_index"),
        "seg_id", "raw", "_code", "_sid",
    )


def _split(data: bytes) -> pl.DataFrame:
    """``raw, seg_id, _code, _sid`` of every segment of canonical text (empty ones included).

    Polars' CSV reader does the splitting (one column, the segment terminator as end of
    line), in two passes: whole segments, and their IDs (the first field with the element
    separator as delimiter), which is cheaper than cutting IDs out of the text. Both split
    lines at the same terminators, so their rows line up. IDs are read as categoricals: the
    few distinct ones are cleaned and coded once, not per row.
    """
    def read(separator: str, name: str, dtype: pl.DataType) -> pl.Series:
        return pl.read_csv(
            data, has_header=False, separator=separator, eol_char=SEG,
            quote_char=None, schema={name: dtype}, truncate_ragged_lines=True,
            extra_columns="ignore",
        ).to_series()

    raw = read("\x01", "raw", pl.String())
    ids = read(ELEM, "seg_id", pl.Categorical())
    indented = True
    if raw.len() == ids.len():
        # A segment starts with white space exactly when its first field does: the few
        # distinct IDs tell whether the start of every segment needs stripping too.
        indented = any(v != v.lstrip(_WHITESPACE) for v in ids.unique().drop_nulls())
    else:  # cannot happen; cut the IDs out of the text instead
        ids = (raw.str.strip_chars_start(_WHITESPACE).str.splitn(ELEM, 2)
               .struct.field("field_0").cast(pl.Categorical))
    seg_id, code, sid = _clean_ids(ids)
    # Stray white space or NULs around segments (indented files, trailing blanks): stripping
    # every row is cheaper than searching the bytes for where it is needed. Trailing blanks
    # alone are rare: testing each row's last character is cheaper still than a stripped
    # copy of every segment (and its fresh pages).
    if indented:
        raw = raw.str.strip_chars(_WHITESPACE)
    elif pl.select(pl.any_horizontal(pl.lit(raw).str.ends_with(c) for c in _WHITESPACE).any()
                   ).item():
        raw = raw.str.strip_chars_end(_WHITESPACE)
    return pl.DataFrame([raw, seg_id.alias("seg_id"), code.alias("_code"), sid.alias("_sid")],
                        ).rechunk()  # one chunk: gathers over chunks cost several times more


def _drop_empty(df: pl.DataFrame) -> pl.DataFrame:
    """Without the empty segments (doubled terminators, blank lines)."""
    if df.get_column("raw").null_count() or (df.get_column("raw").str.len_bytes() == 0).any():
        return df.filter(pl.col("raw").is_not_null() & (pl.col("raw") != ""))
    return df


# Cleaned segment ID -> a small integer, the same for the whole process (so across the
# groups of a batch: the codes of a categorical read are local to that read).
_SIDS: dict[str, int] = {}
_SIDS_LOCK = threading.Lock()


def _sid_of(seg_id: str) -> int:
    with _SIDS_LOCK:
        return _SIDS.setdefault(seg_id, len(_SIDS))


def _clean_ids(ids: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series]:
    """``seg_id`` strings, structural codes and ``_sid`` integers from the categorical first
    fields, worked out once per distinct value and gathered by its code.

    IDs are 2-3 characters; 4 are kept so that a longer (invalid) one never passes for a
    real ID ("NM12" is not "NM1"). Leading white space (indented files) is dropped.
    """
    distinct = pl.DataFrame({"v": ids.unique()}).with_columns(p=pl.col("v").to_physical())
    size = (distinct["p"].max() or 0) + 1  # type: ignore[operator]
    codes, sids = [0] * size, [0] * size
    cleaned: dict[str, str] = {}
    for value, phys in distinct.iter_rows():
        if value is not None:
            cleaned[value] = value.lstrip(_WHITESPACE)[:4]
            codes[phys] = _CODES.get(cleaned[value], 0)
            sids[phys] = _sid_of(cleaned[value])
    local = ids.to_physical()
    code = pl.Series(codes, dtype=pl.UInt8).gather(local).fill_null(0)
    sid = pl.Series(sids, dtype=pl.UInt32).gather(local).fill_null(_sid_of(""))
    if ids.null_count() or any(k != v for k, v in cleaned.items()):
        seg_id = ids.cast(pl.String).replace_strict(cleaned, default=None).fill_null("")
    else:
        seg_id = ids.cast(pl.String)
    return seg_id, code, sid


def with_el(df: pl.DataFrame) -> pl.DataFrame:
    """Add the ``el`` list column (el[0] = segment id, el[1] = XX01 …) to a subset."""
    return df.with_columns(el=pl.col("raw").str.split(ELEM))


def nonempty(v: pl.Expr) -> pl.Expr:
    """``v`` with empty strings as null. (``when(v != "").then(v)`` would work ``v`` out
    twice outside a lazy query, where nothing removes the repeat.)"""
    return v.replace("", None)


def el(i: int) -> pl.Expr:
    """Element ``i`` (1-based) of the segment, or null when absent or empty (needs ``el``)."""
    return nonempty(pl.col("el").list.get(i, null_on_oob=True))


def comp(i: int, j: int) -> pl.Expr:
    """Component ``j`` (1-based) of composite element ``i`` (needs ``el``)."""
    return nonempty(el(i).str.split(COMP).list.get(j - 1, null_on_oob=True))


def _mark(last: int) -> pl.Expr:
    """Code of the last structural segment with code 1..``last`` seen so far (the envelope
    always counts, so no loop survives an ISA/GS/ST/SE/GE/IEA)."""
    code = pl.col("_code")
    return pl.when((code > 0) & (code <= last)).then(code).forward_fill()


def _lookup(values: pl.Series, key: str) -> pl.Expr:
    """``values[key - 1]`` for a dense 1-based running key (null where there is none)."""
    if not values.len():
        return pl.lit(None, values.dtype)
    idx = (pl.col(key).cast(pl.Int64) - 1).clip(lower_bound=0)
    return pl.lit(values).gather(idx)


def annotate(segs: pl.DataFrame) -> pl.DataFrame:
    """Add envelope and loop keys to a batch's concatenated segments.

    Added columns: ``isa_key, gs_key (null outside GS..GE), st_key (null outside ST..SE),
    in_txn, hl_key, hl_level (HL03 of the current HL), clm_key (null outside a claim),
    lx_key (null outside a service line), in_2320, nm1`` (NM101 of the NM1 loop a segment
    belongs to).
    Keys are batch-global, so files concatenated in order keep apart. ``_sid`` (from
    :func:`tokenize`) is kept.
    """
    df = segs if "_code" in segs.columns else segs.with_columns(  # (tokenize gives it)
        _code=pl.col("seg_id").replace_strict(_CODES, default=0, return_dtype=pl.UInt8))
    code = pl.col("_code")

    def key(c: int) -> pl.Expr:
        return (code == c).cum_sum().cast(pl.UInt32)

    env = (code > 0) & (code <= len(_ENVELOPE))
    # Inside a transaction set: the last ST/envelope segment seen is an ST; an SE belongs
    # to the set it closes (an SE with no open ST stands outside). Likewise for groups: a
    # GS opens one until the next GE/ISA/IEA, so an ST with no GS before it in its
    # interchange (or file) belongs to no group, not to an earlier one.
    open_st = pl.when(code == ST).then(True).when(env).then(False).forward_fill()
    open_gs = (pl.when(code == GS).then(True).when(code.is_in([ISA, GE, IEA])).then(False)
               .forward_fill())

    def inside(opened: pl.Expr, trailer: int) -> pl.Expr:  # the trailer closes what is open
        return opened.fill_null(False) | ((code == trailer) & opened.shift(1).fill_null(False))

    df = df.with_columns(
        isa_key=key(ISA), st_key=key(ST), hl_key=key(HL),
        clm_key=key(CLM), lx_key=key(LX), _nm1_key=key(NM1),
        gs_key=pl.when(inside(open_gs, GE)).then(key(GS)),
        in_txn=inside(open_st, SE),
        _in_clm=_mark(CLM) == CLM,
        _in_lx=_mark(LX) == LX,
        _in_hl=_mark(HL) == HL,
        _in_sbr=_mark(SBR) == SBR,
        _in_nm1=_mark(NM1) == NM1,
    )
    # HL03 per HL and NM101 per NM1, looked up by the dense running keys.
    raw = pl.col("raw")
    hl_levels = df.select(raw.filter(code == HL).str.split(ELEM).list.get(3, null_on_oob=True))
    # NM101 is 2-3 characters: a short slice is enough (and cheaper than a split).
    nm101 = df.select(raw.filter(code == NM1).str.slice(4, 4).str.splitn(ELEM, 2)
                      .struct.field("field_0"))
    hl_levels, nm101 = (
        v.select(nonempty(pl.first()).cast(pl.Categorical)).to_series()
        for v in (hl_levels, nm101))
    in_clm = pl.col("_in_clm").fill_null(False)
    return df.with_columns(
        st_key=pl.when(pl.col("in_txn")).then("st_key"),
        hl_key=pl.when(pl.col("_in_hl")).then("hl_key"),
        clm_key=pl.when(in_clm).then("clm_key"),
        lx_key=pl.when(pl.col("_in_lx")).then("lx_key"),
        in_2320=pl.col("_in_sbr").fill_null(False) & in_clm,
        hl_level=pl.when(pl.col("_in_hl")).then(_lookup(hl_levels, "hl_key")),
        nm1=pl.when(pl.col("_in_nm1")).then(_lookup(nm101, "_nm1_key")),
    ).drop("_code", "_nm1_key", "_in_clm", "_in_lx", "_in_hl", "_in_sbr", "_in_nm1").rechunk()


# Columns of the segments table the split frames leave out (``el`` replaces ``raw``).
_NOT_SPLIT = ("isa_key", "gs_key", "in_txn", "_sid")


class SplitSegments:
    """A batch's segments split into elements per segment ID, each ID once, on demand.

    ``store["NM1"]`` is every NM1 row of the batch: the segments table's keys with the
    ``el`` list column in place of ``raw`` (held for the whole run, so kept lean). The
    reader and the rules share it, so no segment is split twice; :meth:`prefetch` splits
    several IDs in parallel.
    """

    def __init__(self, segs: pl.DataFrame) -> None:
        self.segs = segs
        self._rows: dict[str, pl.Series] | None = None
        self._done: dict[str, pl.DataFrame] = {}
        self._lock = threading.RLock()  # rules run on several threads

    def _row_numbers(self) -> dict[str, pl.Series]:
        if self._rows is None:  # one pass, grouping on the integer ``_sid`` when there is one
            by = pl.col("_sid" if "_sid" in self.segs.columns else "seg_id").alias("_by")
            groups = self.segs.select(by, "seg_id", _row=pl.int_range(pl.len(), dtype=pl.UInt32)
                                      ).group_by("_by").agg(pl.col("seg_id").first(), "_row")
            self._rows = dict(zip(groups["seg_id"], groups["_row"], strict=True))
        return self._rows

    def prefetch(self, seg_ids: list[str] | tuple[str, ...]) -> None:
        with self._lock:
            self._prefetch(seg_ids)

    def _prefetch(self, seg_ids: list[str] | tuple[str, ...]) -> None:
        todo = [s for s in dict.fromkeys(seg_ids) if s not in self._done]
        if not todo:
            return
        rows = self._row_numbers()
        table = self.segs.select(c for c in self.segs.columns if c not in _NOT_SPLIT)
        frames = [table[rows[s]] if s in rows else table.clear() for s in todo]
        split = pl.collect_all([
            f.lazy().with_columns(el=pl.col("raw").str.split(ELEM)).drop("raw") for f in frames])
        self._done.update(zip(todo, split, strict=True))

    def rows(self, seg_ids: tuple[str, ...] | list[str]) -> pl.DataFrame:
        """The unsplit rows (every column of the segments table) of a few IDs, in document
        order: picked by row number, with no scan of the whole table."""
        index = self._index()
        parts = [index[s] for s in dict.fromkeys(seg_ids) if s in index]
        if not parts:
            return self.segs.clear()
        return self.segs[parts[0] if len(parts) == 1 else pl.concat(parts).sort()]

    def retain(self, seg_ids: tuple[str, ...] | list[str]) -> None:
        """Free the split frames of every other segment ID (split again if asked for)."""
        with self._lock:
            self._done = {k: v for k, v in self._done.items() if k in seg_ids}

    def drop(self, seg_ids: Collection[str]) -> None:
        """Free the split frames of these IDs (split again if asked for)."""
        with self._lock:
            for s in seg_ids:
                self._done.pop(s, None)

    def in_order(self, seg_ids: tuple[str, ...] | list[str]) -> pl.DataFrame:
        """The split rows of several IDs together, in document order (file, then segment
        position); IDs the batch lacks add nothing."""
        present = [s for s in seg_ids if s in self] or list(seg_ids[:1])
        self.prefetch(present)
        parts = [self[s] for s in present]
        return pl.concat(parts).sort("file_id", "seg_index") if len(parts) > 1 else parts[0]

    def __getitem__(self, seg_id: str) -> pl.DataFrame:
        with self._lock:
            if seg_id not in self._done:
                self._prefetch([seg_id])
            return self._done[seg_id]

    def _index(self) -> dict[str, pl.Series]:
        rows = self._rows  # once computed it never changes: no need to wait for a prefetch
        if rows is None:
            with self._lock:
                rows = self._row_numbers()
        return rows

    def count(self, seg_id: str) -> int:
        """How many segments of the batch have this ID."""
        rows = self._index().get(seg_id)
        return 0 if rows is None else rows.len()

    def ids(self) -> list[str]:
        """The distinct segment IDs of the batch."""
        return list(self._index())

    def __contains__(self, seg_id: object) -> bool:
        return seg_id in self._index()
