"""Load one file's bytes and find its X12 delimiters.

Everything that can go wrong before tokenising ends here as a :class:`LoadError` with a
sentence a person can act on; the caller records it and moves on to the next file.
"""

from __future__ import annotations

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


def read_bytes(path: Path) -> bytes:
    """Read a file, transparently gunzipping ``.gz`` (or gzip-magic) content."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError("FILE001", f"cannot read file: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise LoadError("FILE001", f"corrupt gzip data: {exc}") from None
    return raw


def _looks_utf16(raw: bytes) -> bool:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    head = raw[:200]
    return len(head) >= 8 and head.count(0) >= len(head) // 3


def find_delimiters(raw: bytes, start: int) -> Delimiters:
    """Delimiters from the ISA at ``start``.

    Element separator = 4th character; ISA16 follows the 16th element separator and the
    segment terminator is the character right after ISA16. Counting separators (rather
    than fixed offsets) also reads ISAs whose fields are not padded to width.
    """
    if len(raw) < start + 4:
        raise LoadError("FILE003", "file is truncated inside the ISA segment")
    elem = raw[start + 3 : start + 4]
    if elem.isalnum() or elem in (b" ", b"\r", b"\n"):
        raise LoadError("FILE001", f"ISA element separator {elem!r} is not a valid delimiter")
    pos = start
    for _ in range(16):
        pos = raw.find(elem, pos + 1, start + 400)
        if pos < 0:
            raise LoadError("FILE003", "file is truncated inside the ISA segment (fewer than 16 elements)")
    if len(raw) < pos + 3:
        raise LoadError("FILE003", "file is truncated inside the ISA segment (no segment terminator)")
    comp = raw[pos + 1 : pos + 2]
    term = raw[pos + 2 : pos + 3]
    if term == b"\r":
        term = b"\n"
    if term.isalnum() or term in (elem, comp):
        raise LoadError("FILE001", f"ISA segment terminator {term!r} is not a valid delimiter")
    fields = raw[start:pos].split(elem)
    isa11 = fields[11][:1] if len(fields) > 11 else b""
    rep = None
    version = fields[12] if len(fields) > 12 else b""
    if version >= b"00402" and isa11 and not isa11.isalnum() and isa11 not in (elem, comp, term, b" "):
        rep = isa11
    return Delimiters(
        element=elem.decode("latin-1"),
        component=comp.decode("latin-1"),
        repetition=rep.decode("latin-1") if rep else None,
        segment=term.decode("latin-1"),
    )


def load(path: Path, display: str) -> LoadedFile:
    """Read ``path`` and return its text with canonical separators."""
    raw = read_bytes(path)
    if not raw.strip():
        raise LoadError("FILE003", "file is empty")
    if _looks_utf16(raw):
        raise LoadError("FILE002", "file is UTF-16 encoded; X12 must be ASCII/UTF-8 — re-save it as ASCII")
    notes: list[tuple[str, str]] = []
    if raw[:3] == b"\xef\xbb\xbf":
        raw = raw[3:]
    start = raw.find(b"ISA")
    if start < 0:
        raise LoadError("FILE001", "not an X12 file: no ISA segment found")
    if raw[:start].strip():
        notes.append(("ENV101", f"{start} bytes of text before the ISA segment were ignored"))
    delims = find_delimiters(raw, start)
    body = raw[start:]
    table = bytearray(range(256))
    table[ord(delims.segment)] = ord(SEG)
    table[ord(delims.element)] = ord(ELEM)
    table[ord(delims.component)] = ord(COMP)
    if delims.repetition:
        table[ord(delims.repetition)] = ord(REP)
    delete = b"\r" if delims.segment == "\n" else b"\r\n"
    # \x01 is the tokenizer's column separator: keep it out of the data.
    table[1] = ord("?")
    canon = body.translate(bytes(table), delete)
    if not canon.isascii():
        try:
            canon.decode("utf-8")
        except UnicodeDecodeError:
            canon = canon.decode("latin-1").encode("utf-8")
            notes.append(("ENV102", "file is not valid UTF-8; read as Latin-1"))
    return LoadedFile(path=display, data=canon, delimiters=delims, offset=start, notes=notes)
