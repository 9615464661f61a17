"""A seeded, deterministic mutation fuzzer for valid 5010 837P/837I files.

Used by the differential tests of the implementation-guide engines
(``tests/test_ig_differential.py``, ``tests/ig_parity.py``): every mutant is validated by
pyx12 and by the native engine and the findings are compared.

::

    from ig_mutate import KINDS, mutants
    for name, text in mutants(valid_text, seed=1, per_kind=3):
        ...  # name = "blank:CLM02@22"; text = the whole mutated file

Kinds (``KINDS``), one edit per mutant:

============== ==================================================================
delete         delete a segment
duplicate      duplicate a segment (the copy follows it)
swap           swap two adjacent segments (of different content)
move           move a segment elsewhere in its transaction set
qualifier      change a qualifier / key to another code of the same element: NM101,
               NM108, REF01, DTP01, DTP02, HI0n-1, SBR01, HL03, PER01, AMT01,
               SV101-1, SV202-1, CAS01, PWK01 (another 837 code, or a code no guide knows)
blank          empty an element (its separators stay, so blanking the last element
               leaves a trailing separator)
lengthen       lengthen a value (or a composite's component) beyond the element's
               maximum length (digits for a numeric value, ``X`` otherwise)
letters        letters in a numeric element (R, N0, N2: CLM02, SV102, SV104, LX01, ...)
bad_date       a bad date in DTP03, DMG02 or BHT04 (``20261345``, ``2026-01-01``,
               ``20260230``; as ``D-D`` when DTP02 is ``RD8``)
extra_element  one more element at the end of a segment
composite      break a composite: too many components, too few, or an empty first part
============== ==================================================================

Choices made here, on purpose:

* The envelope segments (ISA, GS, GE, IEA, ST, SE) are never mutated, moved, used as a
  swap partner or crossed by a move: a mutant stays one interchange with the same
  transaction sets, and envelope errors do not drown the implementation-guide findings
  one wants to compare. After every edit SE01 is recounted (segments from ST to SE), so
  that a deleted or duplicated segment gives no IK502-4 segment-count error. GE01 and
  IEA01 count transaction sets / groups, which never change.
* Element types and maximum lengths come from pyx12's own maps and ``dataele.xml``
  (the 5010 837P and 837I guides; for an element ID that several loops define, the
  largest maximum length and the type of its first definition are used).
* Mutants are deterministic: each one uses ``random.Random(f"{seed}:{crc}:{kind}:{k}")``
  where ``crc`` is the CRC-32 of the input text (string seeds do not depend on
  ``PYTHONHASHSEED``; the CRC makes different files get different choices), so the
  input, the seed and the arguments reproduce every mutant. A kind yields at most
  ``per_kind`` distinct texts that differ from the input; fewer when the file offers
  fewer candidates (e.g. ``bad_date`` on a file without DMG/DTP/BHT).
* The output keeps the input's delimiters and line style (segment terminator followed by
  a newline or not); text before the ISA is kept; leading blanks of segments are dropped.
"""

from __future__ import annotations

import functools
import random
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("delete", "duplicate", "swap", "move", "qualifier", "blank", "lengthen", "letters",
         "bad_date", "extra_element", "composite")
STRUCTURAL = ("delete", "duplicate", "swap", "move")
ENVELOPE = frozenset({"ISA", "GS", "GE", "IEA", "ST", "SE"})
BAD_DATES = ("20261345", "2026-01-01", "20260230")

# Other codes for qualifier / key elements: (segment, element position, component or None)
# -> candidate codes. Most are codes the 837 guides use somewhere (valid elsewhere, so the
# segment may be taken for another loop's), a few are codes no 837 guide allows.
QUALIFIERS: dict[tuple[str, int, int | None], tuple[str, ...]] = {
    ("NM1", 1, None): ("41", "40", "85", "87", "PE", "IL", "QC", "PR", "DN", "P3", "82", "77",
                       "DQ", "DK", "71", "72", "ZZ", "FA", "QB", "2B", "TL", "99"),
    ("NM1", 8, None): ("XX", "46", "PI", "MI", "II", "24", "34", "FI", "ZZ"),
    ("REF", 1, None): ("EI", "SY", "G1", "9F", "F8", "D9", "EA", "LU", "6R", "1G", "G2",
                       "0B", "SB", "Y4", "2U", "FY", "BLT", "ZZ"),
    ("DTP", 1, None): ("472", "431", "454", "304", "453", "439", "484", "455", "471", "314",
                       "360", "361", "297", "296", "435", "096", "434", "050", "573", "999"),
    ("DTP", 2, None): ("D8", "RD8", "DT", "TM"),
    ("SBR", 1, None): ("P", "S", "T", "A", "B", "C", "D", "E", "F", "G", "H", "U", "X"),
    ("HL", 3, None): ("20", "22", "23", "19", "PT"),
    ("PER", 1, None): ("IC", "EM", "IP", "ZZ"),
    ("AMT", 1, None): ("F5", "D", "EAF", "A8", "B6", "T", "ZZ"),
    ("SV1", 1, 1): ("HC", "ER", "IV", "WK", "N4", "ZZ"),
    ("SV2", 2, 1): ("HC", "ER", "HP", "IV", "WK", "ZZ"),
    ("CAS", 1, None): ("CO", "CR", "OA", "PI", "PR", "ZZ"),
    ("PWK", 1, None): ("03", "04", "05", "06", "07", "08", "09", "10", "11", "13", "OZ", "ZZ"),
    **{("HI", n, 1): ("ABK", "ABF", "BK", "BF", "APR", "BP", "BBR", "ABJ", "ABN", "BE", "BH",
                      "BG", "DR", "TC", "ABR", "ZZZ") for n in range(1, 13)},
}
NUMERIC = ("R", "N0", "N1", "N2")
DATE_TARGETS = (("DTP", 3), ("DMG", 2), ("BHT", 4))
DEFAULT_MAX_LEN = 80


# ---------------------------------------------------------------- element table (pyx12)

@dataclass(frozen=True)
class ElementInfo:
    data_type: str
    max_len: int


@dataclass
class GuideTable:
    """What the fuzzer needs from the guides: element types and lengths, composites."""

    elements: dict[tuple[str, int, int | None], ElementInfo] = field(default_factory=dict)
    # (segment, position) -> how many components the composite has in the guide
    composites: dict[tuple[str, int], int] = field(default_factory=dict)

    def info(self, seg: str, pos: int, sub: int | None = None) -> ElementInfo | None:
        return self.elements.get((seg, pos, sub))


@functools.cache
def guide_table() -> GuideTable:
    """Element types / maximum lengths and composite sizes of pyx12's 5010 837P/837I maps
    (empty when pyx12 is not installed: the fuzzer then uses defaults)."""
    table = GuideTable()
    try:
        import pyx12
    except ImportError:  # pragma: no cover - pyx12 is a dependency
        return table
    base = Path(pyx12.__file__).parent / "map"
    dataele = {d.get("ele_num"): ElementInfo(d.get("data_type"), int(d.get("max_len")))
               for d in ET.parse(base / "dataele.xml").getroot().iter("data_ele")}

    def add(key: tuple[str, int, int | None], num: str | None) -> None:
        info = dataele.get(num or "")
        if info is None:
            return
        old = table.elements.get(key)
        if old is None:
            table.elements[key] = info
        elif info.max_len > old.max_len:
            table.elements[key] = ElementInfo(old.data_type, info.max_len)

    for name in ("837.5010.X222.A1.xml", "837Q3.I.5010.X223.A1.xml"):
        for seg in ET.parse(base / name).getroot().iter("segment"):
            sid = seg.get("xid")
            for child in seg:
                if child.tag == "element":
                    add((sid, int(child.findtext("seq")), None), child.findtext("data_ele"))
                elif child.tag == "composite":
                    pos = int(child.findtext("seq"))
                    subs = child.findall("element")
                    key = (sid, pos)
                    table.composites[key] = max(table.composites.get(key, 0), len(subs))
                    for sub in subs:
                        add((sid, pos, int(sub.findtext("seq"))), sub.findtext("data_ele"))
    return table


# ---------------------------------------------------------------- parsing / writing

@dataclass
class X12Text:
    """An X12 file as segments (lists of elements), with what is needed to write it back."""

    prefix: str  # text before the ISA
    segs: list[list[str]]
    elem: str
    comp: str
    term: str
    eol: str  # what follows each terminator ("\n", "\r\n" or "")

    @classmethod
    def parse(cls, text: str) -> X12Text:
        start = text.find("ISA")
        if start < 0 or len(text) < start + 106:
            raise ValueError("no ISA segment")
        elem = text[start + 3]
        i = start
        for _ in range(16):  # ISA has 16 elements; ISA16 is one character
            i = text.index(elem, i + 1)
        comp, term = text[i + 1], text[i + 2]
        rest = text[i + 3:]
        eol = ""
        if term not in "\r\n":
            eol = "\r\n" if rest.startswith("\r\n") else "\n" if rest.startswith("\n") else ""
        pieces = text[start:].split(term)
        segs = []
        for p in pieces:
            p = p.strip("\r\n").lstrip(" \t")
            if p:
                segs.append(p.split(elem))
        return cls(text[:start], segs, elem, comp, term, eol)

    def text(self) -> str:
        return self.prefix + "".join(self.elem.join(s) + self.term + self.eol for s in self.segs)

    def copy(self) -> X12Text:
        return X12Text(self.prefix, [list(s) for s in self.segs], self.elem, self.comp,
                       self.term, self.eol)

    def recount(self) -> None:
        """SE01 = number of segments from ST to SE of each transaction set."""
        start = None
        for i, s in enumerate(self.segs):
            if s[0] == "ST":
                start = i
            elif s[0] == "SE" and start is not None and len(s) > 1:
                s[1] = str(i - start + 1)
                start = None

    def body(self) -> list[int]:
        """Indexes of the segments that may be mutated (inside a transaction set, not SE)."""
        out, inside = [], False
        for i, s in enumerate(self.segs):
            if s[0] == "ST":
                inside = True
            elif s[0] in ENVELOPE:
                inside = False
            elif inside:
                out.append(i)
        return out

    def txn_range(self, i: int) -> tuple[int, int]:
        """(first, last) body index of the transaction set holding segment ``i``."""
        lo = i
        while lo > 0 and self.segs[lo - 1][0] not in ENVELOPE:
            lo -= 1
        hi = i
        while hi + 1 < len(self.segs) and self.segs[hi + 1][0] not in ENVELOPE:
            hi += 1
        return lo, hi


def split_ids(text: str) -> list[str]:
    """Segment IDs of ``text`` in order (a helper for tests)."""
    return [s[0] for s in X12Text.parse(text).segs]


# ---------------------------------------------------------------- the mutations

Edit = tuple[str, X12Text]  # (detail for the name, mutated document) or None


def _elements(doc: X12Text, body: list[int], *, min_pos: int = 1):
    """(index, position) of every non-empty element of the body segments."""
    return [(i, p) for i in body for p in range(min_pos, len(doc.segs[i])) if doc.segs[i][p]]


def _name(doc: X12Text, i: int, p: int, sub: int | None = None) -> str:
    s = f"{doc.segs[i][0]}{p:02d}"
    return f"{s}-{sub}" if sub else s


def _delete(doc: X12Text, rng: random.Random, body: list[int]) -> Edit | None:
    i = rng.choice(body)
    d = doc.copy()
    del d.segs[i]
    return f"{doc.segs[i][0]}@{i}", d


def _duplicate(doc: X12Text, rng: random.Random, body: list[int]) -> Edit | None:
    i = rng.choice(body)
    d = doc.copy()
    d.segs.insert(i + 1, list(doc.segs[i]))
    return f"{doc.segs[i][0]}@{i}", d


def _swap(doc: X12Text, rng: random.Random, body: list[int]) -> Edit | None:
    pairs = [i for i in body if i + 1 in body and doc.segs[i] != doc.segs[i + 1]]
    if not pairs:
        return None
    i = rng.choice(pairs)
    d = doc.copy()
    d.segs[i], d.segs[i + 1] = d.segs[i + 1], d.segs[i]
    return f"{doc.segs[i][0]}@{i}<>{doc.segs[i + 1][0]}@{i + 1}", d


def _move(doc: X12Text, rng: random.Random, body: list[int]) -> Edit | None:
    i = rng.choice(body)
    lo, hi = doc.txn_range(i)
    # insertion points in the list without segment i; i and i+1 would give the same list
    targets = [j for j in range(lo, hi + 2) if j not in (i, i + 1)]
    if not targets:
        return None
    j = rng.choice(targets)
    d = doc.copy()
    seg = d.segs.pop(i)
    d.segs.insert(j if j < i else j - 1, seg)
    return f"{seg[0]}@{i}->{j}", d


def _set(doc: X12Text, i: int, p: int, k: int | None, new: str) -> X12Text:
    """A copy of ``doc`` with element ``p`` of segment ``i`` (its component ``k``, 0-based,
    when given) set to ``new``."""
    d = doc.copy()
    if k is None:
        d.segs[i][p] = new
    else:
        parts = d.segs[i][p].split(doc.comp)
        parts[k] = new
        d.segs[i][p] = doc.comp.join(parts)
    return d


def _qualifier(doc: X12Text, rng: random.Random, body: list[int]) -> Edit | None:
    cands = []
    for i in body:
        s = doc.segs[i]
        for (sid, p, sub), codes in QUALIFIERS.items():
            if s[0] != sid or p >= len(s) or not s[p]:
                continue
            value = s[p].split(doc.comp)[0] if sub else s[p]
            if value:
                cands.append((i, p, sub, value, codes))
    if not cands:
        return None
    i, p, sub, value, codes = rng.choice(cands)
    new = rng.choice([c for c in codes if c != value])
    return f"{_name(doc, i, p, sub)}@{i}:{value}->{new}", _set(doc, i, p, 0 if sub else None, new)


def _blank(doc: X12Text, rng: random.Random, body: list[int]) -> Edit | None:
    cands = _elements(doc, body)
    if not cands:
        return None
    i, p = rng.choice(cands)
    d = doc.copy()
    d.segs[i][p] = ""
    return f"{_name(doc, i, p)}@{i}", d


def _lengthen(doc: X12Text, rng: random.Random, body: list[int]) -> Edit | None:
    cands = _elements(doc, body)
    if not cands:
        return None
    i, p = rng.choice(cands)
    seg = doc.segs[i]
    parts = seg[p].split(doc.comp)
    table = guide_table()
    sub = None
    if (seg[0], p) in table.composites:
        subs = [k for k, v in enumerate(parts) if v]
        if not subs:
            return None
        sub = rng.choice(subs) + 1
    info = table.info(seg[0], p, sub)
    value = parts[sub - 1] if sub else seg[p]
    target = (info.max_len if info else DEFAULT_MAX_LEN) + rng.randint(1, 3)
    fill = "9" if value.replace(".", "").isdigit() else "X"
    new = value + fill * max(1, target - len(value))
    return f"{_name(doc, i, p, sub)}@{i}:len{len(new)}", _set(doc, i, p, sub - 1 if sub else None,
                                                                new)


def _letters(doc: X12Text, rng: random.Random, body: list[int]) -> Edit | None:
    table = guide_table()
    cands = []
    for i in body:
        seg = doc.segs[i]
        for p in range(1, len(seg)):
            composite = (seg[0], p) in table.composites
            parts = seg[p].split(doc.comp) if composite else [seg[p]]
            for k, v in enumerate(parts):
                sub = k + 1 if composite else None
                info = table.info(seg[0], p, sub)
                if v and info and info.data_type in NUMERIC:
                    cands.append((i, p, sub))
    if not cands:
        return None
    i, p, sub = rng.choice(cands)
    parts = doc.segs[i][p].split(doc.comp)
    value = parts[sub - 1] if sub else parts[0]
    new = rng.choice((value[:-1] + "A", "ABC", value.replace("0", "O") if "0" in value else "1O"))
    if new == value:
        new = "ABC"
    return f"{_name(doc, i, p, sub)}@{i}:{value}->{new}", _set(doc, i, p,
                                                               sub - 1 if sub else None, new)


def _bad_date(doc: X12Text, rng: random.Random, body: list[int]) -> Edit | None:
    cands = [(i, p) for i in body for sid, p in DATE_TARGETS
             if doc.segs[i][0] == sid and p < len(doc.segs[i]) and doc.segs[i][p]]
    if not cands:
        return None
    i, p = rng.choice(cands)
    bad = rng.choice(BAD_DATES)
    seg = doc.segs[i]
    rd8 = seg[0] == "DTP" and seg[2:3] == ["RD8"]
    new = f"{bad}-{bad}" if rd8 and rng.random() < 0.5 else bad
    d = doc.copy()
    d.segs[i][p] = new
    return f"{_name(doc, i, p)}@{i}:{new}", d


def _extra_element(doc: X12Text, rng: random.Random, body: list[int]) -> Edit | None:
    i = rng.choice(body)
    d = doc.copy()
    d.segs[i].append(rng.choice(("X", "1", "EXTRA")))
    return f"{doc.segs[i][0]}@{i}", d


def _composite(doc: X12Text, rng: random.Random, body: list[int]) -> Edit | None:
    table = guide_table()
    cands = [(i, p) for i in body for p in range(1, len(doc.segs[i]))
             if (doc.segs[i][0], p) in table.composites and doc.segs[i][p]]
    if not cands:
        return None
    i, p = rng.choice(cands)
    parts = doc.segs[i][p].split(doc.comp)
    size = table.composites[(doc.segs[i][0], p)]
    how = rng.choice(("too_many", "too_few", "empty_first") if len(parts) > 1
                     else ("too_many", "empty_first"))
    if how == "too_many":
        new = parts + ["X"] * (size - len(parts) + 1)
    elif how == "too_few":
        new = parts[:-1]
    else:
        new = ["", *parts[1:]] if len(parts) > 1 else ["", "X"]
    d = doc.copy()
    d.segs[i][p] = doc.comp.join(new)
    return f"{_name(doc, i, p)}@{i}:{how}", d


MUTATORS = {
    "delete": _delete, "duplicate": _duplicate, "swap": _swap, "move": _move,
    "qualifier": _qualifier, "blank": _blank, "lengthen": _lengthen, "letters": _letters,
    "bad_date": _bad_date, "extra_element": _extra_element, "composite": _composite,
}
assert tuple(MUTATORS) == KINDS


def mutants(text: str, *, seed: int = 0, per_kind: int = 3,
            kinds: Iterable[str] = KINDS) -> Iterator[tuple[str, str]]:
    """Yield ``(name, mutated_text)``: up to ``per_kind`` distinct mutants of each kind.

    ``name`` is ``"<kind>:<detail>"``, e.g. ``"qualifier:NM101@9:85->PE"`` (segment index
    0 = the ISA). The same text, seed and arguments always give the same mutants.
    """
    doc = X12Text.parse(text)
    crc = zlib.crc32(text.encode("utf-8"))
    original = doc.text()
    body = doc.body()
    if not body:
        return
    for kind in kinds:
        mutate = MUTATORS[kind]
        seen = {original}
        k = made = 0
        while made < per_kind and k < per_kind * 20:
            rng = random.Random(f"{seed}:{crc}:{kind}:{k}")
            k += 1
            edit = mutate(doc, rng, body)
            if edit is None:
                break  # the file offers no candidate for this kind
            detail, d = edit
            d.recount()
            out = d.text()
            if out in seen:
                continue
            seen.add(out)
            made += 1
            yield f"{kind}:{detail}", out


def kind_of(name: str) -> str:
    """The kind of a mutant from its name (``"blank:CLM02@22"`` -> ``"blank"``)."""
    return name.split(":", 1)[0]


def stacked(text: str, *, seed: int = 0, count: int = 10, depth: int = 3,
            kinds: Iterable[str] = KINDS) -> Iterator[tuple[str, str]]:
    """Yield ``count`` mutants that each carry ``depth`` edits of random kinds, one after
    the other (names joined by ``" + "``): interactions the one-edit kinds do not reach."""
    kinds = tuple(kinds)
    crc = zlib.crc32(text.encode("utf-8"))
    seen = {X12Text.parse(text).text()}
    made = k = 0
    while made < count and k < count * 20:
        rng = random.Random(f"{seed}:{crc}:stacked:{k}")
        k += 1
        doc, names = X12Text.parse(text), []
        for _ in range(depth):
            body = doc.body()
            kind = rng.choice(kinds)
            edit = MUTATORS[kind](doc, rng, body) if body else None
            if edit is not None:
                names.append(f"{kind}:{edit[0]}")
                doc = edit[1]
        doc.recount()
        out = doc.text()
        if names and out not in seen:
            seen.add(out)
            made += 1
            yield " + ".join(names), out
