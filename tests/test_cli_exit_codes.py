"""Exit codes (0 / 1 / 2), stdout/stderr separation, and no traceback ever."""

from __future__ import annotations

import json

import pytest
from edi_builder import edi, interchange
from helpers import REPO, SAMPLES, report_files, run_cli, write_edi

BASE = ["check", "--format", "json", "--no-ig", "--select", "ENV,FILE"]


@pytest.fixture
def files(tmp_path):
    good = write_edi(tmp_path, edi(interchange()), "good.edi")
    segs = interchange()
    segs[21] = "SE*99*0001"  # wrong SE01: an error
    bad = write_edi(tmp_path, edi(segs), "bad.edi")
    warn = write_edi(tmp_path, "exported by BILLER\n" + edi(interchange()), "warn.edi")
    return {"good": str(good), "bad": str(bad), "warn": str(warn), "dir": tmp_path}


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err


def test_clean_exit_0(files):
    code, out, err = run_cli([*BASE, files["good"]])
    assert code == 0, err
    assert json.loads(out)["summary"]["findings"] == {"error": 0, "warning": 0, "info": 0}


def test_samples_are_clean_for_envelope_rules():
    code, out, err = run_cli([*BASE, str(SAMPLES)])
    assert code == 0, err
    edi = sorted(SAMPLES.glob("*.edi"))
    clm = sum(seg.strip().startswith("CLM*") for p in edi for seg in p.read_text().split("~"))
    assert json.loads(out)["summary"]["claims"] == clm > 6


def test_errors_exit_1(files):
    code, out, err = run_cli([*BASE, files["bad"]])
    assert code == 1
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["ENV131"]
    _no_traceback(err)


def test_fail_on(files):
    assert run_cli([*BASE, files["warn"]])[0] == 0  # a warning only: below "error"
    assert run_cli([*BASE, "--fail-on", "warning", files["warn"]])[0] == 1
    assert run_cli([*BASE, "--fail-on", "never", files["bad"]])[0] == 0
    assert run_cli([*BASE, "--fail-on", "warning", files["good"]])[0] == 0


@pytest.mark.parametrize("args", [
    ["check", "--format", "json", "/no/such/file.edi"],
    ["check", "--format", "json", "/no/such/*.edi"],
    ["check", "--format", "json", "--select", "ZZZ999", "sample_edi"],
    ["check", "--format", "json", "--ignore", "NOPE", "sample_edi"],
    ["check", "--format", "yaml", "sample_edi"],
    ["check", "--format", "json", "--ruleset", "/no/such/ruleset.toml", "sample_edi"],
    ["check", "--format", "json", "--ruleset", "no-such-ruleset", "sample_edi"],
    ["check", "--format", "json", "--fail-on", "sometimes", "sample_edi"],
    ["check"],
])
def test_usage_errors_exit_2(args, monkeypatch):
    monkeypatch.chdir(REPO)
    code, out, err = run_cli(args)
    assert code == 2
    assert out == ""
    assert err.strip()
    _no_traceback(err)


def test_invalid_ruleset_toml_exits_2(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text("[ruleset\nname = 1")
    monkeypatch.chdir(REPO)
    code, out, err = run_cli(["check", "--format", "json", "--ruleset", str(bad), "sample_edi"])
    assert code == 2 and out == ""
    assert "invalid TOML" in err
    _no_traceback(err)


def test_internal_error_exits_2_without_traceback(files, monkeypatch):
    import validator.cli.check

    def boom(*a, **k):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(validator.cli.check, "check", boom)
    code, out, err = run_cli([*BASE, files["good"]])
    assert code == 2 and out == ""
    assert "internal error" in err and "simulated failure" in err
    _no_traceback(err)


def test_unreadable_file_does_not_stop_the_batch(files):
    d = files["dir"]
    (d / "utf16.edi").write_bytes(edi(interchange()).encode("utf-16"))
    (d / "empty.edi").write_bytes(b"")
    code, out, err = run_cli([*BASE, str(d)])
    assert code == 1
    doc = json.loads(out)
    status = {f["path"].rsplit("/", 1)[1]: f["status"] for f in doc["files"]}
    assert status == {"bad.edi": "parsed", "empty.edi": "unreadable", "good.edi": "parsed",
                      "utf16.edi": "unreadable", "warn.edi": "parsed"}
    assert doc["summary"]["files_unreadable"] == 2
    by_file = {c["file"].rsplit("/", 1)[1] for c in doc["claims"]}
    assert by_file == {"bad.edi", "good.edi", "warn.edi"}
    rules = {(f["file"].rsplit("/", 1)[1], f["rule"]) for f in doc["findings"]}
    assert ("utf16.edi", "FILE002") in rules and ("empty.edi", "FILE003") in rules
    _no_traceback(err)


def test_real_process_streams(files):
    # A child process: stdout holds exactly the JSON document, the summary goes to stderr.
    code, out, err = run_cli([*BASE, files["bad"], files["good"]], subprocess_run=True)
    assert code == 1
    doc = json.loads(out)
    assert doc["summary"]["claims"] == 2
    assert "2 files" in err and "claims" in err
    _no_traceback(err)
    code, out, err = run_cli(["check", "--format", "json", "/no/such/path"], subprocess_run=True)
    assert code == 2 and out == "" and "no such file" in err
    _no_traceback(err)


def test_reader_bug_in_one_file_is_contained(files, monkeypatch):
    # An unexpected exception while reading one file: that file is unreadable, the others
    # are checked, and no traceback is printed.
    import validator.engine.read

    real = validator.engine.read.load

    def flaky(path, display):
        if display.endswith("bad.edi"):
            raise ValueError("simulated reader bug")
        return real(path, display)

    # (test_reader_groups.py covers a bug in the tokenizer itself)
    monkeypatch.setattr(validator.engine.read, "load", flaky)
    code, out, err = run_cli([*BASE, files["bad"], files["good"]])
    assert code == 1
    doc = json.loads(out)
    assert [f["status"] for f in doc["files"]] == ["unreadable", "parsed"]
    assert "simulated reader bug" in doc["files"][0]["error"]
    assert [c["claim_id"] for c in doc["claims"]] == ["C1"]
    _no_traceback(err)


def test_folder_scan_and_globs(tmp_path, monkeypatch):
    good = edi(interchange())
    (tmp_path / "sub").mkdir()
    write_edi(tmp_path / "sub", good, "a.edi")
    write_edi(tmp_path, edi(interchange(isa13="000000002")), "b.837")  # (its own ISA13)
    for skipped in ("README.md", "MANIFEST.tsv", ".hidden.edi", "LICENSE"):
        write_edi(tmp_path, "not x12", skipped)
    code, out, err = run_cli([*BASE, str(tmp_path)])
    assert code == 0, err
    names = sorted(f["path"].rsplit("/", 1)[1] for f in json.loads(out)["files"])
    assert names == ["a.edi", "b.837"]
    code, out, _ = run_cli([*BASE, "--exclude", "*.837", str(tmp_path)])
    assert [f["path"].rsplit("/", 1)[1] for f in json.loads(out)["files"]] == ["a.edi"]
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli([*BASE, "**/*.edi"])
    assert code == 0
    assert [f["path"] for f in json.loads(out)["files"]] == ["sub/a.edi"]
    # A file named explicitly is always read, even one a folder scan would skip.
    code, out, _ = run_cli([*BASE, "README.md"])
    assert code == 1
    assert json.loads(out)["findings"][0]["rule"] == "FILE001"


def test_unwritable_report_folder_is_a_clear_error(files, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = run_cli(["check", "--no-ig", "--format", "html", "--report-dir",
                            str(blocker / "reports"), files["good"]])
    assert code == 2
    assert err.startswith("error: cannot write the report to ")
    assert "internal error" not in err
    _no_traceback(err)


@pytest.mark.parametrize("formats", [["--format", "json,json"], ["--format", "html,html"],
                                     ["--format", "json", "--format", "json"],
                                     ["--format", "csv,json,csv"]])
def test_repeated_formats_are_written_once(files, tmp_path, formats):
    out_dir = tmp_path / "out"
    code, out, err = run_cli(["check", "--no-ig", *formats, "--report-dir", str(out_dir),
                              files["good"]])
    assert code == 0, err
    _no_traceback(err)
    wanted = list(dict.fromkeys(f for a in formats[1::2] for f in a.split(",")))
    if wanted == ["json"]:
        assert json.loads(out)["summary"]["files"] == 1
    else:
        suffixes = {"html": ".html", "csv": ".csv", "json": ".json"}
        assert [p.suffix for p in report_files(out_dir)] == sorted(suffixes[f] for f in wanted)


def test_select_and_ignore_take_lowercase_codes(files):
    args = ["check", "--format", "json", "--no-ig", files["bad"]]
    _, upper, _ = run_cli([*args, "--select", "ENV,FILE", "--ignore", "ENV130"])
    code, lower, err = run_cli([*args, "--select", "env,File", "--ignore", "env130"])
    assert code == 1, err
    assert json.loads(lower)["findings"] == json.loads(upper)["findings"]
    assert json.loads(lower)["findings"]


def test_report_dash_writes_the_report_to_stdout(files, tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    code, out, err = run_cli([*BASE, "--report", "-", files["good"]])
    assert code == 0, err
    assert json.loads(out)["summary"]["files"] == 1
    code, out, err = run_cli(["check", "--no-ig", "--format", "csv", "--report", "-",
                              files["good"]])
    assert code == 0 and out.startswith("rule,severity,file"), err
    code, out, err = run_cli(["check", "--no-ig", "--report", "-", files["good"]])
    assert code == 0 and out.startswith("<!DOCTYPE html>"), err
    assert list(cwd.iterdir()) == []  # no file named "-", no reports/ folder
    code, out, err = run_cli(["check", "--no-ig", "--format", "json,csv", "--report", "-",
                              files["good"]])
    assert code == 2 and out == "" and "single format" in err


def test_empty_report_path_is_a_usage_error(files, tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for value in ("", " "):
        code, out, err = run_cli([*BASE, "--report", value, files["good"]])
        assert code == 2 and out == "" and "--report" in err and "empty path" in err
        _no_traceback(err)
    assert list(cwd.iterdir()) == []
