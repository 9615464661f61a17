"""Cutting one X12 file into a ``ready`` and a ``held`` file, claim by claim.

The file is seen as a tree: interchanges (ISA) hold groups (GS), groups hold transaction
sets (ST), a set holds its HL loops (each under the HL its HL02 names), and an HL holds the
claims (CLM: the 2300 loop and every loop below it, up to the next HL or trailer). Every
segment belongs to the deepest node it sits in (the BHT and 1000A/B belong to the set, the
NM1*85 of 2010AA to its HL…). A claim goes to one destination; every other node goes to
each destination that one of the claims below it goes to, so the envelope, header and the
provider, subscriber and patient loops are copied into each output that needs them and
dropped from an output none of their claims goes to. A node with no claim below it at all
(a set or HL with no claims in the input) goes where its set's and file's findings send it.

Only envelope and HL segments are rewritten: HL01 renumbered from 1 per set, HL02 to the new
number of the parent, HL04 to whether children remain; SE01, GE01 and IEA01 recounted and
SE02/GE02/IEA02 set to their header's control number; ISA13 and GS06 replaced in the held
output when numbers are given. Any other segment is copied byte for byte, each with the
terminator and layout of the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..x12.spans import FileSpans

READY, HELD = "ready", "held"
DESTINATIONS = (READY, HELD)

# One row of the segments table: seg_index, seg_id, isa_key, gs_key, st_key, hl_key, clm_key.
Row = tuple[int, str, int | None, int | None, int | None, int | None, int | None]
ROW_COLUMNS = ("seg_index", "seg_id", "isa_key", "gs_key", "st_key", "hl_key", "clm_key")
_REWRITTEN = frozenset(("ISA", "GS", "ST", "HL", "SE", "GE", "IEA"))


@dataclass(eq=False)
class Node:
    kind: str  # file, isa, gs, st, hl, clm
    first: int  # seg_index of its first segment (0 for the file)
    parent: Node | None
    st_first: int | None  # seg_index of the ST of its set (None outside a set)
    children: list[Node] = field(default_factory=list)
    dests: set[str] = field(default_factory=set)


@dataclass
class FilePlan:
    """Which destinations each segment of one file goes to."""

    rows: list[Row]
    owner: list[Node]  # per row: the node the segment belongs to
    root: Node
    claims: list[Node]  # the CLM nodes, in file order
    loose: list[Node]  # nodes with no claim below them: sent by their set's findings
    irregular: set[int]  # ST seg_index of sets whose HLs keep their numbers (see plan_file)

    def destinations(self) -> list[str]:
        return [d for d in DESTINATIONS if d in self.root.dests]

    def interchanges(self, dest: str) -> list[int]:
        """seg_index of each ISA that goes to ``dest``."""
        return [n.first for n in self.root.children if n.kind == "isa" and dest in n.dests]


def plan_file(rows: Iterable[Row], hl_ids: Mapping[int, tuple[str, str]], held_claims: set[int],
              held_sets: set[int], file_held: bool) -> FilePlan:
    """Place every segment of one file. ``hl_ids``: HL01 and HL02 of each HL by seg_index;
    ``held_claims``: seg_index of the CLM of each held claim; ``held_sets``: seg_index of
    the ST of each set with a set-level finding at or above the threshold; ``file_held``:
    the file has a file-level one.

    A set whose HL hierarchy cannot be followed (an HL without HL01, an HL01 used twice, an
    HL02 that names no earlier HL) is still cut by the HLs that can be followed, but its HL
    segments keep their numbers: renumbering would make a broken reference point at
    another HL. (Its file has ENV or IG findings, so it is held unless --fail-on is never.)"""
    rows = list(rows)
    root = Node("file", 0, None, None)
    nodes: dict[tuple[str, int], Node] = {}
    by_id: dict[tuple[int, str], Node] = {}  # (st_key, HL01) -> the latest HL with it
    owner: list[Node] = []
    claims: list[Node] = []

    def get(kind: str, key: int, ix: int, parent: Node, st_first: int | None) -> Node:
        node = nodes.get((kind, key))
        if node is None:
            node = nodes[kind, key] = Node(kind, ix, parent, st_first)
            parent.children.append(node)
            if kind == "clm":
                claims.append(node)
        return node

    st_first: dict[int, int] = {}
    irregular: set[int] = set()
    for ix, seg_id, isa, gs, st, hl, clm in rows:
        node = get("isa", isa or 0, ix, root, None)
        if gs is not None:
            node = get("gs", gs, ix, node, None)
        if st is not None:
            first = st_first.setdefault(st, ix)
            node = get("st", st, ix, node, first)
            if hl is not None:
                if ("hl", hl) not in nodes and seg_id == "HL":
                    hl01, hl02 = hl_ids.get(ix, ("", ""))
                    parent = by_id.get((st, hl02)) if hl02 else None
                    if not hl01 or (st, hl01) in by_id or (hl02 and parent is None):
                        irregular.add(first)  # a hierarchy that cannot be followed
                    by_id[st, hl01] = get("hl", hl, ix, parent or node, first)
                node = nodes.get(("hl", hl), node)
        if clm is not None:
            node = get("clm", clm, ix, node, node.st_first)
        owner.append(node)
    plan = FilePlan(rows, owner, root, claims, [], irregular)
    for c in claims:
        _send(c, HELD if c.first in held_claims else READY)
    for node in _leaves(root):
        if node.kind != "clm":
            held = file_held or (node.st_first is not None and node.st_first in held_sets)
            plan.loose.append(node)
            _send(node, HELD if held else READY)
    return plan


def _send(node: Node, dest: str) -> None:
    while node is not None and dest not in node.dests:
        node.dests.add(dest)
        node = node.parent  # type: ignore[assignment]


def _leaves(root: Node) -> list[Node]:
    out, todo = [], [root]
    while todo:
        n = todo.pop()
        if n.children:
            todo.extend(n.children)
        elif n is not root:
            out.append(n)
    return out


@dataclass
class Cut:
    """One destination's part of a file: its bytes, and where each claim landed."""

    data: bytes
    claims: dict[int, int]  # input seg_index of each CLM -> its seg_index in the output
    isa13: dict[int, str]  # input seg_index of each ISA -> ISA13 written


def render(plan: FilePlan, spans: FileSpans, dest: str,
           control: Mapping[int, str] | None = None,
           around: tuple[list[bytes], list[bytes]] | None = None) -> Cut:
    """The bytes of ``dest``'s output. ``control`` maps the seg_index of an ISA to the ISA13
    to write instead of its own (its groups then get GS06 = that number + 0, 1, …);
    ``around`` is the file's :func:`layout` (worked out here when not given).

    Segments are rewritten as bytes, split at the element separator of their interchange,
    so that a control number in any encoding is repeated exactly in its trailer; a trailer
    short of its count or control number gets them."""
    control = control or {}
    out: list[bytes] = []
    lead, trail = around or layout(spans)
    cut = Cut(b"", {}, {})
    gs06 = st02 = b""
    isa13: bytes | None = b""
    new_gs06: int | None = None
    groups = sets = count = 0
    hl_new: dict[int, int] = {}  # id(node) -> new HL01
    written = 0
    for (ix, seg_id, _isa, gs, st, _hl, _clm), node in zip(plan.rows, plan.owner, strict=True):
        if dest not in node.dests:
            continue
        if st is not None:
            count += 1
        if node.kind == "clm" and ix == node.first:
            cut.claims[ix] = written + 1
        written += 1
        raw = spans.raw(ix)
        if seg_id not in _REWRITTEN:  # copied as written
            out += (lead[ix - 1], raw, trail[ix - 1])
            continue
        sep = spans.delimiters(ix).element.encode("latin-1")
        flat = raw.replace(b"\r", b"").replace(b"\n", b"")
        el = flat.split(sep)
        first = ix == node.first
        if seg_id == "ISA" and node.kind == "isa" and first:
            groups = 0
            new_gs06 = None
            whole = len(el) == 17  # (in a malformed ISA, ENV100, the fields are not in place)
            if ix in control and whole:
                el[13] = control[ix].encode()
                new_gs06 = int(control[ix])
            isa13 = el[13] if whole else None
            cut.isa13[ix] = (isa13 or b"").strip().decode("latin-1")
        elif seg_id == "GS" and node.kind == "gs" and first:
            groups += 1
            sets = 0
            if new_gs06 is not None and len(el) > 6:
                el[6] = str((new_gs06 + groups - 1) % 1_000_000_000 or 1).encode()
            gs06 = el[6] if len(el) > 6 else b""
        elif seg_id == "ST" and node.kind == "st" and first:
            sets += 1
            count = 1
            st02 = el[2] if len(el) > 2 else b""
            hl_new = {}
        elif seg_id == "HL" and node.kind == "hl" and first and len(el) > 1 \
                and node.st_first not in plan.irregular:
            hl_new[id(node)] = len(hl_new) + 1  # (an HL without HL01 keeps its place unnumbered)
            el[1] = str(hl_new[id(node)]).encode()
            if node.parent is not None and id(node.parent) in hl_new:
                _set(el, 2, str(hl_new[id(node.parent)]).encode())
            if len(el) > 4:
                el[4] = b"1" if any(c.kind == "hl" and dest in c.dests for c in node.children) \
                    else b"0"
        elif seg_id == "SE" and st is not None:
            el = _trailer(el, count, st02)
        elif seg_id == "GE" and gs is not None:
            el = _trailer(el, sets, gs06)
        elif seg_id == "IEA":
            el = _trailer(el, groups, el[2] if isa13 is None and len(el) > 2 else isa13 or b"")
        text = sep.join(el)
        out += (lead[ix - 1], raw if text == flat else text, trail[ix - 1])
    bom = b"\xef\xbb\xbf" if spans.data[:3] == b"\xef\xbb\xbf" else b""
    cut.data = bom + b"".join(out)
    return cut


def _trailer(el: list[bytes], count: int, control: bytes) -> list[bytes]:
    """A trailer's elements with its count and its header's control number (without the
    blanks a reader strips from the end of a segment)."""
    return [el[0], str(count).encode(), control if len(el) > 3 else control.rstrip(b" \t"),
            *el[3:]]


def layout(spans: FileSpans) -> tuple[list[bytes], list[bytes]]:
    """What stands before each segment (its indentation) and after it (blanks, its
    terminator, the line break), as written: a segment carries both wherever it goes. A
    segment whose terminator is missing (the file's last, cut short) gets the file's usual
    one unless it ends the file."""
    data, n, start, end = spans.data, len(spans), spans.start, spans.end
    lead, trail = [b""] * n, [b""] * n
    usual = spans.terminator_suffix
    bounds = [x.first - 1 for x in spans.interchanges[1:]] + [n]
    lo = 0
    for x, hi in zip(spans.interchanges, bounds, strict=True):
        term = x.delimiters.segment.encode("latin-1")
        blank = b" \t\r\n\x00" + term
        simple = term + usual  # the usual gap: copied without a search
        for i in range(lo, hi):
            gap = data[end[i]:start[i + 1] if i + 1 < n else len(data)]
            if gap == simple or (term == b"\n" and gap == usual):
                trail[i] = gap
                continue
            k = gap.find(term)
            if k < 0:
                trail[i] = gap if i + 1 == n else (usual or b"\n") if term == b"\n" \
                    else term + usual
                continue
            j = k + 1
            if term != b"\n":  # the line break after the terminator
                j += 2 if gap[j:j + 2] == b"\r\n" else 1 if gap[j:j + 1] in (b"\n", b"\r") else 0
            trail[i] = gap[:j]
            if i + 1 < n and not gap[j:].strip(blank):
                lead[i + 1] = gap[j:]
        lo = hi
    return lead, trail


def _set(el: list[bytes], i: int, value: bytes) -> None:
    """Element ``i`` of a split segment, when the segment has it."""
    if len(el) > i:
        el[i] = value
