"""Segments table: one row per segment of the batch, placed in its envelope and loop.

The loop structure of an 837 is recovered with whole-column work: running counts of
ISA/GS/ST/HL/CLM/LX give every segment its keys, and forward-filled "markers" tell which
loop a segment sits in (claim, line, other-subscriber 2320/2330, NM1 entity).
"""

from __future__ import annotations

import polars as pl

from .load import COMP, ELEM, SEG, LoadedFile

# Structural segments as small integer codes, ordered so that each marker set is a range:
# 1-6 envelope (ends every loop, also across files: each file starts with an ISA),
# 7 HL, 8 CLM, 9 LX, 10 SBR, 11-16 other segments that end an NM1 loop, 17 NM1.
_ENVELOPE = ["ISA", "GS", "ST", "SE", "GE", "IEA"]
_CODES = {s: i for i, s in enumerate(
    [*_ENVELOPE, "HL", "CLM", "LX", "SBR", "SVD", "LIN", "PAT", "CR1", "CR2", "PRV", "NM1"],
    start=1)}
_ST, _HL, _CLM, _LX, _SBR, _NM1 = (_CODES[s] for s in ("ST", "HL", "CLM", "LX", "SBR", "NM1"))


def tokenize(loaded: LoadedFile, file_id: int) -> pl.DataFrame:
    """Split one file's canonical text into ``file_id, seg_index, seg_id, el``.

    ``el`` holds every element with the segment id at position 0, so ``el[1]`` is XX01.
    ``seg_index`` is 1-based over the non-empty segments from the ISA on.
    """
    raw = (
        pl.Series("raw", [loaded.text])
        .str.split(SEG)
        .explode()
        .str.strip_chars(" \t\n\x00")
    )
    df = pl.DataFrame({"raw": raw}).filter(pl.col("raw") != "")
    return df.select(
        pl.lit(file_id, pl.UInt32).alias("file_id"),
        pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("seg_index"),
        pl.col("raw").str.split(ELEM).alias("el"),
    ).with_columns(pl.col("el").list.first().alias("seg_id"))


def el(i: int) -> pl.Expr:
    """Element ``i`` (1-based) of the segment, or null when absent or empty."""
    v = pl.col("el").list.get(i, null_on_oob=True)
    return pl.when(v != "").then(v)


def comp(i: int, j: int) -> pl.Expr:
    """Component ``j`` (1-based) of composite element ``i``."""
    v = el(i).str.split(COMP).list.get(j - 1, null_on_oob=True)
    return pl.when(v != "").then(v)


def _key(code: int) -> pl.Expr:
    """Running count of a structural segment (1 on the first occurrence)."""
    return (pl.col("_code") == code).cum_sum().cast(pl.UInt32)


def _last(mapping: pl.Expr) -> pl.Expr:
    """Forward-fill a value set on marker rows (null elsewhere)."""
    return mapping.forward_fill()


def _mark(last: int) -> pl.Expr:
    """Code of the last segment with code 1..``last`` seen so far (envelope always counts)."""
    code = pl.col("_code")
    return _last(pl.when((code > 0) & (code <= last)).then(code))


def annotate(segs: pl.DataFrame) -> pl.DataFrame:
    """Add envelope and loop keys to a batch's concatenated segments.

    Added columns: ``isa_key, gs_key, st_key, in_txn, hl_key, hl_level, clm_key, lx_key,
    in_2320, nm1`` (``nm1``: NM101 of the NM1 loop a segment belongs to, or null).
    Keys are batch-global, so files concatenated in order keep apart.
    """
    code = pl.col("_code")
    env = (code > 0) & (code <= len(_ENVELOPE))
    # Inside a transaction set: the last ST/SE/envelope segment seen is an ST; an SE
    # belongs to the set it closes (an SE with no open ST stands outside).
    open_st = _last(pl.when(code == _ST).then(True).when(env).then(False))
    df = segs.with_columns(
        pl.col("seg_id").replace_strict(_CODES, default=0, return_dtype=pl.UInt8).alias("_code")
    ).with_columns(
        _key(_CODES["ISA"]).alias("isa_key"),
        _key(_CODES["GS"]).alias("gs_key"),
        _key(_ST).alias("st_key"),
        _key(_HL).alias("hl_key"),
        _key(_CLM).alias("clm_key"),
        _key(_LX).alias("lx_key"),
        (open_st.fill_null(False)
         | ((code == _CODES["SE"]) & open_st.shift(1).fill_null(False))).alias("in_txn"),
        # Which structural marker came last: decides claim / line / 2320 membership.
        _mark(_SBR).alias("_mark"),
        _mark(_CLM).alias("_claim_mark"),
        _mark(_LX).alias("_line_mark"),
        _mark(_HL).alias("_hl_mark"),
        _last(pl.when(code == _HL).then(pl.col("el").list.get(3, null_on_oob=True))
              .when(env).then(pl.lit(""))).alias("hl_level"),
        _last(pl.when(code == _NM1).then(pl.col("el").list.get(1, null_on_oob=True))
              .when(code > 0).then(pl.lit(""))).alias("nm1"),
    )
    return df.with_columns(
        pl.when(pl.col("_claim_mark") == _CLM).then(pl.col("clm_key")).alias("clm_key"),
        pl.when(pl.col("_line_mark") == _LX).then(pl.col("lx_key")).alias("lx_key"),
        pl.when(pl.col("_hl_mark") == _HL).then(pl.col("hl_key")).alias("hl_key"),
        ((pl.col("_mark") == _SBR) & (pl.col("_claim_mark") == _CLM)).alias("in_2320"),
        pl.when(pl.col("nm1") != "").then(pl.col("nm1")).alias("nm1"),
        pl.when(pl.col("hl_level") != "").then(pl.col("hl_level")).alias("hl_level"),
        pl.when(pl.col("in_txn")).then(pl.col("st_key")).alias("st_key"),
    ).drop("_code", "_mark", "_claim_mark", "_line_mark", "_hl_mark")
