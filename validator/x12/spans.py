"""Where each segment stands in the file as written: byte offsets, line numbers, delimiters.

The segments table holds canonical text (see :mod:`validator.x12.load`); people and the
tools that write files back (``split``, ``fix``) need the original: the line a clerk can
open, the byte offset of a one-line file, the bytes to copy unchanged. :func:`locate`
re-reads one file and cuts it exactly as the loader and tokenizer do, so segment ``i`` here
is ``seg_index`` ``i`` of the segments table (a test checks this over the corpus and many
layouts).

The cutting is whole-array work (numpy over the file's bytes: terminator positions, a few
vectorised steps over the blanks around segments, line numbers by binary search over the
newline positions): about 0.25 s of CPU for a 44 MB file of 1.72M segments, 8x less than a
Python loop over the segments. Line numbers are computed only when asked, and then only
for the segments asked about (:meth:`FileSpans.lines`).
"""

from __future__ import annotations

import bisect
import contextlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .load import (
    COMP,
    ELEM,
    REP,
    SEG,
    Delimiters,
    LoadError,
    _find_isa,
    _next_isa,
    find_delimiters,
    read_bytes,
)

# What the tokenizer drops around a segment (and what makes a segment empty): white space
# and NUL, plus CR and LF, which the loader deletes (or turns into the newline terminator).
_BLANK_BYTES = b" \t\n\x00\r"
_BLANK = np.zeros(256, dtype=bool)
_BLANK[list(_BLANK_BYTES)] = True
_VECTOR_STEPS = 16  # blanks stepped over whole-array; longer runs are stripped one by one


@dataclass
class Interchange:
    """One ISA..IEA stretch of the file and the delimiters its ISA declares."""

    first: int  # seg_index of its first segment (1-based)
    start: int  # byte offset of its ISA in ``data``
    delimiters: Delimiters


class FileSpans:
    """The segments of one file as written: ``start[i-1]``/``end[i-1]`` are the byte
    offsets of segment ``seg_index == i`` in :attr:`data` (without its terminator and the
    blanks around it), ``line[i-1]`` its 1-based line number.

    ``starts``/``ends`` hold the same offsets as numpy arrays (``start``/``end``/``line``
    are plain lists, made on first use); :meth:`lines` gives the lines of some segments
    only.
    """

    def __init__(self, path: str, data: bytes, starts: np.ndarray, ends: np.ndarray,
                 interchanges: list[Interchange], multiline: bool) -> None:
        self.path = path
        self.data = data  # the file's bytes (gunzipped), as on disk otherwise
        self.starts = starts
        self.ends = ends
        self.interchanges = interchanges
        self.multiline = multiline  # the file has line breaks: locations are lines, else offsets
        self._firsts = [x.first for x in interchanges]

    def __len__(self) -> int:
        return len(self.starts)

    @cached_property
    def start(self) -> list[int]:
        return self.starts.tolist()

    @cached_property
    def end(self) -> list[int]:
        return self.ends.tolist()

    @cached_property
    def line(self) -> list[int]:
        return self._line_array.tolist()

    @cached_property
    def _newlines(self) -> np.ndarray:
        """Offsets of the line breaks: LF, or lone CR in an old Mac file."""
        nl = 10 if b"\n" in self.data else 13
        return np.flatnonzero(np.frombuffer(self.data, dtype=np.uint8) == nl)

    @cached_property
    def _line_array(self) -> np.ndarray:
        return self.lines(np.arange(1, len(self) + 1))

    def lines(self, seg_indexes: np.ndarray) -> np.ndarray:
        """1-based line numbers of the segments ``seg_indexes`` (1-based, in range)."""
        at = self.starts[np.asarray(seg_indexes, dtype=np.int64) - 1]
        return np.searchsorted(self._newlines, at, side="left") + 1

    def raw(self, seg_index: int) -> bytes:
        """Segment ``seg_index`` exactly as written (line breaks inside it included)."""
        return self.data[int(self.starts[seg_index - 1]) : int(self.ends[seg_index - 1])]

    def delimiters(self, seg_index: int) -> Delimiters:
        """The delimiters of the interchange that holds segment ``seg_index``."""
        at = bisect.bisect_right(self._firsts, seg_index) - 1
        return self.interchanges[max(at, 0)].delimiters

    def text(self, seg_index: int) -> str:
        """Segment ``seg_index`` with its own delimiters and no line breaks, as a person
        reads it (``CLM*A1*100***11:B:1*Y*A*Y*Y``)."""
        raw = self.raw(seg_index)
        return raw.replace(b"\r", b"").replace(b"\n", b"").decode("utf-8", errors="replace")

    def canonical(self, seg_index: int) -> str:
        """Segment ``seg_index`` in canonical separators: equals the segments table's
        ``raw``."""
        d = self.delimiters(seg_index)
        table = {ord(d.element): ELEM, ord(d.component): COMP, 1: "?"}
        if d.repetition:
            table[ord(d.repetition)] = REP
        return self.text(seg_index).translate(table)

    def encode(self, seg_index: int, canonical: str) -> bytes:
        """Canonical segment text (as in the segments table) written back in the delimiters
        of the interchange that holds segment ``seg_index`` (without terminator)."""
        d = self.delimiters(seg_index)
        table = {ord(ELEM): d.element, ord(COMP): d.component}
        if d.repetition:
            table[ord(REP)] = d.repetition
        return canonical.translate(table).encode("utf-8")

    def location(self, seg_index: int) -> tuple[int | None, int]:
        """``(line, byte_offset)``: the line only when the file has line breaks."""
        line = int(self.lines(np.array([seg_index]))[0]) if self.multiline else None
        return line, int(self.starts[seg_index - 1])

    @property
    def terminator_suffix(self) -> bytes:
        """What follows the first segment terminator before the next segment (``\\n``,
        ``\\r\\n`` or nothing): used when writing a file in the same layout."""
        if not len(self):
            return b""
        term = self.interchanges[0].delimiters.segment.encode("latin-1")
        end0 = int(self.ends[0])
        if term == b"\n":
            return b"\r\n" if self.data[end0 : end0 + 2] == b"\r\n" else b"\n"
        pos = end0 + 1  # after the terminator
        nxt = int(self.starts[1]) if len(self) > 1 else len(self.data)
        gap = self.data[pos:nxt]
        return gap if gap.strip() == b"" else b""


def locate(path: Path | str) -> FileSpans:
    """Cut the file at ``path`` into segments as the loader and tokenizer do.

    Raises :class:`~validator.x12.load.LoadError` when the file cannot be read as X12 (it
    then has no segments in the segments table either).
    """
    data = read_bytes(Path(path))
    skip = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    start = _find_isa(data, skip)
    if start < 0:
        raise LoadError("FILE001", "not an X12 file: no ISA segment found")
    first = find_delimiters(data, start)
    norm, crlf = data, None
    if first.segment == "\n":  # the loader turns CRLF and lone CR into LF first
        norm = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if len(norm) != len(data):
            crlf = _crlf_in_norm(data)
        start = _find_isa(norm, skip)
    arr = np.frombuffer(norm, dtype=np.uint8)
    interchanges: list[Interchange] = []
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    count = 0
    pos, delims = start, first
    while True:
        nxt = _next_isa(norm, pos, delims)
        stop = nxt if nxt >= 0 else len(norm)
        interchanges.append(Interchange(count + 1, pos, delims))
        s, e = _cut(arr, norm, pos, stop, ord(delims.segment.encode("latin-1")))
        starts.append(s)
        ends.append(e)
        count += len(s)
        if nxt < 0:
            break
        pos = nxt
        with contextlib.suppress(LoadError):  # a broken later ISA keeps the previous ones
            delims = find_delimiters(norm, pos)
    s_all = np.concatenate(starts) if len(starts) > 1 else starts[0]
    e_all = np.concatenate(ends) if len(ends) > 1 else ends[0]
    if crlf is not None:  # offsets in ``norm`` back to offsets in ``data``
        s_all = s_all + np.searchsorted(crlf, s_all, side="right")
        e_all = e_all + np.searchsorted(crlf, e_all - 1, side="right")
        for x in interchanges:
            x.start = int(x.start + np.searchsorted(crlf, x.start, side="right"))
    multiline = b"\n" in data or b"\r" in data
    return FileSpans(str(path), data, s_all, e_all, interchanges, multiline)


def _crlf_in_norm(data: bytes) -> np.ndarray:
    """Where the LF of each CRLF pair of ``data`` lands once the pairs are one LF each."""
    a = np.frombuffer(data, dtype=np.uint8)
    cr = np.flatnonzero(a[:-1] == 13)
    pairs = cr[a[cr + 1] == 10]
    return pairs - np.arange(len(pairs))


def _cut(arr: np.ndarray, data: bytes, lo: int, hi: int,
         term: int) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` of the non-empty segments of ``data[lo:hi]`` (terminator byte
    ``term``): the pieces between terminators without the blanks around them."""
    t = np.flatnonzero(arr[lo:hi] == term)
    t += lo
    b = np.empty(len(t) + 1, dtype=np.int64)
    b[0] = lo
    b[1:] = t + 1
    e = np.empty(len(t) + 1, dtype=np.int64)
    e[:-1] = t
    e[-1] = hi
    s = _skip_blanks(arr, data, b, e, forward=True)
    keep = s < e
    if not keep.all():
        s, e = s[keep], e[keep]
    return s, _skip_blanks(arr, data, e, s, forward=False)


def _skip_blanks(arr: np.ndarray, data: bytes, pos: np.ndarray, limit: np.ndarray,
                 forward: bool) -> np.ndarray:
    """From each ``pos`` step over blank bytes towards ``limit``: forward, the first
    non-blank offset (``limit`` when none); backward, one past the last non-blank one."""
    pos = pos.copy()
    probe = 0 if forward else -1
    idx = np.flatnonzero(pos != limit)
    for _ in range(_VECTOR_STEPS):
        if not len(idx):
            return pos
        at = pos[idx]
        blank = _BLANK[arr[at + probe]]
        idx = idx[blank]
        pos[idx] += 1 if forward else -1
        idx = idx[pos[idx] != limit[idx]]
    for i in idx.tolist():  # long runs of blanks (rare): let bytes do them
        p, q = int(pos[i]), int(limit[i])
        if forward:
            piece = data[p:q]
            pos[i] = p + len(piece) - len(piece.lstrip(_BLANK_BYTES))
        else:
            piece = data[q:p]
            pos[i] = q + len(piece.rstrip(_BLANK_BYTES))
    return pos


__all__ = ["SEG", "FileSpans", "Interchange", "locate"]
