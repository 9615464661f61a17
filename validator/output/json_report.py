"""The JSON report (schema_version 1): the machine-readable contract documented in README."""

from __future__ import annotations

import io
import json
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import polars as pl

from .. import __version__
from ..data import codesets
from ..engine.result import Result
from .views import SCHEMA_VERSION, claims_view_parts, files_view, findings_view, summary


def compact_structs(result: Result) -> dict[str, str]:
    """Struct columns whose rows collapse to one boolean field when it is false (annotators
    declare them): e.g. non-members get ``"kp": {"member": false}`` instead of nulls."""
    reg = result.registry
    return {a.column: a.compact for a in reg.annotators if a.compact} if reg else {}


def _array(df: pl.DataFrame, compact: dict[str, str] | None = None) -> bytes:
    """Row-oriented JSON array built by polars (no Python per row)."""
    return b"[" + _objects(df, compact) + b"]" if df.height else b"[]"


def _objects(df: pl.DataFrame, compact_structs: dict[str, str] | None = None) -> bytes:
    """The rows of ``df`` as comma-separated JSON objects (an array without brackets), as
    UTF-8 bytes straight from polars: no decoding into a Python string and encoding back.

    A compact struct column (``kp``) is encoded only on the rows where its flag is true;
    the others get the short constant (``{"member": false}``), spliced in column-wise.
    """
    if not df.height:
        return b""
    compact = {c: f for c, f in (compact_structs or {}).items()
               if isinstance(df.schema.get(c), pl.Struct)
               and f in [x.name for x in df.schema[c].fields]}
    if not compact:
        buf = io.BytesIO()
        df.write_json(buf)
        return buf.getvalue()[1:-1]
    rest = [c for c in df.columns if c not in compact]
    cols: dict[str, pl.Series] = {}
    exprs: list[pl.Expr] = []
    if rest:
        cols["_row"] = df.select(pl.struct(rest).struct.json_encode()).to_series()
        exprs.append(pl.col("_row").str.strip_suffix("}"))
    else:
        exprs.append(pl.lit("{"))
    for i, (col, flag) in enumerate(compact.items()):
        value = pl.repeat(json.dumps({flag: False}, separators=(",", ":")), df.height,
                          dtype=pl.String, eager=True)
        on = df.get_column(col).struct.field(flag).fill_null(False)
        idx = on.arg_true()
        if idx.len():
            encoded = df.select(pl.col(col).gather(idx).struct.json_encode()).to_series()
            value = value.scatter(idx, encoded)
        cols[f"_{col}"] = value.set(df.get_column(col).is_null(), "null")
        sep = "," if rest or i else ""
        exprs += [pl.lit(f'{sep}"{col}":'), pl.col(f"_{col}")]
    return pl.DataFrame(cols).select(
        pl.concat_str(*exprs, pl.lit("}")).str.join(",").cast(pl.Binary)).item()


def _pieces(frames: pl.DataFrame | Iterable[pl.DataFrame], compact: dict[str, str],
            rows: int = 20_000) -> Iterator[bytes]:
    """The rows of ``frames`` (a table, or tables read one after another) as one JSON
    array, in pieces of ``rows`` rows encoded two at a time (polars releases the GIL) and
    yielded in order: at most a few pieces of text, and one of the tables, are held."""
    if isinstance(frames, pl.DataFrame):
        if frames.height <= rows:
            yield _array(frames, compact)
            return
        frames = [frames]
    yield b"["
    first = True
    with ThreadPoolExecutor(max_workers=2) as pool:
        ahead: deque[Future[bytes]] = deque()
        for df in frames:
            for start in range(0, df.height, rows):
                ahead.append(pool.submit(_objects, df.slice(start, rows), compact))
                if len(ahead) > 2:
                    yield (b"" if first else b",") + ahead.popleft().result()
                    first = False
        while ahead:
            yield (b"" if first else b",") + ahead.popleft().result()
            first = False
    yield b"]"


FINDINGS_SLICE = 20_000  # findings viewed at a time (1 GB file: 100k a slice peaked 105 MB higher)


def run_record(result: Result) -> dict:
    """When and how the run was made: start (UTC, ISO 8601), duration, the inputs as given
    and the options that change its findings (nothing that depends on the host)."""
    o = result.options
    sel = result.selection
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(result.started)),
        "duration_s": round(result.elapsed, 3),
        "inputs": list(result.inputs),
        "options": {"ig": o.ig, "ig_engine": o.ig_engine if o.ig else None,
                    "select": list(sel.select) if sel else None,
                    "ignore": list(sel.ignore) if sel else None,
                    "severity": dict(sel.severity) if sel else None,
                    "show_phi": o.show_phi,
                    **{k: str(v) for k, v in sorted(o.plugin.items())}},
    }


def chunks(result: Result, show_phi: bool | None = None) -> Iterator[bytes]:
    """The JSON document in UTF-8 pieces (written one by one: no second copy of the
    whole). ``show_phi`` (default: the run's option) unmasks the findings' segment text."""
    files = files_view(result).drop("file_id")
    head = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "claims-validator", "version": __version__,
                 "code_sets": codesets.versions()},
        "ruleset": {"name": result.ruleset.name, "version": result.ruleset.version},
        "run": run_record(result),
        "summary": summary(result),
    }
    # Assembled around polars' arrays instead of building 100k Python dicts.
    yield (json.dumps(head)[:-1] + ', "files": ').encode() + _array(files)
    yield b', "claims": '
    yield from _pieces((c.drop("claim_key", "file_id") for c in claims_view_parts(result)),
                       compact_structs(result))
    yield b', "findings": '
    # A slice of findings at a time: the view (joined to files, claims and locations) of
    # every finding at once took ~0.4 KB a finding.
    # (read from disk a slice at a time in a run in units)
    slices = result.finding_slices(FINDINGS_SLICE)
    yield from _pieces((findings_view(result, True, show_phi, f).drop("claim_key", "file_id")
                        for f in slices), {})
    yield b"}\n"


def render(result: Result, show_phi: bool | None = None) -> str:
    """The whole JSON document as a string (nulls as ``null``, dates as YYYY-MM-DD)."""
    return b"".join(chunks(result, show_phi)).decode()
