"""The JSON report (schema_version 1): the machine-readable contract documented in README."""

from __future__ import annotations

import json

import polars as pl

from .. import __version__
from ..engine import Result
from .tables import SCHEMA_VERSION, claims_view, files_view, findings_view, summary

# Struct columns whose rows collapse to one boolean field when it is false: non-members get
# ``"kp": {"member": false}`` instead of a row of nulls.
COMPACT_STRUCTS = {"kp": "member"}


def _array(df: pl.DataFrame) -> str:
    """Row-oriented JSON array written by polars (fast for 100k+ rows)."""
    if not df.height:
        return "[]"
    compact = {c: f for c, f in COMPACT_STRUCTS.items()
               if isinstance(df.schema.get(c), pl.Struct)
               and f in [x.name for x in df.schema[c].fields]}
    if not compact:
        return df.write_json()
    # Encode each row with polars and splice in the struct columns (no per-row Python).
    rest = [c for c in df.columns if c not in compact]
    row = pl.struct(rest).struct.json_encode().str.strip_suffix("}") if rest else pl.lit("{")
    parts = [row]
    for i, (c, flag) in enumerate(compact.items()):
        short = pl.lit(json.dumps({flag: False}, separators=(",", ":")))
        value = (pl.when(pl.col(c).is_null()).then(pl.lit("null"))
                 .when(pl.col(c).struct.field(flag) == False).then(short)  # noqa: E712
                 .otherwise(pl.col(c).struct.json_encode()))
        sep = "," if rest or i else ""
        parts.append(pl.lit(f'{sep}"{c}":') + value)
    joined = df.select(pl.concat_str(*parts, pl.lit("}")).str.join(",")).item()
    return "[" + joined + "]"


def render(result: Result) -> str:
    """The whole JSON document as a string (nulls as ``null``, dates as YYYY-MM-DD)."""
    files = files_view(result).drop("file_id")
    claims = claims_view(result).drop("claim_key", "file_id")
    found = findings_view(result).drop("claim_key", "file_id")
    head = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "claims-validator", "version": __version__},
        "ruleset": {"name": result.ruleset.name, "version": result.ruleset.version},
        "summary": summary(result),
    }
    # Assemble around polars' arrays instead of building 100k Python dicts.
    return (json.dumps(head)[:-1] + ', "files": ' + _array(files) + ', "claims": '
            + _array(claims) + ', "findings": ' + _array(found) + "}\n")
