"""CSV, Parquet and JUnit writers (read back with polars / ElementTree), and the registry."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest

from tests.report_helpers import XSS_IMG, XSS_SCRIPT, run, with_kp, write_batch
from validator.output import flat, json_report
from validator.output.atomic import _umask
from validator.output.flat import findings_table
from validator.output.views import FINDING_COLUMNS
from validator.output.writers import WRITERS


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run(write_batch(tmp_path_factory.mktemp("batch")))


def _write(fmt: str, result, path: Path) -> Path:
    WRITERS[fmt].write(result, path)
    return path


def test_registry_has_every_format_and_html_first():
    assert next(iter(WRITERS)) == "html"
    assert {"html", "json", "csv", "parquet", "junit"} <= set(WRITERS)
    assert WRITERS["junit"].extension == "xml"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_one_row_per_finding_with_claim_fields(fmt, result, tmp_path):
    path = _write(fmt, result, tmp_path / f"out.{fmt}")
    df = pl.read_csv(path, infer_schema=False) if fmt == "csv" else pl.read_parquet(path)
    assert df.height == result.findings.height == 7
    for col in [*FINDING_COLUMNS, "transaction_type", "claim_segment_index", "total_charge",
                "payer_id", "payer_name", "service_date_from", "claim_status"]:
        assert col in df.columns, col
    assert sorted(df["rule"].to_list()) == sorted(result.findings["rule"].to_list())
    # Claim fields follow the finding's claim; file-level findings have none.
    bad2 = df.filter(pl.col("claim_id") == "BAD0002").row(0, named=True)
    assert bad2["rule"] == "ENV151"
    assert str(bad2["total_charge"]) == "250.5"
    assert bad2["claim_status"] == "error"
    assert str(bad2["service_date_from"]) == "2026-01-15"
    unreadable = df.filter(pl.col("rule") == "FILE001").row(0, named=True)
    assert unreadable["claim_id"] is None and unreadable["claim_status"] is None
    assert unreadable["file"].endswith("notes.837")
    # EDI text is data here, kept verbatim (no HTML escaping in CSV/Parquet).
    assert XSS_SCRIPT in df["claim_id"].to_list()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_no_phi_in_flat_outputs(fmt, result, tmp_path):
    path = _write(fmt, result, tmp_path / f"out.{fmt}")
    # The batch holds the PHI, and the output holds every finding with its claim's fields:
    # there was something to leak, and a leak would be in the bytes or the decoded cells.
    claims = result.batch.claims
    assert "DOEFIELD" in claims["patient_last"].to_list()
    assert "MEMBERID777" in claims["member_id"].to_list()
    df = pl.read_csv(path, infer_schema=False) if fmt == "csv" else pl.read_parquet(path)
    assert df.height == result.findings.height and "BAD0001" in df["claim_id"].to_list()
    raw, cells = path.read_bytes(), " ".join(str(v) for row in df.rows() for v in row).encode()
    for secret in (b"DOEFIELD", b"JONATHAN", b"SAMPLEMAN", b"MEMBERID777", b"XQ9876543210",
                   b"1961-03-14", b"2010-05-15", b"19610314", b"20100515"):
        assert secret not in raw and secret not in cells, secret


def test_kp_struct_is_flattened(result, tmp_path):
    df = findings_table(with_kp(result))
    assert {"kp_member", "kp_product", "kp_region", "kp_expected_payer_id"} <= set(df.columns)
    assert "kp" not in df.columns
    row = df.filter(pl.col("claim_id") == "BAD0001").row(0, named=True)
    assert row["kp_member"] is True and row["kp_expected_payer_id"] == "62308"
    _write("csv", with_kp(result), tmp_path / "kp.csv")  # CSV accepts the flattened table
    back = pl.read_csv(tmp_path / "kp.csv", infer_schema=False)
    assert back.filter(pl.col("claim_id") == "BAD0001")["kp_region"].to_list() == ["NCAL"]


def test_empty_result_writes_header_only(tmp_path):
    clean = tmp_path / "clean.837"
    from tests.edi_builder import PhiClaim, phi_edi

    clean.write_text(phi_edi([PhiClaim("OK1"), PhiClaim("OK2")]))
    res = run([clean])
    assert res.findings.height == 0
    df = pl.read_csv(_write("csv", res, tmp_path / "e.csv"))
    assert df.height == 0 and "rule" in df.columns
    assert pl.read_parquet(_write("parquet", res, tmp_path / "e.parquet")).height == 0
    root = ET.parse(_write("junit", res, tmp_path / "e.xml")).getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 2 and not root.findall(".//failure")


def test_junit_one_case_per_claim_grouped_by_file(result, tmp_path):
    root = ET.parse(_write("junit", result, tmp_path / "out.xml")).getroot()
    assert root.tag == "testsuites"
    suites = {Path(s.get("name")).name: s for s in root.findall("testsuite")}
    assert set(suites) == {"claims-a.837", "claims-b.837", "notes.837"}
    a = suites["claims-a.837"]
    cases = a.findall("testcase")
    assert len(cases) == 4  # four claims, no envelope finding
    by_name = {c.get("name"): c for c in cases}
    clean = next(c for n, c in by_name.items() if "CLEAN001" in n)
    assert clean.find("failure") is None
    bad = next(c for n, c in by_name.items() if "BAD0001" in n)
    fail = bad.find("failure")
    assert fail is not None and fail.get("type") == "ENV151"
    assert "unknown segment ID ZZZ" in fail.text
    # The injection sample round-trips as text through XML escaping.
    assert any(XSS_SCRIPT in n for n in by_name)
    assert a.get("tests") == "4" and a.get("failures") == "3"
    # A wrong SE01 rejects both claims of that transaction set; the preamble warning goes
    # to the envelope case's system-out.
    b = suites["claims-b.837"]
    env = next(c for c in b.findall("testcase") if c.get("name") == "envelope")
    assert "ENV101" in env.find("system-out").text
    assert env.find("failure").get("type") == "ENV131"
    claim_cases = [c for c in b.findall("testcase") if c.get("name") != "envelope"]
    assert len(claim_cases) == 2 and all(c.find("failure") is not None for c in claim_cases)
    assert "ENV131" in claim_cases[0].find("failure").text
    # The unreadable file is a failed envelope case.
    n = suites["notes.837"]
    assert n.find("testcase/failure").get("type") == "FILE001"
    # 6 claims (5 rejected) + 2 envelope cases (both failed).
    assert root.get("tests") == "8" and root.get("failures") == "7"


def test_junit_strips_xml_illegal_characters(tmp_path):
    from tests.edi_builder import PhiClaim, phi_edi

    p = tmp_path / "ctl.837"
    p.write_text(phi_edi([PhiClaim("CTL\x01\x02ID", unknown_segment=True)]))
    res = run([p])
    root = ET.parse(_write("junit", res, tmp_path / "ctl.xml")).getroot()  # parses
    assert any("CTL" in c.get("name") for c in root.iter("testcase"))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_written_a_slice_of_findings_at_a_time(fmt, result, tmp_path, monkeypatch):
    """A run in units reads its findings from disk a slice at a time: the CSV (header once)
    and the Parquet (one schema) are the same whatever the slice."""
    scratch = tmp_path / "scratch"  # (the Parquet's parts: removed when it is written)
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    whole = _write(fmt, result, tmp_path / f"whole.{fmt}").read_bytes()
    for rows in (1, 3):
        monkeypatch.setattr(flat, "FINDINGS_SLICE", rows)
        sliced = _write(fmt, result, tmp_path / f"by{rows}.{fmt}")
        if fmt == "csv":
            assert sliced.read_bytes() == whole
        else:
            assert pl.read_parquet(sliced).equals(pl.read_parquet(tmp_path / f"whole.{fmt}"))
            assert pl.read_parquet(sliced).schema == findings_table(result).schema
    assert not list(scratch.iterdir())


def test_junit_written_a_slice_of_claims_at_a_time(result, tmp_path, monkeypatch):
    """The JUnit document is written in pieces, a slice of each file's claims at a time:
    the same bytes whatever the slice, and those of the whole tree indented by ElementTree."""
    whole = _write("junit", result, tmp_path / "whole.xml").read_bytes()
    root = ET.fromstring(whole)
    assert len(root.findall("testsuite")) > 1 and len(root.findall(".//testcase")) > 3
    tree = ET.fromstring(whole)
    for elem in tree.iter():  # (the whitespace ET.indent adds, removed and added again)
        if elem.text is not None and not elem.text.strip():
            elem.text = None
        elem.tail = None
    ET.indent(tree)
    assert ET.tostring(tree, encoding="utf-8", xml_declaration=True) == whole
    for rows in (1, 2):
        monkeypatch.setattr(flat, "CLAIMS_SLICE", rows)
        assert _write("junit", result, tmp_path / f"by{rows}.xml").read_bytes() == whole


def test_junit_of_no_files_is_one_empty_element(tmp_path):
    res = run([])
    root = ET.parse(_write("junit", res, tmp_path / "none.xml")).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "0" and not len(root)


def test_json_writer_unchanged(result, tmp_path):
    path = _write("json", result, tmp_path / "out.json")
    assert path.read_text() == json_report.render(result)
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == 1 and len(doc["findings"]) == 7


def test_writes_are_atomic(result, tmp_path, monkeypatch):
    """A writer that fails leaves neither a partial report nor a temp file behind."""
    target = tmp_path / "out.csv"
    target.write_text("previous report")

    def boom(self, *a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_csv", boom)
    with pytest.raises(RuntimeError):
        _write("csv", result, target)
    assert target.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_xss_names_survive_csv_roundtrip(result, tmp_path):
    df = pl.read_csv(_write("csv", result, tmp_path / "x.csv"), infer_schema=False)
    xss = df.filter(pl.col("claim_id") == XSS_SCRIPT)
    assert xss["payer_name"].to_list() == [XSS_IMG]


@pytest.mark.parametrize("fmt", ["html", "csv", "parquet", "junit", "json"])
def test_symlinked_report_is_written_through_the_link(result, tmp_path, fmt):
    target = tmp_path / "real" / f"out.{fmt}"
    target.parent.mkdir()
    target.write_text("previous report")
    link = tmp_path / f"link.{fmt}"
    link.symlink_to(target)
    _write(fmt, result, link)
    assert link.is_symlink() and link.resolve() == target
    assert target.stat().st_size > len("previous report")
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temp left


@pytest.mark.parametrize("fmt", ["html", "csv", "parquet"])
def test_replaced_report_keeps_its_permissions(result, tmp_path, fmt):
    target = tmp_path / f"out.{fmt}"
    target.write_text("previous report")
    target.chmod(0o600)
    _write(fmt, result, target)
    assert target.stat().st_mode & 0o777 == 0o600
    fresh = _write(fmt, result, tmp_path / f"new.{fmt}")  # new files: umask as before
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~_umask()


@pytest.mark.parametrize("fmt", ["html", "csv", "parquet"])
def test_fifo_target_is_written_directly(result, tmp_path, fmt):
    # (a FIFO rather than /dev/null: a regression run as root would replace /dev/null)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    _write(fmt, result, fifo)
    reader.join(timeout=10)
    assert fifo.is_fifo() and got and len(got[0]) > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_csv_cells_that_would_run_as_formulas_are_text(tmp_path):
    """EDI text (a claim ID, a payer name) starting with = + - @ opens in a spreadsheet as a
    formula (CSV injection): the CSV prefixes it with ', numbers stay numbers."""
    from validator.output.flat import defuse_formulas

    df = pl.DataFrame({"a": ["=SUM(1+1)", "+1-2", "-2+3", "@cmd|calc!A0", "\tx", "-50.25",
                             "12", "A=1", None], "n": [1] * 9})
    got = defuse_formulas(df)
    assert got["a"].to_list() == ["'=SUM(1+1)", "'+1-2", "'-2+3", "'@cmd|calc!A0", "'\tx",
                                  "-50.25", "12", "A=1", None]
    assert got["n"].to_list() == [1] * 9


def test_loop_and_ig_code_are_always_columns(result, tmp_path):
    """Documented as null outside implementation-guide findings: present in every run."""
    for fmt in ("csv", "parquet"):
        path = _write(fmt, result, tmp_path / f"x.{fmt}")
        df = pl.read_csv(path, infer_schema=False) if fmt == "csv" else pl.read_parquet(path)
        assert {"loop", "ig_code"} <= set(df.columns)
        assert df["loop"].null_count() == df.height
    doc = json.loads(b"".join(json_report.chunks(result)))
    assert all({"loop", "ig_code"} <= set(f) for f in doc["findings"])
