"""Where some segments stand in the file as written, in one streaming pass.

:func:`~validator.x12.spans.locate` maps every segment of a file and holds its bytes: for a
large file that is several times the file's size in memory. Finding locations need only the
segments that have findings, so :func:`locate_wanted` streams through the file in bounded
blocks (each cut right after a segment terminator or at an interchange), cuts each block
exactly as ``locate`` does (same vectorised steps over the same bytes, so segment ``i``
here is segment ``i`` there and ``seg_index`` ``i`` of the segments table), and keeps, for
the wanted segments only, their byte offsets, line numbers and bytes as written (plus the
first bytes of a few segments before each, for callers that look back at the loop a
segment sits in). Memory follows the block and the number of wanted segments, not the file.

A compressed file is gunzipped whole first (as the reader does: such a file is never read
in pieces).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .load import LoadError, _find_isa, find_delimiters, read_bytes
from .spans import Interchange, _crlf_in_norm, _skip_blanks

BLOCK = 8 << 20  # bytes of the file cut at a time
_TAIL = 4096  # bytes past a block's end that an ISA's delimiters may need


@dataclass
class WantedSpans:
    """The segments ``index`` (sorted seg_indexes) of a file of ``count`` segments:
    ``starts``/``ends`` their byte offsets in the file as written (as
    :class:`~validator.x12.spans.FileSpans` gives them), ``lines`` their 1-based lines
    (wanted segments only: 1 for a look-back one),
    ``data[at[k]:at[k] + size[k]]`` the bytes of segment ``index[k]`` as written (for a
    segment kept only as a look-back, its first ``head`` bytes)."""

    path: str
    count: int
    multiline: bool  # the file has line breaks: locations are lines, else offsets
    interchanges: list[Interchange]
    index: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    lines: np.ndarray
    data: bytes
    at: np.ndarray
    size: np.ndarray
    # In parts (see :func:`locate_wanted_parts`): ``lines`` counted in LFs, these in CRs,
    # and whether an LF was seen so far (lines count in CRs only in a file without LFs).
    lines_cr: np.ndarray | None = None
    lf_seen: bool = False

    def __len__(self) -> int:
        return self.count

    def rows(self, seg_indexes: np.ndarray) -> np.ndarray:
        """Row of each of ``seg_indexes`` (which must be kept) in the arrays above."""
        return np.searchsorted(self.index, seg_indexes)


LOOKBACK = 6  # segments looked back for the NM1 that opens a segment's loop (locations)
PREFIX = 16  # first bytes of those segments kept (their ID and first element)


def locate_wanted(path: Path | str, wanted: np.ndarray, before: int = 0,
                  head: int = 16) -> WantedSpans:
    """The segments ``wanted`` (1-based seg_indexes; those past the file's end are left
    out) of the file at ``path``, and the first ``head`` bytes of the ``before`` segments
    before each. Raises :class:`~validator.x12.load.LoadError` as ``locate`` does."""
    wanted = _sorted_unique(np.asarray(wanted, dtype=np.int64))
    wanted = wanted[wanted >= 1]
    back = (wanted[:, None] - np.arange(1, before + 1)[None, :]).ravel()
    keep = _sorted_unique(np.concatenate([wanted, back[back >= 1]]))
    at = np.minimum(np.searchsorted(wanted, keep), max(len(wanted) - 1, 0))
    full = wanted[at] == keep if len(wanted) else np.zeros(len(keep), dtype=bool)
    return _Stream(Path(path), keep, full, head).run()


def locate_wanted_parts(path: Path | str, wanted: np.ndarray, before: int = 0,
                        head: int = 16, rows: int = 200_000) -> Iterator[WantedSpans]:
    """:func:`locate_wanted` in parts of about ``rows`` kept segments, as the stream
    passes them: memory follows ``rows``, not the number of wanted segments.

    Each part holds the segments kept up to its ``count`` (the segments passed so far)
    since the previous part's ``count``, and the last ``before`` kept segments of the
    previous parts (the look-back of its first wanted segments). Whether the file has
    lines, and of which kind, is known only at its end: a part gives ``lines`` counted in
    LFs and ``lines_cr`` in CRs; the last part's ``multiline`` and ``lf_seen`` tell which
    counts."""
    wanted = _sorted_unique(np.asarray(wanted, dtype=np.int64))
    wanted = wanted[wanted >= 1]
    back = (wanted[:, None] - np.arange(1, before + 1)[None, :]).ravel()
    keep = _sorted_unique(np.concatenate([wanted, back[back >= 1]]))
    del back
    at = np.minimum(np.searchsorted(wanted, keep), max(len(wanted) - 1, 0))
    full = wanted[at] == keep if len(wanted) else np.zeros(len(keep), dtype=bool)
    del at, wanted
    return _Stream(Path(path), keep, full, head, flush=max(rows, 1), carry=before).parts()


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    if len(a) > 1 and not (a[1:] > a[:-1]).all():
        a = np.sort(a)
        a = a[np.concatenate([[True], a[1:] != a[:-1]])]
    return a


class _Stream:
    """One pass over a file: state carried from block to block."""

    def __init__(self, path: Path, keep: np.ndarray, full: np.ndarray, head: int,
                 flush: int = 0, carry: int = 0) -> None:
        self.path = path
        self.keep, self.full, self.head = keep, full, head
        self.flush, self.carry = flush, carry  # (parts: see locate_wanted_parts)
        self.pending = 0  # kept segments not given in a part yet
        self.count = 0  # segments cut so far
        self.lf = self.cr = 0  # LF and CR bytes before the buffer
        self.interchanges: list[Interchange] = []
        self.out_rows: list[np.ndarray] = []
        self.out_starts: list[np.ndarray] = []
        self.out_ends: list[np.ndarray] = []
        self.out_lf: list[np.ndarray] = []
        self.out_cr: list[np.ndarray] = []
        self.out_bytes: list[bytes] = []  # the kept segments' bytes, joined per block
        self.out_size: list[np.ndarray] = []

    def _blocks(self) -> Iterator[bytes]:
        try:
            f = self.path.open("rb")
        except OSError as exc:
            raise LoadError("FILE001", f"cannot read file: {exc.strerror or exc}") from None
        with f:
            first = f.read(BLOCK)
            if first[:2] == b"\x1f\x8b":  # compressed: gunzipped whole, as the reader does
                data = read_bytes(self.path)
                for i in range(0, len(data), BLOCK):
                    yield data[i : i + BLOCK]
                return
            while first:
                yield first
                first = f.read(BLOCK)

    def run(self) -> WantedSpans:
        return next(self.parts())

    def parts(self) -> Iterator[WantedSpans]:
        blocks = self._blocks()
        buf, eof = b"", False

        def more() -> bool:
            nonlocal buf, eof
            block = next(blocks, None)
            if block is None:
                eof = True
                return False
            buf += block
            return True

        # The first ISA (text before it counts for lines and offsets only).
        buf_at = 0
        skip = 0
        while True:
            more()
            if buf_at == 0 and buf[:3] == b"\xef\xbb\xbf":
                skip = 3
            start = _find_isa(buf, skip)
            if start >= 0 and (eof or len(buf) - start >= _TAIL):
                break
            if eof:
                raise LoadError("FILE001", "not an X12 file: no ISA segment found")
            if start < 0 and len(buf) > 8:  # keep a few bytes: "ISA" may straddle blocks
                cut = len(buf) - 8
                self._advance(buf, cut)
                # (from 1: an ISA at 0 was looked at with the byte before it, and refused)
                buf, buf_at, skip = buf[cut:], buf_at + cut, 1
        first = find_delimiters(buf, start)
        self._advance(buf, start)
        buf, buf_at = buf[start:], buf_at + start
        normalise = first.segment == "\n"  # the loader turns CRLF and lone CR into LF
        delims = first
        self.interchanges.append(Interchange(1, buf_at, delims))
        isa_here, after_term = True, False  # the buffer starts at an ISA / after a terminator
        while True:
            if not eof and len(buf) < BLOCK + _TAIL:
                more()
                continue
            norm = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if normalise else buf
            limit = len(norm) if eof else len(norm) - _TAIL
            if limit <= 0:  # (CRLF pairs made the buffer shorter than the tail)
                more()
                continue
            term = delims.segment.encode("latin-1")
            nxt = _next_start(norm, 3 if isa_here else 0, limit, term, after_term)
            if nxt >= 0:
                end = nxt
            elif eof:
                end = len(norm)
            else:
                r = norm.rfind(term, 0, limit)
                if r < 0:  # no terminator in the whole buffer: read on
                    more()
                    continue
                end = r + 1
            crlf = _crlf_in_norm(buf) if len(norm) != len(buf) else None
            raw_end = end + (int(np.searchsorted(crlf, end, side="left")) if crlf is not None
                             else 0)
            self._cut(buf, buf_at, norm, end, term, crlf, raw_end)
            if self.flush and self.pending >= self.flush:
                yield self._result()
            buf, buf_at = buf[raw_end:], buf_at + raw_end
            if nxt >= 0:
                isa_here, after_term = True, False
                with contextlib.suppress(LoadError):  # a broken later ISA keeps the previous
                    delims = find_delimiters(norm, nxt)
                self.interchanges.append(Interchange(self.count + 1, buf_at, delims))
            elif eof:
                break
            else:
                isa_here, after_term = False, True
        self._advance(buf, len(buf))
        yield self._result()

    def _advance(self, buf: bytes, end: int) -> None:
        """Count the line breaks of ``buf[:end]``, which the stream has passed. (CRs only
        until an LF is seen: lines are counted in LFs when the file has any.)"""
        self.lf += buf.count(b"\n", 0, end)
        if not self.lf:
            self.cr += buf.count(b"\r", 0, end)

    def _cut(self, buf: bytes, buf_at: int, norm: bytes, end: int, term: bytes,
             crlf: np.ndarray | None, raw_end: int) -> None:
        """Cut ``norm[:end]`` (one interchange's stretch, ``buf[:raw_end]`` as written) as
        ``spans._cut`` does: count its segments, keep the wanted ones, and pass it."""
        arr = np.frombuffer(norm, dtype=np.uint8, count=end)
        t = np.flatnonzero(arr == term[0])
        b = np.empty(len(t) + 1, dtype=np.int64)
        b[0] = 0
        b[1:] = t + 1
        e = np.empty(len(t) + 1, dtype=np.int64)
        e[:-1] = t
        e[-1] = end
        s = _skip_blanks(arr, norm, b, e, forward=True)
        nonempty = np.flatnonzero(s < e)
        n = len(nonempty)
        lo, hi = np.searchsorted(self.keep, [self.count + 1, self.count + n + 1])
        if hi > lo:
            rows = np.arange(lo, hi)
            pick = nonempty[self.keep[lo:hi] - self.count - 1]
            s_k = s[pick]
            e_k = _skip_blanks(arr, norm, e[pick], s_k, forward=False)
            if crlf is not None:  # offsets in ``norm`` back to offsets in the file's bytes
                s_k = s_k + np.searchsorted(crlf, s_k, side="right")
                e_k = e_k + np.searchsorted(crlf, e_k - 1, side="right")
            full = self.full[lo:hi]
            lf = np.zeros(len(s_k), dtype=np.int64)  # lines of the wanted rows only
            cr = lf.copy()
            lf[full], lf_passed = _before(buf, b"\n", s_k[full], raw_end)
            lf[full] += self.lf
            if not self.lf and b"\n" not in buf:  # (CRs count only in a file without LFs)
                cr[full] = self.cr + _before(buf, b"\r", s_k[full], raw_end)[0]
            self.out_lf.append(lf)
            self.out_cr.append(cr)
            self.out_rows.append(rows)
            self.out_starts.append(s_k + buf_at)
            self.out_ends.append(e_k + buf_at)
            cut = np.where(full, e_k, np.minimum(e_k, s_k + self.head))
            self.out_bytes.append(b"".join([buf[x:y] for x, y in zip(s_k.tolist(), cut.tolist(),
                                                                    strict=True)]))
            self.out_size.append(cut - s_k)
            self.pending += len(rows)
            self.lf += lf_passed
            if not self.lf:
                self.cr += buf.count(b"\r", 0, raw_end)
        else:
            self._advance(buf, raw_end)
        self.count += n

    def _result(self) -> WantedSpans:
        """The kept segments not given yet (all of them, in one run); in parts, the last
        ``carry`` are kept for the next part too."""
        def cat(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

        rows = cat(self.out_rows)
        size = cat(self.out_size)
        at = np.zeros(len(size), dtype=np.int64)
        np.cumsum(size[:-1], out=at[1:])
        lf, cr = cat(self.out_lf) + 1, cat(self.out_cr) + 1
        data = b"".join(self.out_bytes)
        parts = bool(self.flush)
        spans = WantedSpans(str(self.path), self.count, bool(self.lf or self.cr),
                            list(self.interchanges), self.keep[rows], cat(self.out_starts),
                            cat(self.out_ends), lf if self.lf or parts else cr, data, at,
                            size, cr if parts else None, bool(self.lf))
        self.pending = 0
        lists = (self.out_rows, self.out_starts, self.out_ends, self.out_lf, self.out_cr,
                 self.out_size)
        for out in lists:
            out.clear()
        self.out_bytes.clear()
        if parts and self.carry and len(rows):  # the next part's look-back
            k = max(len(rows) - self.carry, 0)
            for out, a in zip(lists, (rows, spans.starts, spans.ends, lf - 1, cr - 1, size),
                              strict=True):
                out.append(a[k:])
            self.out_bytes.append(data[int(at[k]):])
        return spans


def _before(buf: bytes, byte: bytes, at: np.ndarray, end: int) -> tuple[np.ndarray, int]:
    """How many ``byte``s ``buf`` holds before each of the offsets ``at`` (ascending, below
    ``end``), and before ``end``."""
    if len(at) * 1024 > end:  # many: one whole-buffer pass
        where = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8, count=end) == byte[0])
        return np.searchsorted(where, at), len(where)
    out = np.empty(len(at), dtype=np.int64)
    n = prev = 0
    for k, x in enumerate(at.tolist()):
        n += buf.count(byte, prev, x)
        out[k], prev = n, x
    return out, n + buf.count(byte, prev, end)


def _next_start(norm: bytes, lo: int, hi: int, term: bytes, after_term: bool) -> int:
    """Where the next interchange starts in ``norm[lo:hi]`` (-1 when not there), as
    :func:`~validator.x12.load._next_isa` finds it: an ISA right after the terminator of the
    segment before it (and maybe white space). ``after_term``: the byte before ``norm`` is
    a terminator."""
    skip = b" \t" if term == b"\n" else b" \t\r\n"
    floor = lo - 3 if lo else -1  # _next_isa looks back no further than the ISA before
    pos = lo
    while (i := _find_isa(norm, pos)) >= 0 and i < hi:
        k = i - 1
        while k > floor and norm[k] in skip:
            k -= 1
        if (k < 0 and after_term) or (k >= 0 and norm[k : k + 1] == term):
            return i
        floor, pos = i, i + 3
    return -1


__all__ = ["WantedSpans", "locate_wanted"]
