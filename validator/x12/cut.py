"""Cutting a large file into pieces that read like the whole file.

A file larger than a piece is cut at interchange (ISA) or transaction-set (ST) boundaries,
found by one streaming pass over its bytes (memory follows the block, not the file). A
piece cut at an ST carries the text of its enclosing ISA and GS segments in front
(``prefix``), so that it reads as a well-formed envelope: every segment after the prefix
gets the same keys and loop marks as in a whole-file read, once the reader shifts them (see
validator.engine.units). A cut is made only where the envelope is clean (an ST after an SE
or its GS, inside an open GS and ISA); a file whose interchanges use different delimiters,
a compressed file or one that cannot be scanned is not cut (it is read whole).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from .load import LoadedFile, LoadError, _find_isa, _looks_utf16, find_delimiters, from_bytes

BLOCK = 8 << 20  # bytes read at a time while scanning
_TAIL = 4096  # a segment header (ISA, GS) is looked for this far past a block's end
_ANY_ISA = re.compile(rb"(?<![A-Za-z0-9])ISA[^A-Za-z0-9 \t\r\n]")  # as the reader finds one


@dataclass(frozen=True)
class Piece:
    """Bytes ``start:end`` of ``path``, read after ``prefix`` (the enclosing ISA and GS
    segments, ``n_prefix`` of them; empty for the first piece and at an ISA cut)."""

    path: Path
    index: int  # 0 for the piece at the start of the file
    start: int
    end: int
    prefix: bytes = b""
    n_prefix: int = 0
    latin1: bool = False  # the whole file is not valid UTF-8: every piece reads as Latin-1

    def __str__(self) -> str:
        return str(self.path)

    @property
    def size(self) -> int:
        return self.end - self.start

    def load(self, display: str) -> LoadedFile:
        """The piece's canonical text, as :func:`~validator.x12.load.load` gives a file."""
        with self.path.open("rb") as f:
            f.seek(self.start)
            body = f.read(self.end - self.start)
        notes: list[tuple[str, str]] = []
        loaded = from_bytes(self.prefix + body, display, notes, latin1=self.latin1)
        if self.index == 0 and self.latin1:  # the whole file's note, once
            loaded.notes.append(("ENV102", "file is not valid UTF-8; read as Latin-1"))
        return loaded


def cut(path: Path, piece_bytes: int) -> list[Piece] | None:
    """``path`` cut into pieces of about ``piece_bytes`` (at least one ISA or ST each), or
    None when it is not cut (small enough, compressed, UTF-16, irregular, unreadable)."""
    try:
        size = path.stat().st_size
        if piece_bytes <= 0 or size <= piece_bytes:
            return None
        with path.open("rb") as f:
            return _scan(path, f, size, piece_bytes)
    except (OSError, LoadError):
        return None  # the reader reports it


def _scan(path: Path, f, size: int, piece_bytes: int) -> list[Piece] | None:
    head = f.read(BLOCK)
    if head[:2] == b"\x1f\x8b" or _looks_utf16(head):
        return None
    base = 3 if head[:3] == b"\xef\xbb\xbf" else 0
    first = _find_isa(head, base)
    if first < 0:
        return None
    delims = find_delimiters(head, first)
    elem, term = delims.element.encode("latin-1"), delims.segment.encode("latin-1")
    if not all(c.isascii() for c in (delims.element, delims.component, delims.segment,
                                     delims.repetition or "")):
        return None
    ends = b"\r\n" if term == b"\n" else re.escape(term)
    seg_start = re.compile(rb"[" + ends + rb"][ \t\r\n\x00]*(ISA|GS|ST|SE|GE|IEA)" + re.escape(elem))
    ends_at = re.compile(rb"[" + ends + rb"]")
    isa_text = gs_text = b""
    isa_open = gs_open = st_open = False
    cuts: list[tuple[int, bytes, int]] = [(0, b"", 0)]  # (byte offset, prefix, n_prefix)
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    buf, buf_at = head, 0  # buf holds file bytes from offset buf_at
    scanned = first + 1  # terminators below this offset were searched
    text_from = first  # UTF-8 is judged from the first ISA on (as the reader does)

    def segment(at: int) -> bytes | None:  # one segment's text with its terminator
        m = ends_at.search(buf, at - buf_at)
        return None if m is None else buf[at - buf_at : m.end()]

    # The first ISA has no terminator before it: handle it, then every segment start.
    events: list[tuple[int, bytes]] = [(first, b"ISA")]
    isas = {first}  # where the ISAs found stand
    while True:
        eof = buf_at + len(buf) >= size
        limit = len(buf) if eof else max(0, len(buf) - _TAIL)
        for m in seg_start.finditer(buf, scanned - buf_at):  # terminators before ``limit``
            if m.start() >= limit:
                break
            events.append((buf_at + m.start(1), m.group(1)))
        # Any other ISA (another sender's delimiters, or the text in data): read whole.
        isas.update(at for at, seg in events if seg == b"ISA")
        for m in _ANY_ISA.finditer(buf, scanned - buf_at):
            if m.start() >= limit:
                break
            if buf_at + m.start() not in isas:
                return None
        for at, seg in events:
            if seg == b"ISA":
                text = segment(at)
                if text is None or find_delimiters(text, 0) != delims:
                    return None  # another sender's delimiters: read whole
                if at > first and at - cuts[-1][0] >= piece_bytes:
                    cuts.append((at, b"", 0))
                isa_text, isa_open, gs_open, st_open = text, True, False, False
            elif seg == b"GS":
                text = segment(at)
                if text is None:
                    return None
                gs_text, gs_open, st_open = text, isa_open, False
            elif seg == b"ST":
                if (at - cuts[-1][0] >= piece_bytes and isa_open and gs_open and not st_open):
                    cuts.append((at, isa_text + gs_text, 2))
                st_open = True
            elif seg == b"SE":
                st_open = False
            elif seg == b"GE":
                gs_open = st_open = False
            else:  # IEA
                isa_open = gs_open = st_open = False
        events.clear()
        new_end = buf_at + limit
        if utf8:
            chunk = buf[max(0, text_from - buf_at) : limit]
            if chunk and (not chunk.isascii() or decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            text_from = new_end
        scanned = new_end
        if eof:
            break
        keep = buf[limit:]
        buf_at, buf = new_end, keep + f.read(BLOCK)
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if len(cuts) < 2:
        return None
    bounds = [c[0] for c in cuts[1:]] + [size]
    return [Piece(path, i, start, end, prefix, n, latin1=not utf8)
            for i, ((start, prefix, n), end) in enumerate(zip(cuts, bounds, strict=True))]
