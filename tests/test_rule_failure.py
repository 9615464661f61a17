"""A check that raises is contained: its INT001 findings, every other rule's findings and
all outputs are still produced, and the run exits 2. Report names never collide."""

from __future__ import annotations

import dataclasses
import json

import pytest
from helpers import SAMPLE_CLAIMS, SAMPLES, all_rules, report_files, run_cli

from validator.output.atomic import reserve_names
from validator.rules.api import Annotator

ARGS = ["check", "--format", "json", "--no-ig", str(SAMPLES / "kp-837p-scenarios.edi")]


@pytest.fixture
def broken_rule(monkeypatch):
    def boom(ctx):
        raise ValueError("simulated defect\nsecond line")

    rules = all_rules()
    monkeypatch.setitem(rules, "SIT401", dataclasses.replace(rules["SIT401"], check=boom))


def test_failed_rule_is_reported_and_others_still_run(broken_rule):
    code, out, err = run_cli(ARGS)
    assert code == 2
    assert "Traceback" not in err
    assert "SIT401" in err and "INT001" in err
    doc = json.loads(out)
    internal = [f for f in doc["findings"] if f["rule"] == "INT001"]
    assert len(internal) == 1 and internal[0]["severity"] == "error"
    assert internal[0]["file"].endswith("kp-837p-scenarios.edi")
    assert "rule SIT401 failed (ValueError: simulated defect)" in internal[0]["message"]
    assert "second line" not in internal[0]["message"]
    assert not [f for f in doc["findings"] if f["rule"] == "SIT401"]
    assert {f["rule"] for f in doc["findings"]} - {"INT001"}  # the other rules ran
    assert all(c["status"] == "error" for c in doc["claims"])  # nothing passes unchecked


def test_without_the_defect_there_is_no_int001():
    code, out, _ = run_cli(ARGS)
    assert code in (0, 1)
    assert not [f for f in json.loads(out)["findings"] if f["rule"] == "INT001"]


def test_failed_rule_still_writes_report_files(broken_rule, tmp_path):
    code, _, _ = run_cli(["check", "--format", "html,json", "--no-ig", "--report-dir",
                          str(tmp_path), str(SAMPLES / "kp-837p-scenarios.edi")])
    assert code == 2
    written = [p.suffix for p in report_files(tmp_path)]
    assert written == [".html", ".json"]
    assert all(p.stat().st_size > 0 for p in report_files(tmp_path))


@pytest.mark.parametrize("chunk_size", ["0", "1"])
def test_failed_annotator_is_contained_like_a_rule(monkeypatch, tmp_path, chunk_size):
    # The annotator behind each claim's ``kp`` object raises: INT001 per file, exit 2, every
    # rule's findings and every claim still in the output (``kp`` null), no file lost.
    from validator.rules.registry import discover

    def kp_annotation(ctx):
        raise RuntimeError("simulated annotator defect")

    monkeypatch.setattr(discover(), "annotators",
                        [Annotator("kp_annotation", "kp", kp_annotation, compact="member")])
    code, out, err = run_cli(["check", "--format", "json", "--no-ig", "--chunk-size", chunk_size,
                              str(SAMPLES)])
    assert code == 2 and "Traceback" not in err and "kp_annotation" in err
    doc = json.loads(out)
    internal = [f for f in doc["findings"] if f["rule"] == "INT001"]
    assert len(internal) == doc["summary"]["files"] == 5
    assert "annotator kp_annotation failed (RuntimeError" in internal[0]["message"]
    assert doc["summary"]["files_unreadable"] == 0 and doc["summary"]["claims"] == SAMPLE_CLAIMS
    assert {f["rule"] for f in doc["findings"]} >= {"KP100", "KP110"}


def test_rule_failing_on_one_chunk_only_still_exits_2(monkeypatch):
    # KP100 finds claims in the first chunk and fails on the second: its merged findings
    # start with real ones, and the run must still count as failed.
    rules = all_rules()
    real = rules["KP100"].check

    def sometimes(ctx):
        if "kp-837p-scenarios.edi" not in ctx.batch.files["path"][0]:
            raise ValueError("simulated defect")
        return real(ctx)

    monkeypatch.setitem(rules, "KP100", dataclasses.replace(rules["KP100"], check=sometimes))
    files = [str(SAMPLES / "kp-837p-scenarios.edi"), str(SAMPLES / "kp-837i-scenarios.edi")]
    code, out, err = run_cli(["check", "--format", "json", "--no-ig", "--chunk-size", "1",
                              *files])
    assert code == 2 and "KP100" in err
    rules = [f["rule"] for f in json.loads(out)["findings"]]
    assert "KP100" in rules and rules.count("INT001") == 1


def test_reserve_names_never_reuses_a_name(tmp_path):
    first = reserve_names(tmp_path, "claims-report-20260101-000000", ["html", "json"])
    assert [p.name for p in first] == ["claims-report-20260101-000000.html",
                                       "claims-report-20260101-000000.json"]
    second = reserve_names(tmp_path, "claims-report-20260101-000000", ["html", "json"])
    assert [p.name for p in second] == ["claims-report-20260101-000000-2.html",
                                        "claims-report-20260101-000000-2.json"]
    # One format taken under the next stem: both move on together, nothing is left behind.
    (tmp_path / "claims-report-20260101-000000-3.json").write_text("x")
    third = reserve_names(tmp_path, "claims-report-20260101-000000", ["html", "json"])
    assert [p.name for p in third] == ["claims-report-20260101-000000-4.html",
                                       "claims-report-20260101-000000-4.json"]
    assert not (tmp_path / "claims-report-20260101-000000-3.html").exists()


def test_runs_in_the_same_second_keep_both_reports(tmp_path, monkeypatch):
    import time

    monkeypatch.setattr(time, "gmtime", lambda *a: time.struct_time((2026, 1, 1, 0, 0, 0, 3, 1, 0)))
    for _ in range(2):
        code, _, _ = run_cli(["check", "--format", "json,csv", "--no-ig", "--report-dir",
                              str(tmp_path), str(SAMPLES / "kp-837p-scenarios.edi")])
        assert code in (0, 1)
    names = [p.name for p in report_files(tmp_path)]
    assert len(names) == 4 and "claims-report-20260101-000000Z-2.json" in names
