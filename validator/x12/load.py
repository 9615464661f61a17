"""Load one file's bytes and find its X12 delimiters.

Everything that can go wrong before tokenising ends here as a :class:`LoadError` with a
sentence a person can act on; the caller records it and moves on to the next file.
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
from dataclasses import dataclass, field
from pathlib import Path

# Canonical separators: every file is translated to these before tokenising so that the
# whole batch can be split with constant separators. X12 basic/extended character sets
# exclude control characters, so these never clash with data.
SEG = "\x1c"
ELEM = "\x1d"
REP = "\x1e"
COMP = "\x1f"

# ISA is fixed width: the element separator sits at these offsets of a well-formed ISA.
ISA_SEPARATOR_OFFSETS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
ISA_LENGTH = 106  # through the segment terminator


class LoadError(Exception):
    """The file cannot be read as X12; ``code`` is the FILE rule that reports it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Delimiters:
    element: str
    component: str
    repetition: str | None
    segment: str  # "\n" when newline itself terminates segments


@dataclass
class LoadedFile:
    """A file's text with canonical separators, plus what was noticed on the way."""

    path: str
    data: bytes  # UTF-8 with canonical separators, starting at the first ISA
    delimiters: Delimiters
    offset: int  # bytes skipped before the ISA
    notes: list[tuple[str, str]] = field(default_factory=list)  # (rule code, message)


def read_bytes(path: Path, notes: list[tuple[str, str]] | None = None) -> bytes:
    """Read a file, transparently gunzipping ``.gz`` (or gzip-magic) content. Bytes after
    the last gzip member (not zero padding, which gzip itself skips) are ignored, as
    ``gzip -d`` does, with a FILE004 note in ``notes``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError("FILE001", f"cannot read file: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except gzip.BadGzipFile:
            raw = _gunzip_members(raw, notes)
        except (OSError, EOFError, zlib.error) as exc:
            raise LoadError("FILE001", f"corrupt gzip data: {exc}") from None
    return raw


def _gunzip_members(raw: bytes, notes: list[tuple[str, str]] | None) -> bytes:
    """The gzip members at the start of ``raw``, up to bytes that start no member."""
    out: list[bytes] = []
    rest = raw
    try:
        while rest[:2] == b"\x1f\x8b":
            d = zlib.decompressobj(wbits=31)
            out.append(d.decompress(rest))
            if not d.eof:
                raise EOFError("compressed file ended before the end-of-stream marker")
            rest = d.unused_data
    except (OSError, EOFError, zlib.error) as exc:
        raise LoadError("FILE001", f"corrupt gzip data: {exc}") from None
    if notes is not None and rest.strip(b"\x00"):
        notes.append(("FILE004", f"{len(rest)} bytes after the gzip data were ignored"))
    return b"".join(out)


def _looks_utf16(raw: bytes) -> bool:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    head = raw[:200]
    return len(head) >= 8 and head.count(0) >= len(head) // 3


_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _find_isa(raw: bytes, pos: int = 0) -> int:
    """Offset of the next ``ISA`` that starts a segment (not inside a word such as LISA,
    followed by a delimiter), or -1. ``bytes.find`` keeps this fast on large files."""
    while (i := raw.find(b"ISA", pos)) >= 0:
        after = raw[i + 3 : i + 4]
        if (i == 0 or raw[i - 1] not in _WORD) and after and after[0] not in _WORD \
                and not after.isspace():
            return i
        pos = i + 1
    return -1
_WS = b" \t\r\n"


def _bad_delimiter(ch: bytes, *others: bytes) -> bool:
    return not ch or ch.isalnum() or ch in (b" ", b"\t") or ch in others


def _from_gs(raw: bytes, start: int, elem: bytes) -> tuple[bytes, bytes] | None:
    """Fallback for an ISA with a wrong element count: ``(ISA16, terminator)`` read from
    what stands right before the following ``GS`` segment."""
    gs = raw.find(b"GS" + elem, start + 3, start + 800)
    if gs < 0:
        return None
    k = gs - 1
    while k > start and raw[k : k + 1] in _WS:
        k -= 1
    if raw[k - 1 : k] == elem:  # "...*:\nGS": ISA16 is last, a newline terminates
        return (raw[k : k + 1], b"\n") if k < gs - 1 else None
    return raw[k - 1 : k], raw[k : k + 1]


def find_delimiters(raw: bytes, start: int) -> Delimiters:
    """Delimiters from the ISA at ``start``.

    Element separator = 4th character; ISA16 follows the 16th element separator and the
    segment terminator is the character right after ISA16. Counting separators (rather
    than fixed offsets) also reads ISAs whose fields are not padded to width; an ISA with
    too few or too many elements is read up to the following GS (ENV100 reports it).
    """
    if len(raw) < start + 4:
        raise LoadError("FILE003", "file is truncated inside the ISA segment")
    elem = raw[start + 3 : start + 4]
    if _bad_delimiter(elem, b"\r", b"\n"):
        raise LoadError("FILE001", f"ISA element separator {elem!r} is not a valid delimiter")
    pos = start
    for _ in range(16):
        pos = raw.find(elem, pos + 1, start + 400)
        if pos < 0:
            break
    comp, term = (raw[pos + 1 : pos + 2], raw[pos + 2 : pos + 3]) if pos >= 0 else (b"", b"")
    if term in (b"\r", b"\n"):
        term = b"\n"
    if _bad_delimiter(comp, elem, b"\r", b"\n") or _bad_delimiter(term, elem, comp):
        found = _from_gs(raw, start, elem)
        if found is None:
            if pos < 0 or len(raw) < pos + 3:
                raise LoadError("FILE003", "file is truncated inside the ISA segment")
            raise LoadError("FILE001", f"cannot find the ISA segment terminator (ISA16 {comp!r}, "
                                       f"terminator {term!r} are not valid delimiters)")
        comp, term = found
        if _bad_delimiter(comp, elem, b"\r", b"\n") or _bad_delimiter(term, elem, comp):
            raise LoadError("FILE001", f"ISA delimiters are not valid (component {comp!r}, "
                                       f"terminator {term!r})")
    end = raw.find(term, start + 3)
    fields = raw[start : end if end > 0 else start + 106].split(elem)
    isa11 = fields[11][:1] if len(fields) > 11 else b""
    version = fields[12].strip() if len(fields) > 12 else b""
    rep = None
    # ISA11 is the repetition separator from 00402 on; in 4010 it is the standards ID "U".
    if version >= b"00402" and not _bad_delimiter(isa11, elem, comp, term, b"\r", b"\n"):
        rep = isa11
    return Delimiters(
        element=elem.decode("latin-1"),
        component=comp.decode("latin-1"),
        repetition=rep.decode("latin-1") if rep else None,
        segment=term.decode("latin-1"),
    )


def _canonical(chunk: bytes, d: Delimiters) -> bytes:
    """Translate one interchange's delimiters to the canonical control characters."""
    table = bytearray(range(256))
    table[ord(d.segment)] = ord(SEG)
    table[ord(d.element)] = ord(ELEM)
    table[ord(d.component)] = ord(COMP)
    if d.repetition:
        table[ord(d.repetition)] = ord(REP)
    table[1] = ord("?")  # \x01 is the tokenizer's column separator: keep it out of the data
    return chunk.translate(bytes(table), b"\r" if d.segment == "\n" else b"\r\n")


def _next_isa(raw: bytes, pos: int, d: Delimiters) -> int:
    """Start of the next interchange after the one at ``pos`` (-1 when none)."""
    term = d.segment.encode("latin-1")
    skip = b" \t" if term == b"\n" else _WS
    while (i := _find_isa(raw, pos + 3)) >= 0:
        # A real ISA follows the previous segment's terminator (and maybe white space).
        k = i - 1
        while k > pos and raw[k] in skip:
            k -= 1
        if raw[k : k + 1] == term:
            return i
        pos = i
    return -1


def load(path: Path, display: str) -> LoadedFile:
    """Read ``path`` and return its text with canonical separators.

    Each interchange (ISA..IEA) is translated with its own ISA's delimiters, so files that
    concatenate interchanges from different senders still read correctly.
    """
    notes: list[tuple[str, str]] = []
    return from_bytes(read_bytes(path, notes), display, notes)


def from_bytes(raw: bytes, display: str, notes: list[tuple[str, str]],
               latin1: bool | None = None) -> LoadedFile:
    """:func:`load` of bytes already read. ``latin1`` decides the encoding for a piece of a
    larger file (see validator.x12.cut): True reads it as Latin-1 without a note, False as
    UTF-8; None decides from the bytes (with an ENV102 note when they are not UTF-8)."""
    if not raw or raw.isspace():  # (strip() would copy the whole file)
        raise LoadError("FILE003", "file is empty")
    if _looks_utf16(raw):
        raise LoadError("FILE002", "file is UTF-16 encoded; X12 must be ASCII/UTF-8 — re-save it as ASCII")
    if raw[:3] == b"\xef\xbb\xbf":
        raw = raw[3:]
    start = _find_isa(raw)
    if start < 0:
        if raw.lstrip().startswith(b"ISA"):
            raise LoadError("FILE003", "file is truncated inside the ISA segment")
        raise LoadError("FILE001", "not an X12 file: no ISA segment found")
    if raw[:start].strip():
        notes.append(("ENV101", f"{start} bytes of text before the ISA segment were ignored"))
    first = find_delimiters(raw, start)
    if first.segment == "\n":  # newline terminator: CRLF and lone CR count as newlines
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        start = _find_isa(raw)
    parts: list[bytes] = []
    pos, delims = start, first
    while True:
        nxt = _next_isa(raw, pos, delims)
        parts.append(_canonical(raw[pos : nxt if nxt >= 0 else len(raw)], delims))
        if nxt < 0:
            break
        pos = nxt
        with contextlib.suppress(LoadError):  # a broken later ISA keeps the previous ones
            delims = find_delimiters(raw, pos)
    canon = b"".join(parts)
    if latin1 is not None:
        if latin1 and not canon.isascii():
            canon = canon.decode("latin-1").encode("utf-8")
    elif not canon.isascii():
        try:
            canon.decode("utf-8")
        except UnicodeDecodeError:
            canon = canon.decode("latin-1").encode("utf-8")
            notes.append(("ENV102", "file is not valid UTF-8; read as Latin-1"))
    return LoadedFile(path=display, data=canon, delimiters=first, offset=start, notes=notes)
