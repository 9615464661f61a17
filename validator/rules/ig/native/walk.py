"""Loop assignment: every segment of a transaction set gets the map node pyx12's walker
would put it on, and the walk's own errors.

A segment's *token* (its ID and key value, see :mod:`.compile`) is worked out once per
distinct segment start and gathered back on whole columns; the walk follows the compiled
table (``node, token -> outcome``) from the GS node, as pyx12 does for a stand-alone
interchange, once per distinct (node, run of tokens from one CLM to the next) — claims come
in a few shapes — and the outcomes are gathered back on whole columns; after the SE a GE is
walked too (what pyx12 finds missing at the end of the set it reports there).
Everything else about the walk is static per outcome, except:

- required segments/loops that share the walker's position with the node it is on
  (``cand`` class 1): missing only if not matched or entered since the walker reached that
  position in that loop instance (:func:`dynamic_missing`, or on whole columns
  :func:`dynamic_missing_many`);
- counts (IK304-4 loop repeat, IK304-5 segment max use), which :mod:`.run` works out on
  whole columns.

pyx12's walker keeps counters per map path; a loop entry resets the counters below it.
Within one instance of a loop the walker's position only moves forward, which is what
makes the counts and the "seen" question answerable from the sequence of nodes alone.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import polars as pl

from ....x12.load import COMP, ELEM
from .guide import Guide

_WINDOW = 9  # an ID of up to 3 characters, ELEM, a key of up to 4, what follows it


def tokens(g: Guide, segs: pl.DataFrame) -> pl.Series:
    """The token of every segment (``seg_id``, ``raw``, ``_sid``): its ID with its key value
    when that value is one of the map's codes for the ID, else the ID alone, 0 for an
    unknown ID. The key sits in the segment's first few characters: the token is worked out
    once per distinct start of segment (and from the whole text when that is not enough)."""
    tf = g.token_frame
    alone = dict(zip(tf.filter(pl.col("key").is_null())["seg_id"],
                     tf.filter(pl.col("key").is_null())["token"], strict=True))
    # an integer per segment ID (the reader's ``_sid`` when there), and per such integer
    # its token without a key and how its key is read: 0 none, 1 first element, 2 HL03
    if "_sid" in segs.columns:
        sid = segs["_sid"]
    else:
        sid = segs["seg_id"].replace_strict(
            {v: i for i, v in enumerate(segs["seg_id"].unique().to_list())},
            return_dtype=pl.UInt32)
    firsts = sid.arg_unique()
    pairs = list(zip(sid.gather(firsts).to_list(), segs["seg_id"].gather(firsts).to_list(),
                     strict=True))
    size = max((i for i, _ in pairs), default=0) + 1
    base, how = [0] * size, [0] * size
    for i, seg_id in pairs:
        base[i] = alone.get(seg_id, 0)
        if base[i] and seg_id in g.key_positions:
            how[i] = 1 if g.key_positions[seg_id][0] == 1 else 2
    out = pl.Series(base, dtype=pl.UInt32).gather(sid)
    kind = pl.Series(how, dtype=pl.UInt8).gather(sid)
    for i, seg_id in pairs:  # HL: the key is the third element, after two numbers
        if how[i] != 2:
            continue
        at = (sid == i).arg_true()
        el = (segs["raw"].gather(at).str.split_exact(ELEM, 4).struct.field("field_3")
              .str.strip_chars_end(COMP))
        codes = {k: t for (s, k), t in g.token_index.items() if s == seg_id and k}
        out = out.scatter(at, el.replace_strict(codes, default=base[i], return_dtype=pl.UInt32)
                          .fill_null(base[i]))
    idx = (kind == 1).arg_true()
    if not idx.len():
        return out
    raw = segs["raw"].gather(idx)
    window = raw.str.slice(0, _WINDOW)
    decided: dict[str, int | None] = {w: _token_of(g, w, len(w) < _WINDOW)
                                      for w in window.unique().to_list()}
    tok = window.replace_strict(decided, default=None, return_dtype=pl.UInt32)
    unsure = tok.is_null().arg_true()
    if unsure.len():  # the key runs past the window: from the whole segment
        full = [_token_of(g, r, True) for r in raw.gather(unsure).to_list()]
        tok = tok.scatter(unsure, pl.Series(full, dtype=pl.UInt32))
    return out.scatter(idx, tok)


def _token_of(g: Guide, text: str, whole: bool) -> int | None:
    """The token of a segment from its first characters ``text`` (``whole``: its entire
    text); None when those characters do not tell."""
    seg_id, sep, rest = text.partition(ELEM)
    base = g.token_index.get((seg_id, None), 0)
    if not sep:
        return base if whole or len(text) < _WINDOW else None
    element, sub = g.key_positions[seg_id]
    fields = rest.split(ELEM)
    if len(fields) < element:  # the segment ends before its key (or the text does)
        return base if whole else None
    field = fields[element - 1]
    complete = whole or len(fields) > element
    if sub is not None and COMP in field:
        value = field.split(COMP)[0]
    elif not complete:
        return None
    else:
        value = field.split(COMP)[0] if sub is not None else field.rstrip(COMP)
    return g.token_index.get((seg_id, value), base)


@dataclass
class Walk:
    """The outcome of every row (``outcomes``, uint32) and of the GE walked after each
    transaction set (``ge``; one per set, in order)."""

    outcomes: np.ndarray
    ge: list[int]


def walk(g: Guide, toks: pl.Series, starts: list[int]) -> Walk:
    """Walk each transaction set: rows ``starts[i] .. starts[i+1]-1`` of ``toks``.

    A walk's outcomes depend only on the node it starts on and the tokens it reads, and
    claims come in a few shapes: the token stream is cut before every CLM (and at each
    set's start), each distinct (node, chunk of tokens) is walked once, and every chunk's
    outcomes are gathered from its entry. Same result as :func:`walk_plain`."""
    n = toks.len()
    if not n:
        return Walk(np.zeros(0, dtype=np.uint32), [])
    arr = toks.cast(pl.UInt16 if g.n_tokens <= 1 << 16 else pl.UInt32).to_numpy()
    buf = arr.tobytes()  # a chunk's tokens as bytes: its memo key
    width = arr.itemsize
    first = np.zeros(n, dtype=bool)
    first[starts] = True
    bounds = np.flatnonzero(toks.is_in(g.cut_tokens.implode()).to_numpy() | first)
    is_start = first[bounds].tolist()
    bounds_l = [*bounds.tolist(), n]
    table, next_k, gs_k, ge_tok = g.table, g.next_k, g.gs * g.n_tokens, g.token_ge
    memo: dict[tuple[int, bytes], tuple[int, int]] = {}  # (node*k, chunk) -> (entry, end)
    entries: list[list[int]] = []
    entry_of = [0] * (len(bounds_l) - 1)
    ge: list[int] = []
    nk = gs_k
    for i, (a, b) in enumerate(itertools.pairwise(bounds_l)):
        if is_start[i]:
            if i:
                ge.append(table[nk + ge_tok])
            nk = gs_k
        key = (nk, buf[a * width:b * width])
        hit = memo.get(key)
        if hit is None:
            outs, end = _walk_chunk(table, next_k, nk, arr[a:b].tolist())
            hit = memo[key] = (len(entries), end)
            entries.append(outs)
        entry_of[i], nk = hit
    ge.append(table[nk + ge_tok])
    # row r of chunk i (starting at row a_i) takes entry e_i's outcome r - a_i
    pool = np.fromiter(itertools.chain.from_iterable(entries), dtype=np.uint32)
    small = max(n, len(pool)) < 1 << 31
    offsets = np.cumsum([0, *map(len, entries)])[:-1]
    shift = (offsets[np.asarray(entry_of, dtype=np.int64)] - bounds).astype(
        np.int32 if small else np.int64)
    at = np.repeat(shift, np.diff(np.asarray(bounds_l, dtype=np.int64)))
    at += np.arange(n, dtype=at.dtype)
    return Walk(pool[at], ge)


def _walk_chunk(table: list[int], next_k: list[int], nk: int,
                toks: list[int]) -> tuple[list[int], int]:
    """The outcomes of walking ``toks`` from ``nk`` (node * n_tokens), and the end."""
    out = []
    app = out.append
    for tok in toks:
        o = table[nk + tok]
        nk = next_k[o]
        app(o)
    return out, nk


def walk_plain(g: Guide, toks: pl.Series, starts: list[int]) -> Walk:
    """:func:`walk` token by token (the reference the memoised walk is tested against)."""
    table, next_k, k = g.table, g.next_k, g.n_tokens
    gs_k, ge_tok = g.gs * k, g.token_ge
    out: list[int] = []
    ge: list[int] = []
    bounds = [*starts, toks.len()]
    for a, b in itertools.pairwise(bounds):
        outs, nk = _walk_chunk(table, next_k, gs_k, toks.slice(a, b - a).to_list())
        out += outs
        ge.append(table[nk + ge_tok])
    return Walk(np.asarray(out, dtype=np.uint32), ge)


def dynamic_missing(g: Guide, outs: list[int], row: int, first: int, cand: list) -> bool:
    """Whether a class-1 candidate ``[node, 1, loop]`` of row ``row``'s outcome is missing:
    not matched (segment) or entered (loop) since the walker reached its position in
    ``loop`` — looking back from ``row - 1`` to the set's first row ``first``. (A row pyx12
    did not place leaves the walker where it was, so its node is the one before it.)"""
    c, _cls, loop = cand
    nxt, chk, depth = g.next_node, g.chk_of, g.depth
    col = g.position_in(loop)
    q = col[nxt[outs[row - 1]] if row > first else g.gs]
    d = depth[loop]
    for j in range(row - 1, first - 1, -1):
        o = outs[j]
        node = nxt[o]
        if col[node] != q:
            return True
        k = chk[o]
        if node == c or k == c:
            return False
        if k >= 0 and depth[k] <= d:
            return True
    return True


def dynamic_missing_many(g: Guide, rows: pl.DataFrame, c: int, loop: int,
                         at: pl.Series, firsts: pl.Series) -> pl.Series:
    """:func:`dynamic_missing` for one candidate ``(c, loop)`` at many rows (``at``, each
    with its set's first row in ``firsts``), on whole columns of ``rows`` (``node``,
    ``chk``, ``first``): the rows where the walker stays at one position of ``loop`` form
    stretches that a change of position, a set's start or a (re-)entry of ``loop`` or a
    loop above it begins; the candidate was seen when it was matched or entered earlier in
    the stretch of the row before."""
    col = pl.Series(g.position_in(loop), dtype=pl.Int32)
    d = g.depth[loop]
    resets = [i for i, n in enumerate(g.nodes) if n["k"] == "L" and g.depth[i] <= d]
    hit = (pl.col("chk") == c) if g.nodes[c]["k"] == "L" else (pl.col("node") == c)
    df = rows.select(pos=col.gather(rows["node"]), hit=hit.cast(pl.Int32),
                     reset=pl.col("chk").is_in(resets) | pl.col("first"))
    boundary = pl.col("reset") | (pl.col("pos") != pl.col("pos").shift(1)).fill_null(True)
    seen = df.select(
        (pl.col("hit").cum_sum()
         - pl.when(boundary).then(pl.col("hit").cum_sum() - pl.col("hit")).forward_fill())
        > 0).to_series()
    prev = at - 1
    return (prev < firsts) | ~seen.gather(prev.clip(0))
