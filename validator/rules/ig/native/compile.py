"""Compile pyx12's 5010 837 maps into the native engine's tables (build time only).

::

    python -m validator.rules.ig.native.compile           # rewrites validator/data/ig/
    python -m validator.rules.ig.native.compile --check   # compares instead of writing (exit 1)

Everything is read through pyx12's own objects — ``pyx12.map_if.load_map_file`` (with
``dataele.xml`` and ``codes.xml`` behind it) and, for the loop assignment, pyx12's walker
(``pyx12.map_walker.walk_tree``) — so the tables say what pyx12 does, quirks included.
One JSON file per guide (``<vriic>.json``), ``manifest.json`` (pyx12 version, map files and
their sha256, the files written and theirs) and ``LICENSE-pyx12.txt`` (pyx12's BSD licence:
the tables are derived from its maps).

A guide file holds:

``nodes``
    The map's tree in pyx12's order (``loop_segment_iterator``): index 0 is the root, then
    loops and segments depth-first, children by position. Each node: ``k`` (``R`` root,
    ``L`` loop, ``S`` segment), ``id``, ``name``, ``usage``, ``pos``, ``parent`` (index),
    ``max`` (loop repeat / segment max use, 2147483647 for ``>1``) and ``path`` (pyx12's
    path, which also names its counter). Segments add ``key`` (``[element, component]`` of
    the value that identifies them, pyx12's ``_resolve_unique_key_field``, or null), ``el``
    (indexes into ``elements`` / ``composites`` per element position: ``["e", i]`` or
    ``["c", i]``), ``syntax`` (pyx12's parsed syntax rules, e.g. ``["P", 8, 9]``) and
    ``t1250`` (the codes of the segment's 1250 elements: the types a 1251 value may have).
``elements`` / ``composites``
    Element rules (``xid``, ``name``, ``usage``, ``seq``, ``de``, ``type``, ``min``,
    ``max``, ``codes``, ``ext``, ``re``) and composites (``xid``, ``name``, ``usage``,
    ``seq``, ``sub``: element rule indexes), shared between nodes.
``external``
    The external code lists the map names (``states``, ``pos``, ...), from ``codes.xml``.
``tokens``
    ``[segment ID, key value or null]``: what the walker can tell segments apart by. A
    segment's token is its ID with its key value when that value is one of the codes of a
    map node of that ID, else its ID alone; an ID absent from the map is token 0.
``outcomes`` / ``table``
    The loop assignment. ``table[s][t]`` is the outcome of pyx12's walker started at
    segment node ``s`` (``nodes`` index ``starts[s]``) for a segment of token ``t``, run with
    fresh counters. An outcome: ``n`` the node reached (-1: not found), ``chk`` the loop
    entered (its counters reset; -1: none), ``nu`` "not used" messages, ``cand`` the
    required segments/loops the walk passed over (``[node, class, loop]``: class 0 = always
    missing, 1 = missing unless seen earlier in the same position of ``loop``; those certainly
    seen are left out; pyx12 reports them only when their counter is 0).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Any

# The 5010 837 guides pyx12 ships maps for: map version (GS08 the map answers) -> map file.
GUIDES = {"005010X222A1": "837.5010.X222.A1.xml", "005010X223A2": "837Q3.I.5010.X223.A1.xml"}
DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "ig"
LICENSE_NAME = "LICENSE-pyx12.txt"
MAXINT = 2147483647


def _load(map_file: str) -> Any:
    import pyx12.map_if
    import pyx12.params

    return pyx12.map_if.load_map_file(map_file, pyx12.params.params())


def _element(e: Any) -> dict:
    return {
        "xid": e.refdes, "name": e.name, "usage": e.usage, "seq": e.seq, "de": e.data_ele,
        "type": e.get_data_type(), "min": e.min_len, "max": e.max_len,
        "codes": list(e.valid_codes) if e.valid_codes else None,
        "ext": e.external_codes, "re": e.res or None,
    }


class _Interner:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.index: dict[str, int] = {}

    def add(self, item: Any) -> int:
        k = json.dumps(item, sort_keys=True)
        if k not in self.index:
            self.index[k] = len(self.items)
            self.items.append(item)
        return self.index[k]


def compile_guide(vriic: str, transitions: bool = True) -> dict:
    """The tables of one guide (see the module docstring); without the loop-assignment
    table (``outcomes``, ``table``: most of the work) when ``transitions`` is false."""
    import pyx12.map_if
    import pyx12.segment

    root = _load(GUIDES[vriic])
    nodes = list(root.loop_segment_iterator())
    index = {id(n): i for i, n in enumerate(nodes)}
    elements, composites = _Interner(), _Interner()
    external: dict[str, list[str]] = {}
    out_nodes: list[dict] = []
    for n in nodes:
        if n.is_map_root():
            out_nodes.append({"k": "R", "id": n.id, "name": n.name, "usage": "R", "pos": 0,
                              "parent": -1, "max": 1, "path": n.get_path()})
            continue
        rec = {"k": "L" if n.is_loop() else "S", "id": n.id, "name": n.name, "usage": n.usage,
               "pos": n.pos, "parent": index[id(n.parent)], "max": n.get_max_repeat(),
               "path": n.get_path()}
        if n.is_segment():
            key = n._resolve_unique_key_field(n.id, with_qual=False)
            rec["key"] = [key[1], key[2]] if key else None
            seqs = [c.seq for c in n.children]
            if seqs != list(range(1, len(seqs) + 1)):
                raise SystemExit(f"{vriic}: {n.get_path()}: element positions {seqs} have gaps")
            el = []
            for c in n.children:
                if c.is_composite():
                    subs = []
                    for s in c.children:
                        subs.append(elements.add(_element(s)))
                        if s.external_codes:
                            external[s.external_codes] = []
                    el.append(["c", composites.add({"xid": c.refdes, "name": c.name,
                                                    "usage": c.usage, "seq": c.seq,
                                                    "sub": subs})])
                else:
                    el.append(["e", elements.add(_element(c))])
                    if c.external_codes:
                        external[c.external_codes] = []
            rec["el"] = el
            rec["syntax"] = [list(s) for s in n.syntax]
            rec["t1250"] = [code for c in n.children if not c.is_composite()
                            and c.data_ele == "1250" for code in c.valid_codes]
        out_nodes.append(rec)
    for name in external:
        external[name] = sorted(c for c in root.ext_codes.codes[name]["codes"] if c is not None)
    # The run counts a segment's matches within the rows that stay at its position in its
    # loop (see run._max_use): no loop may share a position with a segment of its parent.
    kinds: dict[tuple[int, int], set[str]] = {}
    for rec in out_nodes[1:]:
        if rec["path"].startswith("/ISA_LOOP/GS_LOOP/ST_LOOP/"):
            kinds.setdefault((rec["parent"], rec["pos"]), set()).add(rec["k"])
    if any(len(k) > 1 for k in kinds.values()):
        raise SystemExit(f"{vriic}: a loop shares its position with a segment")

    tokens = _tokens(nodes)
    starts = [i for i, n in enumerate(nodes) if n.is_segment()
              and n.get_path().startswith("/ISA_LOOP/GS_LOOP/")]
    outcomes = _Interner()
    table = []
    segs = [_segment(pyx12.segment, nodes, seg_id, value) for seg_id, value in tokens]
    for s in starts if transitions else ():
        table.append([outcomes.add(_outcome(nodes[s], seg, index)) for seg in segs])
    return {
        "vriic": vriic, "map": GUIDES[vriic], "id": root.id, "name": root.name,
        "icvn": root.icvn, "nodes": out_nodes, "elements": elements.items,
        "composites": composites.items, "external": external, "tokens": tokens,
        "starts": starts, "outcomes": outcomes.items, "table": table,
    }


def _tokens(nodes: list[Any]) -> list[list]:
    """``[segment ID, key value]`` tokens: each ID alone (value null) and with each code of
    its key (an ID's key sits at the same position in every node of the map)."""
    keys: dict[str, tuple | None] = {}
    codes: dict[str, set[str]] = {}
    for n in nodes:
        if not n.is_segment():
            continue
        k = n._resolve_unique_key_field(n.id, with_qual=False)
        pos = (k[1], k[2]) if k else None
        if pos is not None:
            if keys.get(n.id) not in (None, pos):
                raise SystemExit(f"segment {n.id}: keys at {keys[n.id]} and {pos}")
            keys[n.id] = pos
            codes.setdefault(n.id, set()).update(c for c in k[0].valid_codes if c is not None)
        else:
            keys.setdefault(n.id, None)
    tokens: list[list] = [[None, None]]  # 0: an ID the map does not know
    for seg_id in sorted(keys):
        tokens.append([seg_id, None])
        tokens += [[seg_id, c] for c in sorted(codes.get(seg_id, ()))]
    return tokens


def _segment(segment_mod: Any, nodes: list[Any], seg_id: str | None, value: str | None) -> Any:
    """A data segment that carries only the token (the ID and its key value)."""
    if seg_id is None:
        return segment_mod.Segment("ZZZ", "~", "*", ":")
    keys = [k for n in nodes if n.is_segment() and n.id == seg_id
            for k in [n._resolve_unique_key_field(seg_id, with_qual=False)] if k is not None]
    key = keys[0] if keys else None
    if value is None or key is None:
        return segment_mod.Segment(seg_id, "~", "*", ":")
    ele = ["" for _ in range(key[1])]
    ele[key[1] - 1] = value
    return segment_mod.Segment("*".join([seg_id, *ele]), "~", "*", ":")


def outcomes_for(vriic: str, pairs: list[tuple[int, int]]) -> list[dict]:
    """Entries ``(start node, token)`` of the loop-assignment table, computed afresh (for
    tests)."""
    import pyx12.segment

    root = _load(GUIDES[vriic])
    nodes = list(root.loop_segment_iterator())
    index = {id(n): i for i, n in enumerate(nodes)}
    tokens = _tokens(nodes)
    return [_outcome(nodes[s], _segment(pyx12.segment, nodes, *tokens[t]), index)
            for s, t in pairs]


def _outcome(start: Any, seg: Any, index: dict[int, int]) -> dict:
    """pyx12's walker from ``start`` for ``seg``, with fresh counters."""
    import pyx12.map_walker

    walker = pyx12.map_walker.walk_tree()
    node, _pop, push, errors = walker.walk_errors(start, seg, 1, 1, None)
    chk = index[id(push[-1])] if push else -1
    nu: list[str] = []
    cand: list[list[int]] = []
    for e in errors:
        if e.err_cde == "1":
            continue  # not found: the message names the data, written at run time
        if e.err_cde == "2":
            nu.append(e.err_str)
        elif e.err_cde == "3":
            missing = e.map_node.parent if e.err_str.startswith("Mandatory loop") else e.map_node
            cls, loop = _classify(start, missing)
            if cls >= 0:
                cand.append([index[id(missing)], cls, index[id(loop)]])
        else:
            raise SystemExit(f"unexpected walker error {e.err_cde} {e.err_str}")
    return {"n": index[id(node)] if node is not None else -1, "chk": chk, "nu": nu, "cand": cand}


def _classify(start: Any, missing: Any) -> tuple[int, Any]:
    """Whether a required node the walker passed over (from ``start``) can have been seen
    in its loop's current instance: -1 certainly (its counter is >= 1: the start node, or
    the loop the walker is in), 0 certainly not (it comes after the walker's position, which
    only moves forward within a loop instance), 1 maybe (it shares the walker's position in
    ``loop`` with the node the walker is on: it counts as seen when it was matched or
    entered since the walker reached that position)."""
    on_chain: dict[int, tuple[int, Any]] = {}
    cur = start
    while not cur.is_map_root():
        on_chain[id(cur.parent)] = (cur.pos, cur)
        cur = cur.parent
    x, loop = missing, missing.parent
    while id(loop) not in on_chain:
        x, loop = loop, loop.parent
    q, here = on_chain[id(loop)]
    if x is here:
        if x is not missing:
            raise SystemExit(f"cannot place {missing.get_path()} from {start.get_path()}")
        return -1, loop
    if x.pos > q:
        return 0, loop
    if x.pos == q:
        return 1, loop
    raise SystemExit(f"{missing.get_path()} lies behind {start.get_path()}")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _license_text() -> str:
    dist = importlib.metadata.distribution("pyx12")
    for f in dist.files or ():
        if f.name.upper().startswith("LICENSE"):
            return Path(dist.locate_file(f)).read_text(encoding="utf-8")
    raise SystemExit("pyx12's licence file was not found in its package metadata")


def build() -> dict[str, bytes]:
    """Every file of ``validator/data/ig/`` as bytes, by name."""
    import pyx12

    files: dict[str, bytes] = {}
    for vriic in GUIDES:
        data = compile_guide(vriic)
        files[f"{vriic}.json"] = (json.dumps(data, separators=(",", ":"), ensure_ascii=True)
                                  + "\n").encode()
    files[LICENSE_NAME] = _license_text().encode()
    map_dir = Path(pyx12.__file__).resolve().parent / "map"
    manifest = {
        "generated_by": "python -m validator.rules.ig.native.compile",
        "source": {"package": "pyx12", "version": importlib.metadata.version("pyx12"),
                   "licence": "BSD (see LICENSE-pyx12.txt)",
                   "url": "https://github.com/azoner/pyx12"},
        "maps": {name: _sha256(map_dir / name)
                 for name in [*GUIDES.values(), "dataele.xml", "codes.xml"]},
        "guides": dict(GUIDES),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    files["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="compare with the committed files instead of writing them")
    ap.add_argument("--out", type=Path, default=DATA_DIR, help="output folder")
    args = ap.parse_args(argv)
    files = build()
    if args.check:
        stale = [name for name, data in files.items()
                 if not (args.out / name).is_file() or (args.out / name).read_bytes() != data]
        for name in stale:
            print(f"{args.out / name}: differs from a fresh compile", file=sys.stderr)
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data):,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
