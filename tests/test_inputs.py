"""Input expansion: globs matching folders, one file under two names, empty arguments."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from helpers import SAMPLES, run_cli

ARGS = ["check", "--format", "json", "--no-ig"]


def _paths(args: list[str]) -> tuple[int, list[str], str]:
    code, out, err = run_cli([*ARGS, *args])
    assert "Traceback" not in err
    return code, [f["path"] for f in json.loads(out)["files"]] if out else [], err


@pytest.fixture
def months(tmp_path):
    for month, name in (("2024-01", "clean-837p.edi"), ("2024-02", "clean-837i.edi")):
        (tmp_path / month).mkdir()
        shutil.copy(SAMPLES / name, tmp_path / month / name)
    (tmp_path / "notes.txt").write_text("not x12")
    (tmp_path / "2024-02" / "README.md").write_text("skipped by the scan")
    return tmp_path


def test_glob_matching_folders_scans_them(months):
    code, paths, err = _paths([str(months / "2024-*")])
    assert code == 0, err
    assert paths == [str(months / "2024-01" / "clean-837p.edi"),
                     str(months / "2024-02" / "clean-837i.edi")]
    code, paths, _ = _paths([str(months / "*")])
    assert [p.rsplit("/", 1)[1] for p in paths] == ["clean-837p.edi", "clean-837i.edi",
                                                   "notes.txt"]


def test_same_file_under_two_names_is_read_once(tmp_path, monkeypatch):
    edi = SAMPLES / "clean-837p.edi"
    other = f"/tmp/../{str(edi).lstrip('/')}"
    code, paths, err = _paths([str(edi), other, str(SAMPLES / ".." / "sample_edi" / edi.name)])
    assert code == 0, err
    assert paths == [str(edi)]
    (tmp_path / "a.edi").symlink_to(edi)
    shutil.copy(SAMPLES / "clean-837i.edi", tmp_path / "b.edi")
    (tmp_path / "c.edi").symlink_to(tmp_path / "b.edi")
    code, out, err = run_cli([*ARGS, str(tmp_path), str(edi)])
    assert code == 0, err
    doc = json.loads(out)
    assert [os.path.basename(f["path"]) for f in doc["files"]] == ["a.edi", "b.edi"]
    assert not [f for f in doc["findings"] if f["rule"] == "DUP401"]


def test_empty_path_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in ([""], [str(SAMPLES / "clean-837p.edi"), ""], ["  "]):
        code, out, err = run_cli([*ARGS, *args])
        assert code == 2 and out == "" and "empty path" in err and "Traceback" not in err


def test_no_input_files_warns_and_exits_0(tmp_path):
    (tmp_path / "README.md").write_text("only documentation here")
    code, paths, err = _paths([str(tmp_path)])
    assert code == 0 and paths == []
    assert f"warning: no input files found in {tmp_path}" in err
    code, paths, err = _paths(["--exclude", "*.edi", str(SAMPLES)])  # everything excluded
    assert code == 0 and paths == [] and "no input files found" in err


def test_a_glob_with_no_match_is_an_empty_inbox_not_a_usage_error(tmp_path):
    """Cron passes quoted globs: a night with no file is not an error (README), while a
    plain path that does not exist still is (a typo)."""
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "README.md").write_text("notes")
    for pattern in (str(tmp_path / "nomatch*.edi"), str(tmp_path / "inbox" / "*")):
        code, paths, err = _paths([pattern])
        assert code == 0 and paths == [], err
        assert "no file matches" in err and "no input files found" in err
    code, _, err = _paths([str(tmp_path / "nomatch.edi")])
    assert code == 2 and "no such file" in err
