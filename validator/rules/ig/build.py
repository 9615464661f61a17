"""Cut 837 transaction sets out of the batch as stand-alone interchanges for pyx12.

Each transaction set becomes one *block*: its ISA (fields padded to their fixed widths,
ISA11 the repetition separator, ISA12 ``00501``, a block-unique control number — the ENV
rules check the real ISA), its GS (GS08 set to the pyx12 map's version), the original
ST..SE segments (ST03 likewise), and a GE/IEA trailer written to match. Line ``k`` of a
block is therefore: 1 = the ISA, 2 = the GS, ``3 .. n+2`` = the file's segments
``st_index .. st_index+n-1``, then the synthetic GE and IEA.

Blocks are grouped into chunks (one pyx12 run each) of at most ``target`` segments (a
larger transaction set is a chunk of its own), sorted by map so that runs switch maps
rarely.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ...x12.load import ELEM, REP, SEG

SID = pl.col("seg_id")
CTL = "\x01"  # placeholder for the per-block ISA13
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
# Length of a well-formed ISA (no terminator) with ISA13 still the one-character CTL.
ISA_TEMPLATE_LEN = 3 + 16 + sum(ISA_WIDTHS) - ISA_WIDTHS[12] + len(CTL)


@dataclass
class Plan:
    """What to validate: ``meta`` has one row per block; ``chunks[i]`` lists block texts."""

    meta: pl.DataFrame  # chunk, block, st_key, file_id, isa_index, gs_index, st_index, n
    chunks: list[list[str]]
    skipped: pl.DataFrame  # st_key, file_id, st_index, reason: pyx12 cannot read these


def _text(df: pl.DataFrame) -> pl.Expr:
    """A segment's canonical text: the ``raw`` column, or ``el`` joined where the segments
    table carries only elements."""
    return pl.col("raw") if "raw" in df.columns else pl.col("el").list.join(ELEM)


def _with_el(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with the ``el`` list column (el[0] = segment id)."""
    return df if "el" in df.columns else df.with_columns(el=pl.col("raw").str.split(ELEM))


def _field(i: int, width: int) -> pl.Expr:
    """ISA field ``i + 1`` brought to its width (extra trailing blanks dropped, short padded)."""
    v = pl.col("el").list.get(i + 1, null_on_oob=True).fill_null("")
    return v.str.strip_chars_end(" ").str.pad_end(width)


def _isa_text(raw: pl.Expr) -> pl.Expr:
    """The ISA with each of its 16 fields padded to the fixed width pyx12 needs."""
    # ISA11/ISA12: every block holds a 5010 transaction set, so the block's ISA is a 5010
    # one (ISA11 = the repetition separator) whatever the file's ISA says.
    parts = [pl.lit("ISA"), *(_field(i, w) for i, w in enumerate(ISA_WIDTHS[:10])),
             pl.lit(REP), pl.lit("00501")]
    # ISA13 is replaced per block (see ``plan``); ISA14-16 keep their values.
    tail = [_field(i, w) for i, w in list(enumerate(ISA_WIDTHS))[13:]]
    return pl.when(pl.col("el").list.len() == 17).then(
        pl.concat_str([*parts, pl.lit(CTL), *tail], separator=ELEM)
    ).otherwise(raw)


def plan(segments: pl.DataFrame, txns: pl.DataFrame, target: int) -> Plan:
    """Blocks for ``txns`` (columns ``st_key, file_id, isa_key, gs_key, st_index, map``)."""
    if not txns.height:
        return Plan(pl.DataFrame(), [], pl.DataFrame())
    keys = txns.select("st_key")
    body = (
        segments.filter(pl.col("st_key").is_not_null())
        .join(keys, on="st_key", how="semi")
        .group_by("st_key", maintain_order=True)
        .agg(n=pl.len(), body=(_text(segments) + SEG).str.join(""))
    )
    isa = _with_el(segments.filter(SID == "ISA"))
    isa = isa.select("isa_key", isa_index="seg_index", isa=_isa_text(_text(isa)))
    gs = _with_el(segments.filter(SID == "GS")).select(
        "gs_key", gs_index="seg_index", gs_el=pl.col("el"),
        gs06=pl.col("el").list.get(6, null_on_oob=True).fill_null(""))
    rows = (
        txns.join(body, on="st_key", how="inner")
        .join(isa, on="isa_key", how="left")
        .join(gs, on="gs_key", how="left")
        .sort("map", "file_id", "st_key")
    )
    # pyx12 reads the delimiters at fixed ISA offsets: an ISA that is not exactly 106
    # characters after padding (a field too long, not 16 fields) cannot be read.
    bad_isa = pl.col("isa").is_null() | (pl.col("isa").str.len_chars() != ISA_TEMPLATE_LEN)
    skipped = rows.filter(bad_isa).select(
        "st_key", "file_id", "st_index",
        reason=pl.lit("its ISA does not have 16 fields of the fixed widths (see ENV100), so "
                      "pyx12 cannot read the interchange"))
    rows = rows.filter(~bad_isa)
    meta: list[dict] = []
    chunks: list[list[str]] = []
    size = 0
    for r in rows.iter_rows(named=True):
        if not chunks or (chunks[-1] and size + r["n"] > target):
            chunks.append([])
            size = 0
        block = len(chunks[-1])
        ctl = f"{block + 1:09d}"  # unique within the chunk: pyx12 checks ISA13 uniqueness
        isa_text = (r["isa"] or "ISA").replace(CTL, ctl)
        gs_el = list(r["gs_el"] or ["GS"])
        gs_el += [""] * (9 - len(gs_el))
        gs_el[8] = r["map"]
        text = (isa_text + SEG + ELEM.join(gs_el) + SEG + _set_st03(r["body"], r["map"])
                + f"GE{ELEM}1{ELEM}{r['gs06']}{SEG}IEA{ELEM}1{ELEM}{ctl}{SEG}")
        chunks[-1].append(text)
        size += r["n"]
        meta.append({"chunk": len(chunks) - 1, "block": block, "st_key": r["st_key"],
                     "file_id": r["file_id"], "isa_index": r["isa_index"],
                     "gs_index": r["gs_index"], "st_index": r["st_index"], "n": r["n"]})
    schema = {"chunk": pl.Int64, "block": pl.Int64, "st_key": pl.UInt32, "file_id": pl.UInt32,
              "isa_index": pl.UInt32, "gs_index": pl.UInt32, "st_index": pl.UInt32,
              "n": pl.UInt32}
    return Plan(pl.DataFrame(meta, schema=schema), chunks, skipped)


def _set_st03(body: str, vriic: str) -> str:
    """Point ST03 (when present) at the map's version, like GS08."""
    first, sep, rest = body.partition(SEG)
    el = first.split(ELEM)
    if len(el) > 3 and el[3]:
        el[3] = vriic
    return ELEM.join(el) + sep + rest
