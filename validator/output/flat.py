"""Flat outputs: CSV and Parquet (one row per finding) and JUnit XML (one test case per claim).

All start from the public views in :mod:`validator.output.tables`, so they tell the same
story as the JSON and HTML reports. The claim columns carried along are the contract's key
fields (no names, member IDs or birth dates); the segment text of each finding has its PHI
masked unless ``--show-phi`` (the file is then written for its owner only).
"""

from __future__ import annotations

import itertools
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from .. import __version__
from ..data import codesets
from ..engine.result import Result
from .atomic import atomic_via, atomic_write
from .locations import LOCATION_COLUMNS
from .views import claims_view, files_view, findings_view

# Claim fields added to every finding row (prefixed ``claim_`` where the name would clash).
CLAIM_FIELDS = {
    "transaction_type": "transaction_type", "segment_index": "claim_segment_index",
    "total_charge": "total_charge", "payer_id": "payer_id", "payer_name": "payer_name",
    "service_date_from": "service_date_from", "service_date_to": "service_date_to",
    "status": "claim_status",
}


def _scalar(df: pl.DataFrame) -> pl.DataFrame:
    """Flatten what CSV cannot hold: struct fields become ``<col>_<field>`` columns,
    lists are joined with ``|``."""
    out = []
    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.Struct):
            out += [pl.col(name).struct.field(f.name).alias(f"{name}_{f.name}")
                    for f in dtype.fields if not isinstance(f.dtype, (pl.Struct, pl.List))]
        elif isinstance(dtype, (pl.List, pl.Array)):
            out.append(pl.col(name).cast(pl.List(pl.String)).list.join("|").alias(name))
        else:
            out.append(pl.col(name))
    return df.select(out)


def findings_table(result: Result, show_phi: bool | None = None) -> pl.DataFrame:
    """One row per finding with its claim's key fields (and annotator fields, e.g. kp_*),
    then the finding's location (``line``, ``offset``, ``segment_text``: PHI masked unless
    ``show_phi``, which defaults to the run's option)."""
    return pl.concat(findings_table_parts(result, show_phi), how="vertical_relaxed")


# Findings the CSV and Parquet are written from at a time (a run in units reads them from
# disk: the table of 421k findings at once took ~1 KB a finding).
FINDINGS_SLICE = 50_000


def findings_table_parts(result: Result, show_phi: bool | None = None
                         ) -> Iterator[pl.DataFrame]:
    """:func:`findings_table` a slice of :data:`FINDINGS_SLICE` findings at a time (one
    empty frame when there are none), every slice with the first one's columns."""
    slices = result.finding_slices(FINDINGS_SLICE)
    columns: list[str] = []
    for f in itertools.chain([next(slices, None)], slices):  # (None: no findings)
        table = _table(result, findings_view(result, locations=True, show_phi=show_phi,
                                             findings=f))
        columns = columns or table.columns
        yield table.select(columns)


def _table(result: Result, found: pl.DataFrame) -> pl.DataFrame:
    keys = found.get_column("claim_key").drop_nulls().unique(maintain_order=True)
    claims = claims_view(result, keys=keys).drop("file", "claim_id", "file_id")
    claims = claims.rename({k: v for k, v in CLAIM_FIELDS.items()})
    out = found.join(claims, on="claim_key", how="left", maintain_order="left").drop("claim_key", "file_id")
    # The code-set data of the run (ICD-10-CM/PCS releases, ZIP data), named on every row.
    out = _scalar(out).with_columns(code_sets=pl.lit(codesets.summary_line()))
    return out.select(pl.exclude(LOCATION_COLUMNS), *LOCATION_COLUMNS)  # new columns last


# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): EDI text such as a
# claim ID or payer name starting with = + - @ (or tab / carriage return). Numbers stay.
_FORMULA = r"^[=+\-@\t\r]"
_NUMBER = r"^-?\d+(\.\d+)?$"


def defuse_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells that would start a formula, prefixed with ``'`` (shown as text)."""
    text = [c for c, t in df.schema.items() if t == pl.String]
    return df.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA) & ~pl.col(c).str.contains(_NUMBER))
        .then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c) for c in text)


def write_csv(result: Result, path: Path, show_phi: bool | None = None) -> None:
    def produce(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            for i, part in enumerate(findings_table_parts(result, show_phi)):
                defuse_formulas(part).write_csv(fh, include_header=not i)

    atomic_via(path, produce, private=_phi(result, show_phi))


def write_parquet(result: Result, path: Path, show_phi: bool | None = None) -> None:
    """The findings table a slice at a time into row groups of one Parquet file (through
    parts in a private temporary folder, streamed into the file with one schema)."""
    def produce(tmp: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="claims-validator-") as folder:
            parts = []
            for i, part in enumerate(findings_table_parts(result, show_phi)):
                parts.append(Path(folder) / f"{i:06d}.parquet")
                part.write_parquet(parts[-1], compression="lz4")
            scans = [pl.scan_parquet(p) for p in parts]
            pl.concat(scans, how="vertical_relaxed").sink_parquet(tmp)

    atomic_via(path, produce, private=_phi(result, show_phi))


def _phi(result: Result, show_phi: bool | None) -> bool:
    """Whether the output shows PHI (then it is written for its owner only, 0600)."""
    return result.options.show_phi if show_phi is None else show_phi


# -- JUnit XML -------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all (ElementTree escapes <, >, & and quotes itself).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _x(value: object) -> str:
    return _XML_ILLEGAL.sub("\ufffd", str(value))


def _or(value: object, absent: str = "(none)") -> str:
    """A value for JUnit text: never Python's ``None``."""
    return absent if value is None else str(value)


def _line(r: dict) -> str:
    where = f" at segment {r['segment_index']}" if r.get("segment_index") is not None else ""
    sid = f" {r['segment_id']}" if r.get("segment_id") else ""
    exp = ""
    if r.get("expected") is not None or r.get("found") is not None:
        exp = f" (expected {_or(r.get('expected'))}, found {_or(r.get('found'))})"
    return _x(f"[{r['severity']}] {r['rule']}{where}{sid}: {r['message']}{exp}")


def junit(result: Result) -> ET.Element:
    """``testsuites`` > one ``testsuite`` per file > one ``testcase`` per claim.

    A claim fails when its status is ``error`` (its own error findings, or an envelope error
    of its transaction set or file, which rejects it too). Warnings go to ``system-out``.
    Findings not tied to a claim form the file's ``envelope`` test case.
    """
    files = files_view(result)
    f = result.findings.with_columns(pl.col("segment_index").cast(pl.Int64))
    cols = ["rule", "severity", "segment_index", "segment_id", "message", "expected", "found"]
    own = f.filter(pl.col("claim_key").is_not_null()).group_by("claim_key").agg(
        _f=pl.struct(cols))
    loose = f.filter(pl.col("claim_key").is_null())
    by_file = loose.group_by("file_id").agg(_f=pl.struct(cols))
    by_txn = loose.filter(pl.col("st_key").is_not_null()).group_by("st_key").agg(
        _t=pl.struct(cols))
    claims = (result.claim_frame(["claim_key", "file_id", "st_key", "claim_id", "segment_index",
                                  "transaction_type", "status"])
              .join(own, on="claim_key", how="left", maintain_order="left")
              .join(by_txn, on="st_key", how="left", maintain_order="left")
              .sort("file_id", "segment_index"))
    per_file = {k[0]: g for k, g in claims.group_by("file_id", maintain_order=True)}
    file_findings = dict(by_file.iter_rows())
    root = ET.Element("testsuites", name="claims-validator")
    root.set("tool_version", __version__)
    root.set("code_sets", codesets.summary_line())
    total_tests = total_failures = 0
    for frow in files.iter_rows(named=True):
        fid = frow["file_id"]
        suite = ET.SubElement(root, "testsuite", name=_x(frow["path"]))
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="code_sets", value=codesets.summary_line())
        for k in ("status", "error"):
            if frow[k] is not None:
                ET.SubElement(props, "property", name=k, value=_x(frow[k]))
        tests = failures = 0
        env = file_findings.get(fid) or []
        if env or frow["status"] != "parsed":
            tests += 1
            case = ET.SubElement(suite, "testcase", classname=_x(frow["path"]), name="envelope")
            failures += _outcome(case, env, [])
        group = per_file.get(fid)
        if group is not None:
            for c in group.iter_rows(named=True):
                tests += 1
                name = _x(f"claim {_or(c['claim_id'], '(no CLM01)')} "
                          f"(CLM at segment {c['segment_index']})")
                case = ET.SubElement(suite, "testcase", classname=_x(frow["path"]), name=name)
                ET.SubElement(ET.SubElement(case, "properties"), "property",
                              name="transaction_type", value=_or(c["transaction_type"]))
                failures += _outcome(case, c["_f"] or [], c["_t"] or [],
                                     rejected=c["status"] == "error")
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        total_tests += tests
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    return root


def _outcome(case: ET.Element, own: list[dict], inherited: list[dict],
             rejected: bool | None = None) -> int:
    """Add failure / system-out to a test case; 1 when it failed."""
    errors = [r for r in own if r["severity"] == "error"]
    others = [r for r in own if r["severity"] != "error"]
    failed = bool(errors) if rejected is None else rejected
    if failed:
        first = errors[0] if errors else next((r for r in inherited if r["severity"] == "error"),
                                              None)
        fail = ET.SubElement(case, "failure", type=first["rule"] if first else "error",
                             message=_x(first["message"]) if first else "rejected")
        lines = [_line(r) for r in errors]
        lines += [f"(transaction set) {_line(r)}" for r in inherited if r["severity"] == "error"]
        if not lines:
            lines = ["rejected by an envelope error of its file (see the file's envelope case)"]
        fail.text = "\n".join(lines)
    if others:
        ET.SubElement(case, "system-out").text = "\n".join(_line(r) for r in others)
    return int(failed)


def write_junit(result: Result, path: Path) -> None:
    root = junit(result)
    ET.indent(root)
    atomic_write(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))
