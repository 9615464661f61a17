"""`ruleset test` / `ruleset lint` on case files: codes outside `only`, typos, --update."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from helpers import REPO

from validator.cli import main

CASES = REPO / "rulesets" / "tests" / "kp-cigna"


def _case(tmp_path: Path, edit) -> Path:
    """A copy of the shipped 837I case (and its EDI file) beside a copy of the ruleset."""
    folder = tmp_path / "tests" / "kp-cigna"
    folder.mkdir(parents=True)
    shutil.copy(REPO / "rulesets" / "kp-cigna.toml", tmp_path / "kp-cigna.toml")
    shutil.copy(CASES / "kp-837i.edi", folder / "kp-837i.edi")
    case = folder / "case.toml"
    case.write_text(edit((CASES / "kp-837i.toml").read_text(encoding="utf-8")), encoding="utf-8")
    return case


def _cli(*args: str):
    return CliRunner().invoke(main, ["ruleset", *args])


def test_expected_code_outside_only_is_a_case_error_in_test_and_lint(tmp_path):
    case = _case(tmp_path, lambda t: t.replace('"I-OK-HMO-ER-REV0450" = []',
                                               '"I-OK-HMO-ER-REV0450" = ["SIT404"]'))
    res = _cli("test", str(case))
    assert res.exit_code == 1 and "ERROR" in res.output
    assert "SIT404 is outside case.only (KP)" in res.output
    assert "missing SIT404" not in res.output  # not a confusing "not raised"
    lint = _cli("lint", str(tmp_path / "kp-cigna.toml"))
    assert lint.exit_code == 1
    assert f"{case}:11: claims.I-OK-HMO-ER-REV0450[0]: expected code SIT404" in lint.output


def test_unknown_case_key_gets_a_suggestion(tmp_path):
    case = _case(tmp_path, lambda t: t.replace('only = "KP"', 'onyl = "KP"'))
    res = _cli("test", str(case))
    assert "unknown key 'onyl' in [case] (did you mean 'only'?)" in res.output
    assert "did you mean 'only'?" in _cli("lint", str(tmp_path)).output


def test_update_writes_what_was_raised_keeping_comments(tmp_path):
    case = _case(tmp_path, lambda t: t.replace('"I-KP101-KPIC-ADDRESS" = ["KP101"]',
                                               '"I-KP101-KPIC-ADDRESS" = ["KP100"]  # note')
                 .replace('"I-OK-HMO-ER-REV0450" = []\n', ""))
    assert _cli("test", str(case)).exit_code == 1
    res = _cli("test", str(case), "--update")
    assert "updated 1 case file" in res.output
    text = case.read_text(encoding="utf-8")
    assert '"I-KP101-KPIC-ADDRESS" = ["KP101"]  # note' in text
    assert text.rstrip().endswith('"I-OK-HMO-ER-REV0450" = []')
    assert "# KPIC's payer ID, wrong box number" in text  # comments stay
    assert _cli("test", str(case)).exit_code == 0
    # a case with an error is never rewritten
    broken = _case(tmp_path / "b", lambda t: t.replace('only = "KP"', 'onyl = "KP"'))
    before = broken.read_text(encoding="utf-8")
    assert "updated 0 case files" in _cli("test", str(broken), "--update").output
    assert broken.read_text(encoding="utf-8") == before
