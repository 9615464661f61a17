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
_IDS = (b"ISA", b"GS", b"ST", b"SE", b"GE", b"IEA")
_BACK = 256  # bytes kept before a block for the look back from a segment start
_SPACE = frozenset(b" \t\r\n\x00")
_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _bytes(chars: bytes) -> list[bytes]:
    return [bytes([c]) for c in chars]


def _starts(buf: bytes, lo: int, hi: int, elem: bytes, ends: bytes) -> list[tuple[int, bytes]]:
    """Envelope segments (``_IDS``) starting in ``buf[lo:hi]``: the ID and the element
    separator right after a terminator (and white space)."""
    pattern = _PATTERNS.get((elem, ends))
    if pattern is None:
        pattern = _PATTERNS[(elem, ends)] = re.compile(
            b"[" + re.escape(ends) + rb"][ \t\r\n\x00]*(" + b"|".join(_IDS) + b")"
            + re.escape(elem))
    out = []
    for m in pattern.finditer(buf, max(0, lo - _BACK)):
        at = m.start(1)
        if at >= hi:
            break
        if at >= lo:
            out.append((at, m.group(1)))
    return out


_PATTERNS: dict[tuple[bytes, bytes], re.Pattern[bytes]] = {}


def _isa_like(buf: bytes, lo: int, hi: int) -> list[int]:
    """Where ``buf[lo:hi]`` holds an ISA as the reader would take one (not inside a word,
    followed by a delimiter)."""
    out, i = [], lo
    while (i := buf.find(b"ISA", i, hi + 2)) >= 0:
        after = buf[i + 3 : i + 4]
        if (i == 0 or buf[i - 1] not in _WORD) and after and after[0] not in _WORD \
                and after[0] not in _SPACE:
            out.append(i)
        i += 1
    return out


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
    ends = b"\r\n" if term == b"\n" else term
    isa_text = gs_text = b""
    isa_open = gs_open = st_open = False
    cuts: list[tuple[int, bytes, int]] = [(0, b"", 0)]  # (byte offset, prefix, n_prefix)
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    buf, buf_at = head, 0  # buf holds file bytes from offset buf_at
    scanned = first + 1  # segment starts below this offset were found
    text_from = first  # UTF-8 is judged from the first ISA on (as the reader does)

    def segment(at: int) -> bytes | None:  # one segment's text with its terminator
        i = min((k for k in (buf.find(c, at - buf_at) for c in _bytes(ends)) if k >= 0),
                default=-1)
        return None if i < 0 else buf[at - buf_at : i + 1]

    # The first ISA has no terminator before it: handle it, then every segment start.
    events: list[tuple[int, bytes]] = [(first, b"ISA")]
    isas = {first}  # where the ISAs found stand
    while True:
        eof = buf_at + len(buf) >= size
        limit = len(buf) if eof else max(0, len(buf) - _TAIL)
        found = _starts(buf, scanned - buf_at, limit, elem, ends)
        events += [(buf_at + at, seg) for at, seg in found]
        # Any other ISA (another sender's delimiters, or the text in data): read whole.
        isas.update(at for at, seg in events if seg == b"ISA")
        if any(buf_at + at not in isas for at in _isa_like(buf, scanned - buf_at, limit)):
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
        keep = buf[limit - _BACK:]  # (a segment start looks back for its terminator)
        buf_at, buf = new_end - _BACK, keep + f.read(BLOCK)
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
