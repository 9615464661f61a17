"""Folder scans that skip nothing silently (issue: nightly operations you can trust)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import time

from click.testing import CliRunner
from helpers import SAMPLES, report_files

from validator.cli import main
from validator.engine.inputs import scan_inputs

CLEAN = SAMPLES / "clean-837p.edi"


def _run(*args: str) -> tuple[int, dict | None, str]:
    res = CliRunner().invoke(main, ["check", "--no-ig", "--format", "json", *args])
    out = res.stdout
    return res.exit_code, (json.loads(out) if out.strip() else None), res.stderr


def _inbox(tmp_path: pathlib.Path, *names: str) -> pathlib.Path:
    inbox = tmp_path / "inbox"
    for name in names:
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CLEAN, inbox / name)
    return inbox


def _locked(monkeypatch, name: str) -> None:
    """Folders called ``name`` cannot be listed (as for another user's mode-000 folder; the
    tests run as root, who could read it)."""
    real = os.scandir

    def scandir(path="."):
        if os.path.basename(os.fspath(path)) == name:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_unreadable_subfolder_is_a_finding_not_an_empty_inbox(tmp_path, monkeypatch):
    inbox = _inbox(tmp_path, "a.edi", "locked/b.edi")
    _locked(monkeypatch, "locked")
    code, doc, _err = _run(str(inbox))
    assert code == 1
    rows = {f["path"]: f for f in doc["files"]}
    locked = rows[str(inbox / "locked")]
    assert locked["status"] == "unreadable" and "Permission denied" in locked["error"]
    assert [f["rule"] for f in doc["findings"] if f["file"] == str(inbox / "locked")] == ["FILE005"]
    assert rows[str(inbox / "a.edi")]["status"] == "parsed"


def test_named_unreadable_folder_is_a_usage_error(tmp_path, monkeypatch):
    inbox = _inbox(tmp_path, "a.edi")
    _locked(monkeypatch, "inbox")
    code, doc, err = _run(str(inbox))
    assert code == 2 and doc is None
    assert "cannot read folder" in err and "Permission denied" in err and "Traceback" not in err


def test_named_unreadable_file_is_a_usage_error(tmp_path, monkeypatch):
    inbox = _inbox(tmp_path, "a.edi")
    real = pathlib.Path.open

    def fake_open(self, *a, **k):
        if self.name == "a.edi":
            raise PermissionError(13, "Permission denied")
        return real(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "open", fake_open)
    code, _doc, err = _run(str(inbox / "a.edi"))
    assert code == 2 and "cannot read" in err and "Permission denied" in err


def test_folder_links_are_followed_once_and_loops_end(tmp_path):
    inbox = _inbox(tmp_path, "a.edi")
    other = _inbox(tmp_path / "elsewhere", "b.edi")
    (inbox / "linked").symlink_to(other, target_is_directory=True)
    (other / "back").symlink_to(inbox, target_is_directory=True)  # a loop
    found = scan_inputs([str(inbox)])
    assert [p.name for p in found.files] == ["a.edi", "b.edi"]


def test_dangling_links_are_named_in_a_warning(tmp_path):
    inbox = _inbox(tmp_path, "a.edi")
    (inbox / "gone.edi").symlink_to(tmp_path / "nowhere.edi")
    found = scan_inputs([str(inbox)])
    assert [p.name for p in found.files] == ["a.edi"]
    assert found.dangling == [inbox / "gone.edi"]
    code, _doc, err = _run(str(inbox))
    assert code == 0 and "1 link to nothing" in err and "gone.edi" in err


def test_reports_in_the_inbox_are_not_read_back(tmp_path):
    inbox = _inbox(tmp_path, "a.edi")
    reports = inbox / "reports"
    res = CliRunner().invoke(main, ["check", "--no-ig", str(inbox), "--report-dir", str(reports),
                                    "--format", "html,json", "-q"])
    assert res.exit_code == 0 and len(report_files(reports)) == 2
    _code, doc, _ = _run(str(inbox), "--report-dir", str(reports))
    assert [f["path"] for f in doc["files"]] == [str(inbox / "a.edi")]
    # the tool's own report names are skipped wherever they are kept
    shutil.copy(report_files(reports)[0], inbox / "claims-report-20260101-000000.json")
    assert [p.name for p in scan_inputs([str(inbox)], skip=[reports]).files] == ["a.edi"]


def test_exclude_matches_folders_and_relative_paths(tmp_path):
    inbox = _inbox(tmp_path, "a.edi", "archive/b.edi", "2026/03/old-c.edi", "2026/03/d.edi")
    names = lambda *ex: [p.relative_to(inbox).as_posix() for p in  # noqa: E731
                         scan_inputs([str(inbox)], (".*", *ex)).files]
    assert names() == ["2026/03/d.edi", "2026/03/old-c.edi", "a.edi", "archive/b.edi"]
    assert names("archive") == ["2026/03/d.edi", "2026/03/old-c.edi", "a.edi"]
    assert names("2026/*/old*") == ["2026/03/d.edi", "a.edi", "archive/b.edi"]


def test_files_being_written_are_left_for_the_next_run(tmp_path):
    inbox = _inbox(tmp_path, "old.edi", "new.edi", "upload.edi.part", "batch.tmp", "~lock.edi")
    past = time.time() - 3600
    os.utime(inbox / "old.edi", (past, past))
    code, doc, err = _run(str(inbox), "--min-age", "60")
    assert code == 0
    assert [f["path"] for f in doc["files"]] == [str(inbox / "old.edi")]
    assert "left 1 file for the next run" in err and "new.edi" in err
    found = scan_inputs([str(inbox)])
    assert [p.name for p in found.files] == ["new.edi", "old.edi"]  # .part, .tmp, ~ skipped
