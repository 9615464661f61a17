"""A run in units keeps, of each unit's claims and lines, only the columns still read after
the unit (issue #18: the client's memory per claim). Every output must be the same as that of
one pass, and every claim or line column the client-side code names must be kept."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from helpers import REPO, report_files, run_cli

from bench.generate import generate
from validator.engine.read import read_batch
from validator.engine.units import CLIENT_CLAIMS, CLIENT_LINES
from validator.output.html_report import CLAIM_PANEL_COLUMNS
from validator.output.views import CLAIM_COLUMNS

SAMPLES = REPO / "sample_edi"
FORMATS = "html,json,csv,parquet,junit,999"

# Code that runs on the client after the units: renderers, tools, the batch rules' code.
CLIENT_CODE = [
    *sorted((REPO / "validator/output").rglob("*.py")),
    *sorted((REPO / "validator/output/templates").rglob("*")),
    *sorted((REPO / "validator/tools").rglob("*.py")),
    *(REPO / p for p in ("validator/engine/check.py", "validator/engine/run.py",
                         "validator/engine/result.py", "validator/rules/earlier.py",
                         "validator/rules/generic/duplicates.py", "validator_kp/panel.py")),
]
# Names that are claim or line columns but mean something else where the client code uses
# them: a report's or the key store's ``version``, the transactions table's ``isa13``, the
# segments table's ``hl_key`` (split), the work ``units`` (check).
OTHER_MEANINGS = {"version", "isa13", "hl_key", "units"}


def _table_columns() -> tuple[list[str], list[str]]:
    b = read_batch(sorted(SAMPLES.glob("*.edi")))
    return b.claims.columns, b.lines.columns


def test_client_code_reads_only_kept_columns():
    claims, lines = _table_columns()
    assert len(CLIENT_CLAIMS) < len(claims) / 2 and len(CLIENT_LINES) < len(lines) / 2
    missing = {}
    for path in CLIENT_CODE:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        for col in (set(claims) - set(CLIENT_CLAIMS)) | (set(lines) - set(CLIENT_LINES)):
            if col not in OTHER_MEANINGS and re.search(rf"[\"'.]{re.escape(col)}\b", text):
                missing.setdefault(col, []).append(path.name)
    assert not missing, f"read after a unit but dropped from its result: {missing}"


def test_shown_columns_are_kept():
    claims, _ = _table_columns()
    shown = {c for c in (*CLAIM_COLUMNS, *CLAIM_PANEL_COLUMNS) if c in claims}
    assert shown - {"file", "status"} <= set(CLIENT_CLAIMS)


def _normal(path: Path) -> bytes:
    """A report file without what tells two runs apart: the run's time and duration (HTML),
    the 999's date, time and control numbers (taken from the clock)."""
    data = path.read_bytes()
    if path.suffix == ".html":
        return re.sub(rb"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\dZ?( UTC)?|\d+\.\d\d s\b", b"T", data)
    if ".999" in path.name or path.parent.suffix == ".999":
        segs = []
        for seg in data.split(b"~"):
            el = seg.strip().split(b"*")
            blank = {b"ISA": (9, 10, 13), b"IEA": (2,), b"GS": (4, 5, 6), b"GE": (2,)}
            for i in blank.get(el[0], ()):
                if i < len(el):
                    el[i] = b""
            segs.append(b"*".join(el))
        return b"~".join(segs)
    if path.suffix == ".json":
        import json

        return json.dumps({k: v for k, v in json.loads(data).items() if k != "run"}).encode()
    if path.suffix == ".parquet":
        return pl.read_parquet(path).write_csv().encode()
    return data


def _outputs(folder: Path) -> dict[str, bytes]:
    out = {}
    for p in report_files(folder):
        files = sorted(p.iterdir()) if p.is_dir() else [p]
        for f in files:
            out[f"{p.suffix}/{f.name if p.is_dir() else ''}"] = _normal(f)
    return out


def _run(tmp_path: Path, inputs: list[str], chunk: str, name: str) -> dict[str, bytes]:
    folder = tmp_path / name
    code, _, err = run_cli(["check", *inputs, "--members", str(SAMPLES / "kp-roster.csv"),
                            "--format", FORMATS, "--report-dir", str(folder),
                            "--chunk-size", chunk, "--fail-on", "never"])
    assert code == 0, err
    return _outputs(folder)


@pytest.mark.parametrize("source", ["samples", "generated"])
def test_every_output_in_units_equals_one_pass(tmp_path, source):
    if source == "samples":
        inputs = [str(SAMPLES)]
    else:  # many transaction sets: cut into pieces at 1K
        big = tmp_path / "big.837"
        big.write_text(generate("P", 400, seed=5, claims_per_st=20))
        inputs = [str(big)]
    whole = _run(tmp_path, inputs, "0", "whole")
    parts = _run(tmp_path, inputs, "1K", "parts")
    assert {k.split("/")[0] for k in whole} == {".html", ".json", ".csv", ".parquet", ".xml",
                                                ".999"}
    assert parts.keys() == whole.keys()
    for k in whole:
        assert parts[k] == whole[k], k
