"""The native implementation-guide engine's rule body: findings shaped like the pyx12
path's (:func:`validator.rules.ig.run.validate`), from the compiled guides.

For every supported 5010 837P/837I transaction set whose guide is compiled (the same
transaction sets the pyx12 path validates, against the same maps):

1. loop assignment and the walk's errors (:mod:`.walk`): segment not found (IK304-1),
   not used (IK304-2), required segment or loop missing (IK304-3), loop over its repeat
   (IK304-4), segment over its max use (IK304-5);
2. what pyx12's reader reports per segment: trailing separators (``SEG1``), an empty
   segment (IK304-8), an invalid segment ID (IK304-1), HL numbering (``HL1``, ``HL2``) and
   LX numbering (``LX``), attached to the segment pyx12 attaches them to;
3. element checks of every segment the walk placed (:mod:`.segcheck`): IK403-n, IK304-8;
4. the transaction set's envelope as pyx12 sees it: SE01 count (IK502-4), SE02 (IK502-3), a
   missing SE (AK905-3).

Findings carry the same columns, codes, messages (pyx12's wording, "loop 2300: " prefixed)
and PHI masking as the pyx12 path; IG210/IG211 notes come from the same helper.

Where the two engines differ, on purpose:

- pyx12 raises on a composite with more components than the guide defines (IndexError)
  and on an RD8 value with more than one ``-`` (ValueError); the pyx12 path then reports
  IG299 for the whole transaction set. The native engine reports what pyx12 meant to:
  IK304-8 "Too many sub-elements in composite …" and IK403-8 (invalid date), and checks
  the rest of the set.
- pyx12 cannot read a transaction set outside a GS (no map for its group) or behind an ISA
  that does not have fixed-width fields (IG299); the native engine needs no envelope and
  validates it.
- pyx12 counts LX01 from the last CLM with a counter that carries over from one transaction
  set to the next of the same pyx12 run (it is reset by CLM only), so an LX before a set's
  first CLM is compared with a count that depends on the batch and ``--jobs``. The native
  engine starts each set at 0.
- The pyx12 path shows the delimiters it chose for pyx12's run as ``* : ^ ~`` in every
  message; when the data holds ``^``, a ``{`` in pyx12's own text (its ``[0-9]{9}``
  pattern) comes out as ``^``. Native messages keep the text as it is.
- No IG299: the native engine does not give up on a transaction set (an internal error
  fails the rule, INT001, as for any rule).
"""

from __future__ import annotations

import bisect
import itertools
import logging
import re
import time
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ....x12.load import COMP, ELEM, REP
from ... import findings as F
from ..run import (
    CODE_PREFIX,
    PHI_ENTITIES,
    _mask_phi,
    _mask_quoted,
    _notes,
    sets_to_validate,
    with_maps,
)
from . import segcheck, walk
from .guide import Guide, guide_for, load

if TYPE_CHECKING:
    from ...api import Context

log = logging.getLogger("claims_validator")

ENGINE_CODES = ("IG200", "IG201")
ELEMENT_SLICE = 400_000  # segments checked together (distinct texts, patterns)
TAKE_RUNS = 64  # more runs of segments to validate: copied (a filter) rather than sliced
DYNAMIC_COLUMNS = 2_000  # more checks of one maybe-missing loop/segment: on whole columns
_SEG_ID_OK = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
# One finding before it is placed: the row it is reported on (index into the guide's rows),
# pyx12's level and code, message, value, element position and component, and whether it
# is reported on the GE pyx12 reads after the set (then on the set's last segment, loop
# GS_LOOP, no claim).
ROW_SCHEMA = {"row": pl.Int64, "level": pl.String, "code": pl.String, "text": pl.String,
              "value": pl.String, "ele": pl.Int64, "sub": pl.Int64, "ge": pl.Boolean}


def validate(ctx: Context) -> pl.DataFrame:
    """All IG2xx findings of the batch (empty unless ``ctx.options.ig`` is true)."""
    t0 = time.perf_counter()
    txns = sets_to_validate(ctx)
    if txns is None:
        return F.empty()
    txns = with_maps(txns, guide_for)
    notes = _notes(txns)
    if not any(ctx.enabled(code) for code in ENGINE_CODES):
        return F.conform(notes)
    todo = txns.filter(pl.col("map").is_not_null())
    every = ctx.segs("*", supported=False, split=False)
    cols = [c for c in ("file_id", "seg_index", "seg_id", "raw", "st_key", "_sid", "clm_key",
                        "nm1") if c in every.columns]
    frames = [notes]
    total = 0
    for vriic in sorted(todo["map"].unique().to_list()):
        keys = todo.filter(pl.col("map") == vriic)
        part = _take(every.select(cols), every["st_key"].is_in(keys["st_key"].implode()))
        total += part.height
        frames.append(_validate_guide(load(vriic), part, keys))
    out = F.concat(frames)
    log.info("implementation-guide validation (native): %d transaction sets, %d segments, "
             "%d findings in %.2fs", todo.height, total, out.height, time.perf_counter() - t0)
    return out


def _take(df: pl.DataFrame, keep: pl.Series) -> pl.DataFrame:
    """The rows of ``df`` where ``keep`` is true: slices of it (no copy) when they form a few
    runs, as the segments of transaction sets do between envelope segments."""
    at = keep.fill_null(False).arg_true().to_numpy()
    if len(at) == df.height:
        return df
    cuts = np.flatnonzero(np.diff(at) != 1) + 1
    if len(cuts) >= TAKE_RUNS:
        return df.filter(keep.fill_null(False))
    bounds = [0, *cuts.tolist(), len(at)]
    return pl.concat([df.slice(int(at[a]), b - a) for a, b in itertools.pairwise(bounds)],
                     rechunk=False) if len(at) else df.clear()


def segment_loops(ctx: Context) -> pl.DataFrame:
    """The map node of every segment of the batch's 5010 837P/837I transaction sets (those
    with a compiled guide): ``file_id, seg_index, loop`` (pyx12's loop ID, e.g. ``2300``;
    for a segment pyx12 would not place, the loop the walker stayed in) and ``path`` (the
    map node's path, e.g. ``/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2300/CLM``).
    Derived once per run; a rule reading it declares ``reads=("*",)``."""

    def build() -> pl.DataFrame:
        txns = ctx.transactions.filter(pl.col("supported"))
        every = ctx.segs("*", supported=False, split=False)
        frames = []
        for version in txns["version"].unique().to_list():
            vriic = guide_for(version)
            if vriic is None:
                continue
            g = load(vriic)
            keys = txns.filter(pl.col("version") == version)["st_key"]
            segs = every.filter(pl.col("st_key").is_in(keys.implode()))
            st = segs["st_key"]
            starts = (st != st.shift(1)).fill_null(True).arg_true().to_list()
            node = pl.Series(g.next_node, dtype=pl.Int32).gather(
                pl.Series(walk.walk(g, walk.tokens(g, segs), starts).outcomes, dtype=pl.UInt32))
            loops = [g.nodes[n["parent"]]["id"] if n["parent"] >= 0 else None for n in g.nodes]
            frames.append(segs.select("file_id", "seg_index").with_columns(
                loop=pl.Series(loops, dtype=pl.String).gather(node).cast(pl.Categorical),
                path=pl.Series([n["path"] for n in g.nodes], dtype=pl.String).gather(node)
                .cast(pl.Categorical)))
        if not frames:
            return pl.DataFrame(schema={"file_id": pl.UInt32, "seg_index": pl.UInt32,
                                        "loop": pl.Categorical, "path": pl.Categorical})
        return pl.concat(frames).sort("file_id", "seg_index")

    return ctx.derived("ig_native_segment_loops", build)


def _validate_guide(g: Guide, segs: pl.DataFrame, txns: pl.DataFrame) -> pl.DataFrame:
    """The findings of the transaction sets ``txns`` (``segs``: their segments, in order)
    against guide ``g``."""
    rows = segs.select(
        "file_id", "seg_index", "seg_id", "raw", "st_key",
        *(["_sid"] if "_sid" in segs.columns else []), claim_key="clm_key",
        _phi=pl.col("nm1").is_in(PHI_ENTITIES).fill_null(False) | (pl.col("seg_id") == "DMG"))
    n = rows.height
    if not n:
        return F.empty()
    st = rows["st_key"]
    first = (st != st.shift(1)).fill_null(True)
    starts = first.arg_true().to_list()
    w = walk.walk(g, walk.tokens(g, rows), starts)
    outs = w.outcomes
    o = pl.Series("o", outs, dtype=pl.UInt32)
    # per row: its outcome, the node the walker is on after it (pyx12's node for the
    # segment; for one it did not place, the node before), whether it was placed, the loop
    # it entered (-1: none), the set's first row, the set's number
    rows = rows.with_columns(
        o=o, node=pl.Series(g.next_node, dtype=pl.Int32).gather(o), found=o < g.nf_base,
        chk=pl.Series(g.chk_of, dtype=pl.Int32).gather(o), first=first,
        txn=first.cum_sum().cast(pl.Int32) - 1,
    ).with_row_index("row")
    parts = [_walk_errors(g, rows, outs, starts, w.ge), _max_use(g, rows), _loop_repeat(g, rows)]
    # where pyx12's error cursor is after a segment's walk: on it when the walk reported
    # something there with a map node (missing, over max use or repeat)
    cursor_rows = set(pl.concat(parts, how="vertical_relaxed").filter(
        pl.col("code").is_in(["3", "4", "5"]) & ~pl.col("ge"))["row"].to_list())
    parts += [_reader_errors(g, rows, cursor_rows), _element_errors(g, rows)]
    found = pl.concat([p for p in parts if p.height], how="vertical_relaxed") if any(
        p.height for p in parts) else pl.DataFrame(schema=ROW_SCHEMA)
    return F.concat([_place(g, rows, found), _envelope(rows, starts, txns)])


# ---------------------------------------------------------------- the walk's own errors

def _walk_errors(g: Guide, rows: pl.DataFrame, outs: list[int], starts: list[int],
                 ge: list[int]) -> pl.DataFrame:
    """Not found (IK304-1), not used (IK304-2), missing (IK304-3) for every row and for the
    GE after each set."""
    out: list[tuple] = []
    # rows pyx12 did not place, and outcomes with "not used" messages: one by one (rare)
    nu = [i for i, x in enumerate(g.outcomes) if x["nu"]]
    for r, raw, txn, o in rows.lazy().filter(~pl.col("found") | pl.col("o").is_in(nu)).select(
            "row", "raw", "txn", "o").collect().iter_rows():
        first = starts[txn]
        if o >= g.nf_base:
            prev = g.next_node[outs[r - 1]] if r > first else g.gs
            out.append((r, "seg", "1", _not_found_text(raw, g.nodes[prev]["path"]), None,
                        None, None, False))
            continue
        for text in g.outcomes[o]["nu"]:  # reported on the segment before (pyx12's cursor;
            if r - 1 > first:  # on the ST it is lost)
                out.append((r - 1, "seg", "2", text, None, None, None, False))
    # required nodes passed over: one row per (row, candidate); those certainly missing and
    # those missing unless seen earlier at the same position (on whole columns when many)
    cand = _candidates(g)
    hits = rows.lazy().filter(pl.col("o").is_in(cand["o"].unique().implode())).select(
        "row", "txn", "o").collect().join(cand, on="o")
    static = hits.filter(pl.col("cls") == 0)
    firsts = pl.Series(starts, dtype=pl.Int64)
    for (c, loop), grp in hits.filter(pl.col("cls") == 1).group_by("c", "loop"):
        at = grp["row"].cast(pl.Int64)
        first = firsts.gather(grp["txn"])
        if grp.height > DYNAMIC_COLUMNS:
            missing = walk.dynamic_missing_many(g, rows, c, loop, at, first)
        else:
            missing = pl.Series([walk.dynamic_missing(g, outs, r, f, [c, 1, loop])
                                 for r, f in zip(at.to_list(), first.to_list(), strict=True)],
                                dtype=pl.Boolean)
        static = pl.concat([static, grp.filter(missing)])
    bounds = [*starts, len(outs)]
    for t, o in enumerate(ge):  # the GE pyx12 reads after the set
        last = bounds[t + 1] - 1
        for c, cls, loop in g.outcomes[o]["cand"] if o < g.nf_base else ():
            if cls == 0 or walk.dynamic_missing(g, outs, last + 1, bounds[t], [c, 1, loop]):
                out.append((last, "seg", "3", _missing_text(g, c), None, None, None, True))
    frames = [pl.DataFrame(out, schema=ROW_SCHEMA, orient="row")]
    if static.height:
        texts = [_missing_text(g, i) for i in range(len(g.nodes))]
        frames.append(static.select(
            pl.col("row").cast(pl.Int64), level=pl.lit("seg"), code=pl.lit("3"),
            text=_lookup(texts, "c", pl.String), value=pl.lit(None, pl.String),
            ele=pl.lit(None, pl.Int64), sub=pl.lit(None, pl.Int64), ge=pl.lit(False)))
    return pl.concat(frames)


def _candidates(g: Guide) -> pl.DataFrame:
    """``o, c, cls, loop``: the required nodes each outcome passes over (see :mod:`.compile`)."""
    rows = [(o, c, cls, loop) for o, x in enumerate(g.outcomes) for c, cls, loop in x["cand"]]
    return pl.DataFrame(rows, orient="row", schema={"o": pl.UInt32, "c": pl.Int32,
                                                    "cls": pl.Int8, "loop": pl.Int32})


def _missing_text(g: Guide, node: int) -> str:
    n = g.nodes[node]
    kind = "loop" if n["k"] == "L" else "segment"
    return f'Mandatory {kind} "{n["name"]}" ({n["id"]}) missing'


def _fmt_element(text: str) -> str:
    """An element's text as pyx12 shows it (components up to the last non-empty one)."""
    if COMP not in text and REP not in text:
        return text
    return segcheck._fmt(text.replace(REP, "^").split(COMP))


def _not_found_text(raw: str, started_at: str) -> str:
    parts = raw.split(ELEM)
    if parts[0] == "HL":
        shown = [_fmt_element(p) for p in parts[1:]]
        last = 0
        for i in range(len(shown) - 1, -1, -1):
            last = i
            if shown[i] != "":
                break
        seg = "HL*" + "*".join(shown[: last + 1])
    else:
        seg = f"{parts[0]}*{_fmt_element(parts[1]) if len(parts) > 1 else None}"
    return f"Segment {seg} not found.  Started at {started_at}"


# ---------------------------------------------------------------- counts

def _lookup(values: list, col: str, dtype: pl.DataType) -> pl.Expr:
    return pl.lit(pl.Series(values, dtype=dtype)).gather(pl.col(col))


def _max_use(g: Guide, rows: pl.DataFrame) -> pl.DataFrame:
    """IK304-5: a segment matched more often than its max use in one instance of its loop.
    All matches of a node in a loop instance happen while the walker stays at the node's
    position in the loop, so they are counted within runs of rows at one (loop, position)."""
    sig = [n["parent"] * 100_000 + n["pos"] if n["k"] == "S" else -1 for n in g.nodes]
    df = rows.select("row", "node", "found", "chk", "first", "seg_id",
                     sig=_lookup(sig, "node", pl.Int64))
    new = pl.col("first") | (pl.col("chk") >= 0) | (pl.col("sig") != pl.col("sig").shift(1))
    df = df.with_columns(block=new.cum_sum(), cont=~new)
    blocks = df.filter(pl.col("cont") & pl.col("found"))["block"].unique()
    if not blocks.len():
        return pl.DataFrame(schema=ROW_SCHEMA)
    maxes = [n["max"] if n["k"] == "S" else 0 for n in g.nodes]
    hit = (df.filter(pl.col("block").is_in(blocks.implode()) & pl.col("found"))
           .with_columns(count=pl.int_range(1, pl.len() + 1).over("block", "node"),
                         max=_lookup(maxes, "node", pl.Int64))
           .filter((pl.col("chk") < 0) & (pl.col("count") > pl.col("max"))))
    return hit.select(
        "row", level=pl.lit("seg"), code=pl.lit("5"),
        text=pl.format("Segment {} exceeded max count.  Found {}, should have {}",
                       "seg_id", "count", "max"),
        value=pl.lit(None, pl.String), ele=pl.lit(None, pl.Int64), sub=pl.lit(None, pl.Int64),
        ge=pl.lit(False))


def _loop_repeat(g: Guide, rows: pl.DataFrame) -> pl.DataFrame:
    """IK304-4: a loop entered more often than its repeat in one instance of its parent
    loop. An instance of the parent lasts until a loop at its depth or above is entered
    again (entering the loop resets the counters below it, pyx12's ``reset_to_node``)."""
    n = g.nodes
    limited = [i for i, x in enumerate(n)
               if x["k"] == "L" and x["usage"] in ("R", "S") and x["max"] < 2147483647]
    checks = rows.lazy().filter(pl.col("found") & (pl.col("chk") >= 0)).select(
        "row", "txn", loop="chk").collect()
    if not checks.height or not checks["loop"].is_in(limited).any():
        return pl.DataFrame(schema=ROW_SCHEMA)
    checks = checks.with_columns(depth=_lookup(g.depth, "loop", pl.Int32))
    # the row of the last entry at depth <= d (the ST's at worst: the ST_LOOP is entered
    # at every set's start): the instance of the loops at depth d + 1
    inst = pl.lit(None, pl.UInt32)
    for e in sorted({g.depth[x] for x in limited}, reverse=True):
        last = pl.when(pl.col("depth") < e).then(pl.col("row")).forward_fill()
        inst = pl.when(pl.col("depth") == e).then(last).otherwise(inst)
    maxes = [x["max"] for x in n]
    ent = (checks.with_columns(inst=inst).filter(pl.col("loop").is_in(limited))
           .with_columns(key=pl.col("inst").cast(pl.Int64) * len(n) + pl.col("loop")))
    # a loop's entries in row order never go back to an earlier instance: an entry is over
    # the repeat m when the entry m before it (of the same loop) is of the same instance;
    # only the instances where that happens are counted row by row
    by_loop = ent.select("loop", "key", max=_lookup(maxes, "loop", pl.Int64)).sort(
        "loop", maintain_order=True)
    over_max = pl.lit(False)
    for m in sorted({maxes[x] for x in limited}):
        same = (pl.col("key") == pl.col("key").shift(m)).fill_null(False)
        over_max = over_max | ((pl.col("max") == m) & same)
    over = by_loop.filter(over_max)["key"].unique()
    if not over.len():
        return pl.DataFrame(schema=ROW_SCHEMA)
    hit = (ent.filter(pl.col("key").is_in(over.implode()))
           .with_columns(count=pl.int_range(1, pl.len() + 1).over("key"),
                         max=_lookup(maxes, "loop", pl.Int64))
           .filter(pl.col("count") > pl.col("max")))
    if not hit.height:
        return pl.DataFrame(schema=ROW_SCHEMA)
    return hit.select(
        "row", level=pl.lit("seg"), code=pl.lit("4"),
        text=pl.format("Loop {} exceeded max count.  Found {}, should have {}",
                       _lookup([x["id"] for x in n], "loop", pl.String), "count", "max"),
        value=pl.lit(None, pl.String), ele=pl.lit(None, pl.Int64), sub=pl.lit(None, pl.Int64),
        ge=pl.lit(False))


# ---------------------------------------------------------------- pyx12's reader

def _int(text: str | None) -> int | None:
    try:
        return int(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _reader_errors(g: Guide, rows: pl.DataFrame, cursor_rows: set[int]) -> pl.DataFrame:
    """SEG1, empty segment, invalid segment ID, HL1/HL2, LX — on the segment pyx12's error
    cursor is on when it reads them (see :func:`_attach`)."""
    out: list[tuple] = []
    raw = pl.col("raw")
    bad_id = _bad_ids(rows)
    # an empty segment (nothing but separators after its ID) has no ELEM or ends with a
    # separator: the cheap tests pick the few rows the pattern then decides
    maybe = rows.filter(raw.str.ends_with(ELEM) | raw.str.ends_with(COMP)
                        | ~raw.str.contains(ELEM, literal=True) | bad_id)
    flagged = maybe.filter(raw.str.ends_with(ELEM) | bad_id
                           | raw.str.contains(f"^[^{ELEM}]*(?:{ELEM}[{ELEM}{COMP}]*)?$"))
    for r, rw in flagged.select("row", "raw").iter_rows():
        sid = rw.split(ELEM, 1)[0]
        if rw.endswith(ELEM):
            out.append((r, "SEG1", "Segment contains trailing element terminators"))
        if not rw[len(sid):].replace(ELEM, "").replace(COMP, ""):
            out.append((r, "8", f'Segment "{sid}*~" is empty'))
        if not _SEG_ID_OK.search(sid):
            out.append((r, "1", f'Segment identifier "{sid}" is invalid'))
    out += _hl_errors(rows)
    if g.data["id"] == "837":  # pyx12 counts LX only with a map whose ID is 837 (not 837Q3)
        out += _lx_errors(rows)
    if not out:
        return pl.DataFrame(schema=ROW_SCHEMA)
    err = pl.DataFrame(out, schema={"src": pl.Int64, "code": pl.String, "text": pl.String},
                       orient="row")
    return _attach(rows, err, cursor_rows)


def _id_in(rows: pl.DataFrame, seg_ids: list[str]) -> pl.Expr:
    """Whether a row's segment ID is one of ``seg_ids``."""
    return _id_where(rows, lambda seg_id: seg_id in seg_ids)


def _bad_ids(rows: pl.DataFrame) -> pl.Expr:
    """Whether a row's segment ID is not a valid one."""
    return _id_where(rows, lambda seg_id: not _SEG_ID_OK.search(seg_id))


def _id_where(rows: pl.DataFrame, test) -> pl.Expr:
    """Whether ``test`` holds for a row's segment ID, worked out once per distinct ID (on
    the reader's integer per ID, ``_sid``, when there)."""
    if "_sid" in rows.columns:
        firsts = rows["_sid"].arg_unique()
        hits = [sid for sid, seg_id in zip(rows["_sid"].gather(firsts).to_list(),
                                           rows["seg_id"].gather(firsts).to_list(), strict=True)
                if test(seg_id)]
        return pl.col("_sid").is_in(hits) if hits else pl.lit(False)
    hits = [i for i in rows["seg_id"].unique().to_list() if test(i)]
    return pl.col("seg_id").is_in(hits) if hits else pl.lit(False)


def _hl_errors(rows: pl.DataFrame) -> list[tuple]:
    """pyx12's HL numbering: HL01 counts the set's HLs (HL1), HL02 names an HL on the path
    to the one before (HL2)."""
    hl = rows.lazy().filter(_id_in(rows, ["HL"])).select(
        "row", "txn", el=pl.col("raw").str.split_exact(ELEM, 2)).unnest("el").with_columns(
        n=pl.int_range(1, pl.len() + 1).over("txn")).collect()
    out = []
    for r, hl01, n in hl.filter(pl.col("field_1").is_null()
                                | (pl.col("field_1") != pl.col("n").cast(pl.String))
                                ).select("row", "field_1", "n").iter_rows():
        hl01 = _fmt_element(hl01) if hl01 is not None else None
        if hl01 != str(n) and n != _int(hl01):
            out.append((r, "HL1", f"My HL count {n} does not match your HL count {hl01}"))
    # HL02: pyx12's stack of the HLs on the path to the previous one
    parents = hl.with_columns(p=pl.col("field_2").cast(pl.Int64, strict=False))
    if _hl_parents_ok(parents):
        return out
    cur, stack = -1, []
    for r, txn, text, n, p in parents.select("row", "txn", "field_2", "n", "p").iter_rows():
        if txn != cur:
            cur, stack = txn, []
        if text != "":
            if p is None and text is not None:
                p = _int(_fmt_element(text))
            if p not in stack:
                out.append((r, "HL2", f"HL parent ({p}) is not a valid parent"))
            while stack and p != stack[-1]:
                stack.pop()
        stack.append(n)
    return out


def _hl_parents_ok(hl: pl.DataFrame) -> bool:
    """Whether every HL02 names the HL before it or one of that one's three nearest
    ancestors (a sufficient condition for pyx12's stack check to pass everywhere, checked
    on whole columns; the usual 837 tree is three levels deep)."""
    # every HL's parent, if all is well: HL02, or (empty HL02) the HL before
    n, p = pl.col("n"), pl.col("p")
    df = hl.with_columns(
        ok_text=(pl.col("field_2") == "") | p.is_not_null(),
        parent=pl.when(pl.col("field_2") == "").then(n - 1).otherwise(p),
        at=pl.int_range(pl.len()) - n + 1)  # index of the set's first HL
    if not df["ok_text"].fill_null(False).all():
        return False
    parent = df["parent"]
    base = df["at"]
    size = df.height

    def up(k: pl.Series) -> pl.Series:  # the parent of HL k (ordinal) of the same set
        idx = (base + k - 1).clip(0, size - 1)
        return pl.when(k >= 1).then(parent.gather(idx)).otherwise(None)

    check = df.select(
        k1=n - 1, field_2=pl.col("field_2"), p=p, n=n)
    k1 = check["k1"]
    k2 = pl.select(up(k1)).to_series()
    k3 = pl.select(up(k2)).to_series()
    k4 = pl.select(up(k3)).to_series()
    named = check["field_2"].is_null() | (check["field_2"] != "")  # absent: pyx12's None
    hit = (check["p"] == k1) | (check["p"] == k2) | (check["p"] == k3) | (check["p"] == k4)
    good = (~named | (hit.fill_null(False) & (check["p"] >= 1) & (check["p"] < check["n"])))
    return bool(good.all())


def _lx_errors(rows: pl.DataFrame) -> list[tuple]:
    """pyx12's LX numbering: LX01 counts the LXs since the claim's CLM (from the set's start
    before the first CLM)."""
    sid = pl.col("seg_id")
    lx = rows.lazy().filter(_id_in(rows, ["CLM", "LX"]) | pl.col("first")).select(
        "row", "raw", start=(sid != "LX"), lx=(sid == "LX").cum_sum()).collect()
    # LXs so far minus those before the current claim (or set)
    lx = lx.with_columns(
        n=pl.col("lx") - pl.when("start").then(pl.col("lx")).forward_fill()).filter(~pl.col("start"))
    bad = lx.filter(pl.col("raw") != pl.lit("LX" + ELEM) + pl.col("n").cast(pl.String))
    out = []
    for r, rw, n in bad.select("row", "raw", "n").iter_rows():
        parts = rw.split(ELEM)
        lx01 = _fmt_element(parts[1]) if len(parts) > 1 else None
        if lx01 != str(n):
            out.append((r, "LX", f"Your 2400/LX01 Service Line Number {lx01} does not match "
                                 f"my count of {n}"))
    return out


def _attach(rows: pl.DataFrame, err: pl.DataFrame, cursor_rows: set[int]) -> pl.DataFrame:
    """Place reader errors as pyx12 does: a placed segment's on itself (an ST's are dropped:
    pyx12 loses them there), a not-found segment's on the next placed segment (or the set's
    last one); on an SE they go where pyx12's error cursor is — the SE when its walk
    reported something there (``cursor_rows``), else the segment before it."""
    found = rows["found"]
    first = rows["first"]
    seg_id = rows["seg_id"]
    starts = first.arg_true().to_list()
    ends = [*starts[1:], rows.height]
    out = []
    for src, code, text in err.iter_rows():
        if first[src]:
            continue
        at, last = src, ends[bisect.bisect_right(starts, src) - 1] - 1
        while at < last and not found[at]:
            at += 1
        if found[at] and seg_id[at] == "SE" and at not in cursor_rows:
            at -= 1
            if first[at]:
                continue
        out.append((at, "seg", code, text, None, None, None, False))
    return pl.DataFrame(out, schema=ROW_SCHEMA, orient="row")


# ---------------------------------------------------------------- elements

def _element_errors(g: Guide, rows: pl.DataFrame) -> pl.DataFrame:
    """Element checks of the placed segments (not ST/SE: pyx12 drops what it finds there),
    once per distinct (node, segment text): per node, the accept patterns pass the valid
    segments; the others are validated one by one."""
    checked = pl.col("found") & ~pl.col("node").is_in([g.st, g.se])
    bad_parts = []
    for start in range(0, rows.height, ELEMENT_SLICE):  # slices: a bounded working set
        distinct = rows.slice(start, ELEMENT_SLICE).lazy().filter(checked).select(
            "node", "raw").unique().collect()
        queries = []
        for (nd,), part in distinct.group_by("node"):
            pats = segcheck.accept_patterns(g, nd)
            queries.append(part.lazy() if pats is None else part.lazy().filter(
                ~pl.all_horizontal([pl.col("raw").str.contains(p) for p in pats])))
        bad_parts += [b for b in pl.collect_all(queries) if b.height]  # nodes in parallel
    if not bad_parts:
        return pl.DataFrame(schema=ROW_SCHEMA)
    errs = []
    memo: dict = {}
    for nd, rw in pl.concat(bad_parts).unique().iter_rows():
        for e in segcheck.validate(g, nd, rw, memo):
            errs.append((nd, rw, e.level, e.reported, e.text, e.value, e.ele, e.sub))
    if not errs:
        return pl.DataFrame(schema=ROW_SCHEMA)
    err = pl.DataFrame(errs, orient="row", schema={
        "node": pl.Int32, "raw": pl.String, "level": pl.String, "code": pl.String,
        "text": pl.String, "value": pl.String, "ele": pl.Int64, "sub": pl.Int64})
    return rows.lazy().filter(checked).select("row", "node", "raw").join(
        err.lazy(), on=["node", "raw"], how="inner").select(
        pl.col("row").cast(pl.Int64), "level", "code", "text", "value", "ele", "sub",
        ge=pl.lit(False)).collect()


# ---------------------------------------------------------------- placing findings

def _place(g: Guide, rows: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """Findings from placed errors: the file's segment, its claim and loop; PHI masked."""
    if not found.height:
        return F.empty()
    loop_of = [g.nodes[n["parent"]]["id"] if n["parent"] >= 0 else None for n in g.nodes]
    df = found.with_columns(pl.col("row").cast(pl.UInt32)).join(
        rows.select("row", "file_id", "st_key", "claim_key", "seg_index", "seg_id", "node",
                    "_phi"), on="row", how="left")
    level = pl.col("level")
    df = df.with_columns(
        loop=pl.when(pl.col("ge")).then(pl.lit("GS_LOOP"))
        .otherwise(_lookup(loop_of, "node", pl.String)),
        claim_key=pl.when(pl.col("ge")).then(None).otherwise(pl.col("claim_key")),
    )
    element = pl.when(pl.col("ele").is_not_null()).then(pl.concat_str(
        pl.col("seg_id"), pl.col("ele").cast(pl.String).str.zfill(2),
        pl.when(pl.col("sub").is_not_null()).then(pl.lit("-") + pl.col("sub").cast(pl.String))
        .otherwise(pl.lit(""))))
    df = df.with_columns(element=element, segment_index=pl.col("seg_index"),
                         segment_id=pl.col("seg_id"))
    df = _mask_phi(df).with_columns(text=_mask_quoted(pl.col("text")))
    prefix = level.replace_strict(CODE_PREFIX, default="?")
    # the same finding twice (two not-found segments' reader errors on one segment...) once,
    # as the pyx12 path reports it
    return df.select(
        "file_id", "st_key", "claim_key", "segment_index", "segment_id", "element", "loop",
        rule=pl.lit("IG200"),
        ig_code=pl.concat_str(prefix, pl.lit("-"), pl.col("code")),
        message=pl.concat_str(
            pl.when(pl.col("loop").is_not_null()).then(pl.lit("loop ") + pl.col("loop")
                                                       + pl.lit(": ")).otherwise(pl.lit("")),
            pl.col("text").str.replace_all(r"\s+", " ").str.strip_chars()),
        found=pl.col("value"),
    ).unique(maintain_order=True)


def _envelope(rows: pl.DataFrame, starts: list[int], txns: pl.DataFrame) -> pl.DataFrame:
    """SE01 count (IK502-4) and SE02 (IK502-3) on the SE; no SE: AK905-3 on the GS."""
    bounds = [*starts, rows.height]
    heads = rows.gather(starts).select("st_key", "file_id", st_raw="raw")
    lasts = rows.gather([b - 1 for b in bounds[1:]]).select(
        "seg_index", "seg_id", se_raw="raw", n=pl.Series(
            [b - a for a, b in itertools.pairwise(bounds)], dtype=pl.Int64))
    both = pl.concat([heads, lasts], how="horizontal").join(
        txns.select("st_key", "gs_index"), on="st_key", how="left")
    out = []
    for st_key, file_id, st_raw, seg_index, seg_id, se_raw, n, gs_index in both.iter_rows():
        st = st_raw.split(ELEM)
        st02 = _fmt_element(st[2]) if len(st) > 2 else None
        if seg_id != "SE":
            out.append({"file_id": file_id, "st_key": None, "segment_index": gs_index,
                        "segment_id": "GS", "rule": "IG201", "ig_code": "AK905-3",
                        "message": f"Unterminated segment {st02}"})
            continue
        se = se_raw.split(ELEM)
        se01 = _fmt_element(se[1]) if len(se) > 1 else None
        se02 = _fmt_element(se[2]) if len(se) > 2 else None
        where = {"file_id": file_id, "st_key": st_key, "segment_index": seg_index,
                 "segment_id": "SE", "rule": "IG201"}
        if st02 != se02:
            out.append({**where, "ig_code": "IK502-3",
                        "message": f"SE id={se02} does not match ST id={st02}"})
        if _int(se01) != n:
            out.append({**where, "ig_code": "IK502-4",
                        "message": f"SE count of {se01} for SE02={se02} is wrong. I count {n}"})
    if not out:
        return F.empty()
    return F.conform(pl.DataFrame(out, schema={
        "file_id": pl.UInt32, "st_key": pl.UInt32, "segment_index": pl.UInt32,
        "segment_id": pl.String, "rule": pl.String, "ig_code": pl.String, "message": pl.String}))
