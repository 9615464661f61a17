"""Runs pyx12 on one chunk of stand-alone interchanges; executed in worker processes.

A chunk is a list of *blocks*; each block is one transaction set wrapped in its own
ISA/GS ... GE/IEA and written with the canonical separators of :mod:`validator.x12.load`.
The worker picks delimiters that do not occur in the chunk's data, runs
``pyx12.x12n_document`` once on all blocks, and returns every error pyx12 reported as a
plain tuple ``(block, line, level, code, text, value, seg_id, ele_pos, subele_pos, loop)``
where ``line`` is the 1-based segment number inside the block (1 = ISA).

If pyx12 raises on the chunk, each block is validated on its own so that one transaction
set pyx12 cannot handle costs only that set (it is returned in ``failed``).

Only the standard library and pyx12 are imported here, so that worker processes start fast.
"""

from __future__ import annotations

import bisect
import ctypes
import io
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass, field

# Canonical separators (validator.x12.load); duplicated to keep this module import-light.
SEG, ELEM, REP, COMP = "\x1c", "\x1d", "\x1e", "\x1f"

# Delimiter candidates in order of preference (common choices first).
_CANDIDATES = {
    ELEM: "*|!^`@#$%&",
    COMP: ":>\\@#$%&`",
    REP: "^{}[]@#$%&",
    SEG: "~'`@#$%&",
}

ErrorRow = tuple[int, int, str, str, str, str | None, str | None, int | None, int | None,
                 str | None]


@dataclass
class ChunkResult:
    errors: list[ErrorRow] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # block -> reason
    seconds: float = 0.0


class IGReadError(Exception):
    """pyx12 could not read the interchange at all."""


def pick_delimiters(text: str) -> dict[str, str]:
    """Map each canonical separator to a printable delimiter absent from ``text``."""
    used = set(text)
    out: dict[str, str] = {}
    for canon, choices in _CANDIDATES.items():
        for ch in choices:
            if ch not in used and ch not in out.values():
                out[canon] = ch
                break
        else:
            raise IGReadError("no free delimiter character for pyx12 (the data uses them all)")
    return out


def _quiet_pyx12() -> None:
    """pyx12 logs every error at ERROR level; findings carry them instead."""
    lg = logging.getLogger("pyx12")
    lg.setLevel(logging.CRITICAL + 1)
    lg.propagate = False


def _walk_json(doc: dict, loops: list[str | None]) -> list[tuple]:
    """Flatten pyx12's JSON error tree: ``(line, level, code, text, value, seg_id, ele, sub, loop)``."""
    out: list[tuple] = []

    def loop_at(line: int) -> str | None:
        return loops[line - 1] if 0 < line <= len(loops) else None

    for isa in doc.get("interchanges", []):
        for e in isa.get("errors", []):
            out.append((isa.get("cur_line"), "isa", e["err_cde"], e["err_str"], None, "ISA",
                        None, None, None))
        for gs in isa.get("groups", []):
            for e in gs.get("errors", []):
                out.append((gs.get("cur_line"), "gs", e["err_cde"], e["err_str"], None, "GS",
                            None, None, None))
            for st in gs.get("transactions", []):
                for e in st.get("errors", []):
                    out.append((st.get("cur_line"), "st", e["err_cde"], e["err_str"], None, "ST",
                                None, None, None))
                for seg in st.get("segments", []):
                    line = seg.get("cur_line")
                    for e in seg.get("errors", []):
                        out.append((line, "seg", e["err_cde"], e["err_str"], e.get("err_val"),
                                    seg.get("seg_id"), None, None, loop_at(line)))
                    for ele in seg.get("elements", []):
                        for e in ele.get("errors", []):
                            out.append((line, "ele", e["err_cde"], e["err_str"], e.get("err_val"),
                                        seg.get("seg_id"), ele.get("ele_pos"),
                                        ele.get("subele_pos"), loop_at(line)))
    return out


_MAP_CACHE: dict[tuple[str, str | None], object] = {}
_LOAD_MAP = None  # pyx12's own loader, kept while the cached one is installed


def use_map_cache(on: bool) -> None:
    """Load each pyx12 map once per process instead of once per run (~0.25 s each).

    ``x12n_document`` calls ``pyx12.map_if.load_map_file`` for every interchange it reads;
    validation does not change the map objects (the walker keeps its own counters), so
    one instance per (map, path) is reused. ``tests/test_ig_worker.py`` checks that cached
    and fresh maps give the same errors. ``on=False`` restores pyx12's loader.
    """
    global _LOAD_MAP
    import pyx12.map_if

    if _LOAD_MAP is None:
        _LOAD_MAP = pyx12.map_if.load_map_file
    if not on:
        pyx12.map_if.load_map_file = _LOAD_MAP
        return
    load = _LOAD_MAP

    def cached(map_file: str, param, map_path: str | None = None):
        key = (map_file, map_path)
        if key not in _MAP_CACHE:
            _MAP_CACHE[key] = load(map_file, param, map_path)
        return _MAP_CACHE[key]

    pyx12.map_if.load_map_file = cached


def _run_pyx12(text: str) -> tuple[list[tuple], int]:
    """Validate one X12 text; return flattened errors and the number of segments pyx12 read."""
    import pyx12.errors
    import pyx12.params
    import pyx12.x12file
    import pyx12.x12n_document

    try:  # x12n_document only logs this failure; ask the reader for the reason
        pyx12.x12file.X12Reader(io.StringIO(text[:200])).close()
    except pyx12.errors.X12Error as exc:
        raise IGReadError(f"pyx12 cannot read the interchange: {exc}") from None
    param = pyx12.params.params()
    loops: list[str | None] = []

    def record(seg, src, node, valid) -> None:  # called by pyx12 once per segment
        parent = getattr(node, "parent", None)
        loops.append(getattr(parent, "id", None))

    out = io.StringIO()
    pyx12.x12n_document.x12n_document(param, io.StringIO(text), None, None, fd_json=out,
                                      callback=record)
    if not out.getvalue():
        raise IGReadError("pyx12 could not read the interchange (malformed ISA?)")
    return _walk_json(json.loads(out.getvalue()), loops), len(loops)


# How delimiters quoted in pyx12's messages are shown, whichever ones a chunk was given
# (so that a message about one file does not depend on the other files of its chunk).
_DISPLAY = {ELEM: "*", COMP: ":", REP: "^", SEG: "~"}


def _translate(blocks: list[str]) -> tuple[str, list[int], dict[int, str]]:
    """Join blocks with fresh delimiters; return the text, each block's first line and the
    table that shows the chosen delimiters as the usual ``* : ^ ~`` again."""
    canon = "".join(blocks)
    chosen = pick_delimiters(canon.replace(SEG, "").replace(ELEM, "").replace(REP, "")
                             .replace(COMP, ""))
    starts, line = [], 1
    for b in blocks:
        starts.append(line)
        line += b.count(SEG)
    shown = str.maketrans({ch: _DISPLAY[c] for c, ch in chosen.items() if ch != _DISPLAY[c]})
    return canon.translate(str.maketrans(chosen)), starts, shown


def _to_rows(errors: list[tuple], starts: list[int], first_block: int,
             shown: dict[int, str] | None = None) -> list[ErrorRow]:
    rows: list[ErrorRow] = []
    for line, level, code, text, value, *rest in errors:
        if shown:  # (the chosen delimiters never occur in the data, only as delimiters)
            text = text.translate(shown) if isinstance(text, str) else text
            value = value.translate(shown) if isinstance(value, str) else value
        line = int(line or 0)
        i = max(bisect.bisect_right(starts, line) - 1, 0)
        rows.append((first_block + i, line - starts[i] + 1, level, code, text, value, *rest))
    return rows


def die_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when the process that started it dies (Linux).
    A CI timeout or ``kill`` signals the main process only; without this its workers would
    go on validating for nobody. Ctrl-C (SIGINT to the whole process group) ends a worker
    at once and quietly: the main process reports the interruption."""
    signal.signal(signal.SIGINT, lambda *_: os._exit(1))
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def validate_chunk(blocks: list[str], cache_maps: bool = True) -> ChunkResult:
    """Validate ``blocks`` (each ending with a segment separator) with one pyx12 run."""
    import time

    t0 = time.perf_counter()
    _quiet_pyx12()
    use_map_cache(cache_maps)
    res = ChunkResult()
    try:
        text, starts, shown = _translate(blocks)
        errors, _ = _run_pyx12(text)
        res.errors = _to_rows(errors, starts, 0, shown)
    except Exception as exc:  # pyx12 raises many kinds; each becomes one finding
        if len(blocks) == 1:
            res.failed[0] = _reason(exc)
        else:  # isolate the block(s) pyx12 cannot handle
            for i, block in enumerate(blocks):
                one = validate_chunk([block], cache_maps)
                res.errors.extend((i, *row[1:]) for row in one.errors)
                if one.failed:
                    res.failed[i] = one.failed[0]
    res.seconds = time.perf_counter() - t0
    return res


def _reason(exc: Exception) -> str:
    """A one-line reason for a pyx12 failure."""
    text = str(exc).strip()
    msg = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {msg}"[:300] if msg else type(exc).__name__
