"""Where each segment stands in the file as written: byte offsets, line numbers, delimiters.

The segments table holds canonical text (see :mod:`validator.x12.load`); people and the
tools that write files back (``split``, ``fix``) need the original: the line a clerk can
open, the byte offset of a one-line file, the bytes to copy unchanged. :func:`locate`
re-reads one file and cuts it exactly as the loader and tokenizer do, so segment ``i`` here
is ``seg_index`` ``i`` of the segments table (a test checks this over the corpus).

This is not on the hot path: it runs per file, for the files a renderer or a tool needs.
"""

from __future__ import annotations

import bisect
import contextlib
from dataclasses import dataclass, field
from pathlib import Path

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

_STRIP = b" \t\n\x00"  # what the tokenizer strips around a segment


@dataclass
class Interchange:
    """One ISA..IEA stretch of the file and the delimiters its ISA declares."""

    first: int  # seg_index of its first segment (1-based)
    start: int  # byte offset of its ISA in ``data``
    delimiters: Delimiters


@dataclass
class FileSpans:
    """The segments of one file as written: ``start[i-1]``/``end[i-1]`` are the byte
    offsets of segment ``seg_index == i`` in :attr:`data` (without its terminator and the
    blanks around it), ``line[i-1]`` its 1-based line number."""

    path: str
    data: bytes  # the file's bytes (gunzipped), as on disk otherwise
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    line: list[int] = field(default_factory=list)
    interchanges: list[Interchange] = field(default_factory=list)
    multiline: bool = False  # the file has line breaks: locations are lines, else offsets

    def __len__(self) -> int:
        return len(self.start)

    def raw(self, seg_index: int) -> bytes:
        """Segment ``seg_index`` exactly as written (line breaks inside it included)."""
        return self.data[self.start[seg_index - 1] : self.end[seg_index - 1]]

    def delimiters(self, seg_index: int) -> Delimiters:
        """The delimiters of the interchange that holds segment ``seg_index``."""
        at = bisect.bisect_right([x.first for x in self.interchanges], seg_index) - 1
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
        return (self.line[seg_index - 1] if self.multiline else None,
                self.start[seg_index - 1])

    @property
    def terminator_suffix(self) -> bytes:
        """What follows the first segment terminator before the next segment (``\\n``,
        ``\\r\\n`` or nothing): used when writing a file in the same layout."""
        if not self.start:
            return b""
        term = self.interchanges[0].delimiters.segment.encode("latin-1")
        if term == b"\n":
            return b"\r\n" if self.data[self.end[0] : self.end[0] + 2] == b"\r\n" else b"\n"
        pos = self.end[0] + 1  # after the terminator
        nxt = self.start[1] if len(self.start) > 1 else len(self.data)
        gap = self.data[pos:nxt]
        return gap if gap.strip() == b"" else b""


def locate(path: Path | str) -> FileSpans:
    """Cut the file at ``path`` into segments as the loader and tokenizer do.

    Raises :class:`~validator.x12.load.LoadError` when the file cannot be read as X12 (it
    then has no segments in the segments table either).
    """
    data = read_bytes(Path(path))
    out = FileSpans(str(path), data)
    skip = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    start = _find_isa(data, skip)
    if start < 0:
        raise LoadError("FILE001", "not an X12 file: no ISA segment found")
    first = find_delimiters(data, start)
    norm, to_orig = data, None
    if first.segment == "\n":  # the loader turns CRLF and lone CR into LF first
        norm = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if len(norm) != len(data):
            crlf = _find_all(data, b"\r\n")
            at_norm = [p - k for k, p in enumerate(crlf)]  # where each pair's LF lands

            def to_orig(o: int) -> int:
                return o + bisect.bisect_right(at_norm, o)
        start = _find_isa(norm, skip)
    out.multiline = b"\n" in data or b"\r" in data
    pos, delims = start, first
    while True:
        nxt = _next_isa(norm, pos, delims)
        stop = nxt if nxt >= 0 else len(norm)
        out.interchanges.append(Interchange(len(out.start) + 1, pos, delims))
        _cut(norm, pos, stop, delims, out)
        if nxt < 0:
            break
        pos = nxt
        with contextlib.suppress(LoadError):  # a broken later ISA keeps the previous ones
            delims = find_delimiters(norm, pos)
    if to_orig is not None:
        out.start = [to_orig(o) for o in out.start]
        out.end = [to_orig(o - 1) + 1 for o in out.end]
        for x in out.interchanges:
            x.start = to_orig(x.start)
    _lines(out)
    return out


def _find_all(data: bytes, needle: bytes) -> list[int]:
    found, pos = [], data.find(needle)
    while pos >= 0:
        found.append(pos)
        pos = data.find(needle, pos + len(needle))
    return found


def _cut(data: bytes, lo: int, hi: int, d: Delimiters, out: FileSpans) -> None:
    """Append the non-empty segments of ``data[lo:hi]`` (terminator ``d.segment``)."""
    term = d.segment.encode("latin-1")
    # Outside the newline case the loader deletes CR and LF wherever they stand.
    strip = _STRIP + (b"" if term == b"\n" else b"\r\n")
    pos = lo
    while pos < hi:
        nxt = data.find(term, pos, hi)
        piece_end = hi if nxt < 0 else nxt
        s, e = pos, piece_end
        while s < e and data[s] in strip:
            s += 1
        while e > s and data[e - 1] in strip:
            e -= 1
        if s < e and data[s:e].replace(b"\r", b"").replace(b"\n", b"").strip(_STRIP):
            out.start.append(s)
            out.end.append(e)
        if nxt < 0:
            break
        pos = nxt + 1


def _lines(out: FileSpans) -> None:
    """1-based line of each segment's start (LF, or lone CR in an old Mac file)."""
    nl = b"\n" if b"\n" in out.data else b"\r"
    line, last = 1, 0
    for s in out.start:
        line += out.data.count(nl, last, s)
        last = s
        out.line.append(line)


__all__ = ["SEG", "FileSpans", "Interchange", "locate"]
