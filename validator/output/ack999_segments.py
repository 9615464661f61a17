"""The IK3/IK4 segments of a 999, from the segment and element findings of its transaction
sets, built in whole columns (a file with 200,000 implementation-guide errors is common).

Segments come out as text with the reader's canonical separators (``\\x1d`` between
elements, ``\\x1f`` between components): no value copied from a finding can hold them, and
:mod:`validator.output.ack999` swaps in the 999's delimiters at the end.
"""

from __future__ import annotations

import json
from functools import cache

import polars as pl

from ..data import DATA_DIR

E, C = "\x1d", "\x1f"
# Valid code values of the 999 guide (pyx12's 999.5010X231.A1 map).
IK304_CODES = ("1", "2", "3", "4", "5", "6", "7", "8", "I4", "I6", "I7", "I8", "I9")
IK403_CODES = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "I10", "I11",
               "I12", "I13", "I6", "I9")
# Element errors whose bad value is a code from a code list: IK404 copies those only.
CODE_ERRORS = ("7", "I6")
# Segment findings of the envelope rules -> IK304.
RULE_SEGMENT_CODES = {"ENV150": "8", "ENV151": "1"}
MAX_IK4 = 99  # IK4 loop repeats per IK3 (005010X231A1)
_ELEMENT = r"^([A-Z0-9]{2,3}?)(\d{2})(?:-(\d{1,2}))?$"


@cache
def guides() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """From the compiled implementation guides: element position (``CLM05-01``) -> data
    element number, -> X12 type, and loop ID (``2330B``, ``HEADER``) -> its first segment."""
    de: dict[str, str] = {}
    kind: dict[str, str] = {}
    loops: dict[str, str] = {}
    for path in sorted((DATA_DIR / "ig").glob("005010*.json")):
        guide = json.loads(path.read_text(encoding="utf-8"))
        for e in guide["elements"]:
            de.setdefault(e["xid"], str(e["de"]))
            kind.setdefault(e["xid"], e["type"] or "")
        nodes = guide["nodes"]  # in document order: a loop's first segment follows it
        for i, node in enumerate(nodes):
            if node["k"] == "L":
                first = next((n["id"] for n in nodes[i + 1:] if n["k"] == "S"), None)
                if first:
                    loops.setdefault(node["id"], first)
    return de, kind, loops


def _code_order(col: str) -> list[pl.Expr]:
    """Sort keys putting numeric codes first, in number order, then the I-codes."""
    return [pl.col(col).cast(pl.Int64, strict=False).fill_null(10**6), pl.col(col)]


def segment_lines(f: pl.DataFrame) -> pl.DataFrame:
    """IK3/IK4 segments per transaction set.

    ``f``: the set-level findings (``file_id``, ``st`` = the set's ST position, ``rule``,
    ``segment_index``, ``segment_id``, ``element``, ``loop``, ``ig_code``, ``message``,
    ``found``). Returns ``file_id``, ``st`` and ``lines`` (the segments in order).
    """
    de, kind, loops = guides()
    code = pl.col("ig_code").fill_null("")
    rows = f.with_columns(
        seg_code=pl.when(code.str.starts_with("IK304-")).then(code.str.slice(6))
        .otherwise(pl.col("rule").replace_strict(RULE_SEGMENT_CODES, default=None)),
        ele_code=pl.when(code.str.starts_with("IK403-")).then(code.str.slice(6)),
        pos=pl.col("segment_index").cast(pl.Int64) - pl.col("st").cast(pl.Int64) + 1,
    ).filter((pl.col("seg_code").is_in(IK304_CODES) | pl.col("ele_code").is_in(IK403_CODES))
             & (pl.col("pos") >= 1))
    # A missing segment is named by its own ID, a missing loop by its first segment (and
    # the loop's ID), at the segment where it was found missing.
    missing = pl.when(code == "IK304-3").then(
        pl.col("message").str.extract(r"\(([A-Z0-9_]{2,8})\) missing", 1))
    is_loop = missing.is_in(list(loops)) & pl.col("message").str.contains(" loop ", literal=True)
    seg = (pl.when(is_loop).then(missing.replace_strict(loops, default=None))
           .when(missing.is_not_null()).then(missing).otherwise(pl.col("segment_id")))
    loop = pl.when(is_loop).then(missing).otherwise(pl.col("loop"))
    parts = pl.col("element").str.extract_groups(_ELEMENT)
    sub = parts.struct.field("3").cast(pl.Int64)
    xid = pl.concat_str(parts.struct.field("1"), parts.struct.field("2"),
                        pl.when(sub.is_not_null()).then(pl.lit("-") + sub.cast(pl.String)
                                                        .str.zfill(2)).otherwise(pl.lit("")))
    rows = rows.with_columns(
        seg=seg.str.to_uppercase().str.replace_all("[^A-Z0-9]", "").str.slice(0, 3),
        loop=pl.when(loop.str.len_chars() <= 4).then(loop).otherwise(pl.lit("")).fill_null(""),
        ele=parts.struct.field("2").cast(pl.Int64), sub=sub, xid=xid,
    ).filter(pl.col("seg").str.len_chars() >= 2)
    # An element error without a usable position still marks its segment (IK304 8).
    rows = rows.with_columns(
        seg_code=pl.when(pl.col("ele_code").is_not_null() & pl.col("ele").is_null())
        .then(pl.lit("8")).otherwise(pl.col("seg_code")),
        de=pl.col("xid").replace_strict(de, default="", return_dtype=pl.String),
        # IK404 copies a code value only (PHI: never a name, ID, date, amount or text).
        value=pl.when(pl.col("ele_code").is_in(CODE_ERRORS)
                      & (pl.col("xid").replace_strict(kind, default="") == "ID")
                      & ~pl.col("found").str.contains("*", literal=True)
                      & (pl.col("found").str.len_chars() <= 99))
        .then(pl.col("found")).otherwise(pl.lit("")).fill_null(""),
    )
    key = ["file_id", "st", "pos", "seg"]
    loop_of = rows.group_by(key, maintain_order=True).agg(pl.col("loop").first())
    head = pl.concat_str(pl.lit("IK3" + E), "seg", pl.lit(E), pl.col("pos").cast(pl.String),
                         pl.lit(E), "loop", pl.lit(E))
    seg_level = (rows.filter(pl.col("seg_code").is_not_null() & (pl.col("seg_code") != "8"))
                 .select(*key, c="seg_code").unique().join(loop_of, on=key)
                 .with_columns(rank=pl.lit(0), text=head + pl.col("c")))
    ele_rows = rows.filter(pl.col("ele").is_not_null()).select(
        *key, "ele", "sub", "de", c="ele_code", v="value").unique()
    marked = pl.concat([ele_rows.select(key),
                        rows.filter(pl.col("seg_code") == "8").select(key)]).unique()
    with_8 = marked.join(loop_of, on=key).with_columns(rank=pl.lit(1), text=head + pl.lit("8"))
    ik4 = ele_rows.sort([*key, "ele", pl.col("sub").fill_null(0), *_code_order("c")]).filter(
        pl.int_range(pl.len()).over(key) < MAX_IK4)
    ik4 = ik4.with_columns(rank=pl.lit(2), text=pl.concat_str(
        pl.lit("IK4" + E), pl.col("ele").cast(pl.String),
        pl.when(pl.col("sub").is_not_null()).then(pl.lit(C) + pl.col("sub").cast(pl.String))
        .otherwise(pl.lit("")),
        pl.lit(E), "de", pl.lit(E), "c", pl.lit(E), "v").str.strip_chars_end(E))
    cols = [*key, "rank", "c", "ele", "sub", "text"]
    fill = {"c": pl.lit(None, pl.String), "ele": pl.lit(None, pl.Int64),
            "sub": pl.lit(None, pl.Int64)}
    out = pl.concat([d.with_columns(**{k: v for k, v in fill.items() if k not in d.columns})
                     .select(cols) for d in (seg_level, with_8, ik4)], how="vertical_relaxed")
    out = out.sort(["file_id", "st", "pos", "seg", "rank", "ele", pl.col("sub").fill_null(0),
                    *_code_order("c")], nulls_last=True)
    return out.group_by(["file_id", "st"], maintain_order=True).agg(lines=pl.col("text"))
