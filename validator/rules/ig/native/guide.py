"""The compiled guides (``validator/data/ig/<vriic>.json``) as run-time structures.

Nothing here reads XML or imports pyx12: :mod:`.compile` wrote the files from pyx12's maps.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from dataclasses import dataclass, field

import polars as pl

from ....data import DATA_DIR as BASE_DATA_DIR

DATA_DIR = BASE_DATA_DIR / "ig"
_GUIDE = re.compile(r"^(\d{6})(X\d{3})")
_LOCK = threading.Lock()
CUT_IDS = ("CLM",)  # see Guide.cut_tokens


@functools.cache
def manifest() -> dict:
    return json.loads((DATA_DIR / "manifest.json").read_text(encoding="utf-8"))


@functools.cache
def _by_guide() -> dict[str, str]:
    out: dict[str, str] = {}
    for vriic in manifest()["guides"]:
        hit = _GUIDE.match(vriic)
        if hit:
            out.setdefault(hit.group(1) + hit.group(2), vriic)
    return out


def guide_for(version: str | None) -> str | None:
    """The compiled guide (its map version) that validates a transaction set's ``version``:
    the same one pyx12 would use (errata and base versions go to the map of their guide)."""
    hit = _GUIDE.match(version or "")
    return _by_guide().get(hit.group(1) + hit.group(2)) if hit else None


@dataclass
class Guide:
    """One compiled guide. Node, outcome and token indexes are those of the JSON file; the
    outcome table gets one extra "not found" outcome per node (``nf_base + node``), which
    leaves the walker where it was."""

    vriic: str
    data: dict
    nodes: list[dict] = field(init=False)
    n_tokens: int = field(init=False)
    table: list[int] = field(init=False)  # node * n_tokens + token -> outcome
    next_k: list[int] = field(init=False)  # outcome -> next node * n_tokens
    nf_base: int = field(init=False)

    def __post_init__(self) -> None:
        d = self.data
        self.nodes = d["nodes"]
        self.elements = d["elements"]
        self.composites = d["composites"]
        self.external = {k: frozenset(v) for k, v in d["external"].items()}
        self.outcomes = d["outcomes"]
        self.tokens = [tuple(t) for t in d["tokens"]]
        self.n_tokens = k = len(self.tokens)
        n = len(self.nodes)
        self.nf_base = len(self.outcomes)
        nf = [self.nf_base + i for i in range(n)]
        table = [0] * (n * k)
        for i in range(n):
            table[i * k:(i + 1) * k] = [nf[i]] * k
        placed = [o["n"] >= 0 for o in self.outcomes]
        for s, row in zip(d["starts"], d["table"], strict=True):
            table[s * k:(s + 1) * k] = [o if placed[o] else nf[s] for o in row]
        self.table = table
        self.next_node = [o["n"] for o in self.outcomes] + list(range(n))
        self.next_k = [v * k for v in self.next_node]
        self.chk_of = [o["chk"] for o in self.outcomes] + [-1] * n  # loop entered, per outcome
        self.depth = [0] * n
        for i, node in enumerate(self.nodes):
            if node["parent"] >= 0:
                self.depth[i] = self.depth[node["parent"]] + 1
        # chain[i]: loop index -> position, in that loop, of the child on node i's path
        self.chain: list[dict[int, int]] = []
        for i in range(n):
            c: dict[int, int] = {}
            cur = i
            while self.nodes[cur]["parent"] >= 0:
                c[self.nodes[cur]["parent"]] = self.nodes[cur]["pos"]
                cur = self.nodes[cur]["parent"]
            self.chain.append(c)
        self.by_path = {node["path"]: i for i, node in enumerate(self.nodes)}
        self.gs = self.by_path["/ISA_LOOP/GS_LOOP/GS"]
        self.ge = self.by_path["/ISA_LOOP/GS_LOOP/GE"]
        self.se = self.by_path["/ISA_LOOP/GS_LOOP/ST_LOOP/SE"]
        self.st = self.by_path["/ISA_LOOP/GS_LOOP/ST_LOOP/ST"]
        self.token_ge = self.tokens.index(("GE", None))
        self.first_seg = {}  # loop -> its first child when that is a segment
        for i, node in enumerate(self.nodes):
            p = node["parent"]
            if p >= 0 and p not in self.first_seg:
                self.first_seg[p] = i if node["k"] == "S" else -1

    def position_in(self, loop: int) -> list[int]:
        """Per node: the position, in ``loop``, of the child on the node's path (-1 when
        the node is not inside ``loop``)."""
        col = self._positions.get(loop)
        if col is None:
            col = self._positions[loop] = [c.get(loop, -1) for c in self.chain]
        return col

    @functools.cached_property
    def _positions(self) -> dict[int, list[int]]:
        return {}

    # ------------------------------------------------------------------ tokens

    @functools.cached_property
    def key_positions(self) -> dict[str, tuple[int, int | None]]:
        """Segment ID -> (element, component) of its key, for the IDs that have one."""
        out: dict[str, tuple[int, int | None]] = {}
        for node in self.nodes:
            if node["k"] == "S" and node.get("key"):
                out[node["id"]] = (node["key"][0], node["key"][1])
        return out

    @functools.cached_property
    def cut_tokens(self) -> pl.Series:
        """The tokens the walk's memo cuts the token stream before (a claim's CLM: claims
        come in a few shapes, see :func:`.walk.walk`)."""
        return pl.Series([i for i, t in enumerate(self.tokens) if t[0] in CUT_IDS],
                         dtype=pl.UInt32)

    @functools.cached_property
    def token_index(self) -> dict[tuple[str | None, str | None], int]:
        return {t: i for i, t in enumerate(self.tokens)}

    @functools.cached_property
    def token_frame(self) -> pl.DataFrame:
        """``seg_id, key, token`` for every token with a key value, and ``seg_id, token``
        (``key`` null) for each ID alone."""
        ids = [t[0] for t in self.tokens[1:]]
        keys = [t[1] for t in self.tokens[1:]]
        return pl.DataFrame({"seg_id": ids, "key": keys,
                             "token": list(range(1, self.n_tokens))},
                            schema={"seg_id": pl.String, "key": pl.String, "token": pl.UInt32})


_GUIDES: dict[str, Guide] = {}


def load(vriic: str) -> Guide:
    """The compiled guide for map version ``vriic`` (loaded once per process)."""
    with _LOCK:
        g = _GUIDES.get(vriic)
        if g is None:
            data = json.loads((DATA_DIR / f"{vriic}.json").read_text(encoding="utf-8"))
            g = _GUIDES[vriic] = Guide(vriic, data)
        return g
