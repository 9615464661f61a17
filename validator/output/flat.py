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
from .views import claims_view, files_view, findings_view_slices

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
    columns: list[str] = []
    for found in findings_view_slices(result, FINDINGS_SLICE, show_phi):
        table = _table(result, found)
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


# Claims of a file whose test cases are built and written at a time.
CLAIMS_SLICE = 20_000
_CASE_FINDING = ["rule", "severity", "segment_index", "segment_id", "message", "expected",
                 "found"]
_CASE_CLAIM = ["claim_key", "st_key", "claim_id", "segment_index", "transaction_type",
               "status"]


def junit(result: Result) -> Iterator[str]:
    """The JUnit XML document in pieces: ``testsuites`` > one ``testsuite`` per file > one
    ``testcase`` per claim, indented as ``ET.indent`` indents the whole tree.

    A claim fails when its status is ``error`` (its own error findings, or an envelope error
    of its transaction set or file, which rejects it too). Warnings go to ``system-out``.
    Findings not tied to a claim form the file's ``envelope`` test case. A file's claim
    cases are built :data:`CLAIMS_SLICE` claims at a time (the tree of every claim at once
    took ~1.4 KB a claim); the counts that head the document come from the claims' status.
    """
    f = result.findings.with_columns(pl.col("segment_index").cast(pl.Int64))
    own = f.filter(pl.col("claim_key").is_not_null()).group_by("claim_key").agg(
        _f=pl.struct(_CASE_FINDING))
    loose = f.filter(pl.col("claim_key").is_null())
    by_txn = loose.filter(pl.col("st_key").is_not_null()).group_by("st_key").agg(
        _t=pl.struct(_CASE_FINDING))
    by_file = dict(loose.group_by("file_id").agg(_f=pl.struct(_CASE_FINDING)).iter_rows())
    del f, loose
    claims = result.claims.select("file_id", "claim_key", "status").sort("file_id", "claim_key")
    per_file = claims.partition_by("file_id", as_dict=True, include_key=False)
    del claims
    root = ET.Element("testsuites", name="claims-validator")
    root.set("tool_version", __version__)
    root.set("code_sets", codesets.summary_line())
    suites = [_suite(frow, by_file.get(frow["file_id"]) or [], per_file.get((frow["file_id"],)))
              for frow in files_view(result).iter_rows(named=True)]
    root.set("tests", str(sum(int(suite.get("tests", 0)) for suite, _, _ in suites)))
    root.set("failures", str(sum(int(suite.get("failures", 0)) for suite, _, _ in suites)))
    root.set("errors", "0")
    if not suites:
        yield ET.tostring(root, encoding="unicode")
        return
    yield _open_tag(root)
    for suite, head, claims_of_file in suites:
        yield "\n  " + _open_tag(suite)
        for cases in itertools.chain([head], _claim_cases(result, suite, claims_of_file, own,
                                                           by_txn)):
            yield _serialized(cases)
        yield "\n  </testsuite>"
    yield "\n</testsuites>"


def _suite(frow: dict, env: list[dict], claims: pl.DataFrame | None
           ) -> tuple[ET.Element, list[ET.Element], pl.DataFrame | None]:
    """A file's ``testsuite`` (its counts set), the cases that head it (``properties``, and
    the ``envelope`` case when the file has loose findings or was not parsed) and its
    claims' keys."""
    suite = ET.Element("testsuite", name=_x(frow["path"]))
    props = ET.Element("properties")
    ET.SubElement(props, "property", name="code_sets", value=codesets.summary_line())
    for k in ("status", "error"):
        if frow[k] is not None:
            ET.SubElement(props, "property", name=k, value=_x(frow[k]))
    head, tests, failures = [props], 0, 0
    if env or frow["status"] != "parsed":
        tests += 1
        case = ET.Element("testcase", classname=_x(frow["path"]), name="envelope")
        failures += _outcome(case, env, [])
        head.append(case)
    if claims is not None:
        tests += claims.height
        failures += int((claims["status"] == "error").sum())
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    return suite, head, claims


def _claim_cases(result: Result, suite: ET.Element, claims: pl.DataFrame | None,
                 own: pl.DataFrame, by_txn: pl.DataFrame) -> Iterator[list[ET.Element]]:
    """The ``testcase`` of each claim of a file, in segment order, a slice at a time."""
    if claims is None:
        return
    path = suite.get("name", "")
    keys = claims.get_column("claim_key")
    for at in range(0, keys.len(), CLAIMS_SLICE):
        c = (result.claim_frame(_CASE_CLAIM, keys.slice(at, CLAIMS_SLICE))
             .join(own, on="claim_key", how="left", maintain_order="left")
             .join(by_txn, on="st_key", how="left", maintain_order="left")
             .sort("segment_index", maintain_order=True))
        cases = []
        for row in c.iter_rows(named=True):
            name = _x(f"claim {_or(row['claim_id'], '(no CLM01)')} "
                      f"(CLM at segment {row['segment_index']})")
            case = ET.Element("testcase", classname=path, name=name)
            ET.SubElement(ET.SubElement(case, "properties"), "property",
                          name="transaction_type", value=_or(row["transaction_type"]))
            _outcome(case, row["_f"] or [], row["_t"] or [], rejected=row["status"] == "error")
            cases.append(case)
        yield cases


def _open_tag(elem: ET.Element) -> str:
    """``elem``'s start tag with its attributes, escaped as ElementTree escapes them."""
    empty = ET.Element(elem.tag, elem.attrib)
    text = ET.tostring(empty, encoding="unicode", short_empty_elements=False)
    return text[: -len(f"</{elem.tag}>")]


def _serialized(cases: list[ET.Element]) -> str:
    """Children of a ``testsuite``, each after the newline and indent ``ET.indent`` gives
    it in the whole tree (the elements are indented in a stand-in parent at that depth)."""
    holder = ET.Element("x")
    holder.extend(cases)
    ET.indent(holder, level=1)
    text = ET.tostring(holder, encoding="unicode")  # <x>\n    case…\n    case\n  </x>
    return text[len("<x>"): -len("\n  </x>")]


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
    atomic_write(path, itertools.chain(["<?xml version='1.0' encoding='utf-8'?>\n"],
                                       junit(result)))
