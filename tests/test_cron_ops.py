"""What a nightly job sees on stderr and on disk: stamped logs, report paths, private PHI."""

from __future__ import annotations

import json
import os
import re
import stat

from click.testing import CliRunner
from helpers import SAMPLES, report_files

from validator.cli import main

CLEAN = str(SAMPLES / "clean-837p.edi")


def _run(*args: str):
    return CliRunner().invoke(main, ["check", "--no-ig", *args])


def test_quiet_still_prints_the_report_path(tmp_path):
    res = _run(CLEAN, "-q", "--report-dir", str(tmp_path))
    assert res.exit_code == 0
    (report,) = report_files(tmp_path)
    assert res.stderr.splitlines() == [f"report: {report}"]
    # report names carry UTC, as the report itself does
    assert re.fullmatch(r"claims-report-\d{8}-\d{6}Z\.html", report.name)


def test_log_lines_are_stamped_in_utc_text_or_json(tmp_path):
    res = _run(str(tmp_path / "nothing-*.edi"), "-q")
    assert res.exit_code == 0
    lines = [ln for ln in res.stderr.splitlines() if not ln.startswith("report: ")]
    assert lines and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ warning: ", ln) for ln in lines)
    res = _run(str(tmp_path / "nothing-*.edi"), "-q", "--log-format", "json")
    records = [json.loads(ln) for ln in res.stderr.splitlines() if ln.startswith("{")]
    assert records and {r["level"] for r in records} == {"warning"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["time"]) for r in records)
    assert "WARNING" not in res.stderr


def test_summary_counts_read_like_english(tmp_path):
    res = _run(CLEAN, "--report-dir", str(tmp_path))
    assert res.stderr.startswith("1 file (0 unreadable), 3 claims: ")
    assert "findings: 0 errors, 0 warnings, 0 info" in res.stderr
    empty = tmp_path / "inbox"
    empty.mkdir()
    res = _run(str(empty), "--report-dir", str(tmp_path))
    assert "0 files (0 unreadable), no claims read" in res.stderr
    assert "% without errors" not in res.stderr


def test_show_phi_reports_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        masked = _run(CLEAN, "-q", "--report", str(tmp_path / "masked.html"))
        shown = _run(CLEAN, "-q", "--show-phi", "--report", str(tmp_path / "phi.html"))
        (tmp_path / "again.html").write_text("old report")
        os.chmod(tmp_path / "again.html", 0o644)
        again = _run(CLEAN, "-q", "--show-phi", "--report", str(tmp_path / "again.html"))
    finally:
        os.umask(old)
    assert masked.exit_code == shown.exit_code == again.exit_code == 0
    mode = lambda name: stat.S_IMODE((tmp_path / name).stat().st_mode)  # noqa: E731
    assert mode("masked.html") == 0o644
    assert mode("phi.html") == 0o600 and mode("again.html") == 0o600


def test_json_carries_a_run_record(tmp_path):
    res = _run(CLEAN, "--format", "json", "--select", "SIT,BAL", "--ignore", "SIT401")
    run = json.loads(res.stdout)["run"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", run["started"])
    assert run["duration_s"] > 0 and run["inputs"] == [CLEAN]
    assert run["options"] | {"severity": None} == {
        "ig": False, "ig_engine": None, "select": ["SIT", "BAL"], "ignore": ["SIT401"],
        "severity": None, "show_phi": False}
