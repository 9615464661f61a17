"""Scheduled runs: lock, state, archiving by outcome, latest link, retention, baseline."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from click.testing import CliRunner
from helpers import SAMPLES

from validator.cli import main
from validator.tools import nightly

CLEAN = SAMPLES / "clean-837p.edi"
BAD = SAMPLES / "kp-837p-scenarios.edi"  # holds claims with errors


def _run(*args: str):
    return CliRunner().invoke(main, ["check", "--no-ig", *args])


def _inbox(tmp_path: Path, **files: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, src in files.items():
        shutil.copy(src, inbox / f"{name}.edi")
    return inbox


def test_a_second_run_on_the_same_lock_exits_3(tmp_path):
    inbox = _inbox(tmp_path, a=CLEAN)
    reports = tmp_path / "reports"
    with nightly.lock(reports / ".claims-validator.lock"):
        res = _run(str(inbox), "--report-dir", str(reports))
    assert res.exit_code == 3 and "another run holds the lock" in res.stderr
    assert "pid " in res.stderr and "Traceback" not in res.stderr
    assert _run(str(inbox), "--report-dir", str(reports)).exit_code == 0  # released
    with nightly.lock(tmp_path / "my.lock"):
        assert _run(str(inbox), "--format", "json", "--lock", str(tmp_path / "my.lock")).exit_code == 3


def test_state_checks_only_new_or_changed_files(tmp_path):
    inbox = _inbox(tmp_path, a=CLEAN, b=CLEAN.with_name("clean-837i.edi"))
    state = tmp_path / "state.json"
    args = [str(inbox), "--state", str(state), "--format", "json", "-v"]
    first = _run(*args)
    assert first.exit_code == 0 and '"files": 2' in first.stdout
    second = _run(*args)
    assert '"files": 0' in second.stdout and "2 files already checked" in second.stderr
    assert "no new input files" in second.stderr
    (inbox / "b.edi").write_bytes(BAD.read_bytes())  # changed content
    third = _run(*args)
    assert third.exit_code == 1 and '"files": 1' in third.stdout
    os.utime(inbox / "a.edi", (1, 1))  # touched, same content: still checked
    assert '"files": 0' in _run(*args).stdout


def test_move_to_archives_files_by_outcome(tmp_path):
    inbox = _inbox(tmp_path, good=CLEAN, bad=BAD)
    (inbox / "sub").mkdir()
    shutil.copy(CLEAN.with_name("clean-837i.edi"), inbox / "sub" / "more.edi")
    archive = tmp_path / "archive"
    res = _run(str(inbox), "--format", "json", "--move-to", str(archive))
    assert res.exit_code == 1
    got = sorted(p.relative_to(archive).as_posix() for p in archive.rglob("*.edi"))
    assert got == ["held/bad.edi", "ready/good.edi", "ready/sub/more.edi"]
    assert not list(inbox.rglob("*.edi"))


def test_latest_link_and_retention(tmp_path):
    inbox = _inbox(tmp_path, a=CLEAN)
    reports = tmp_path / "reports"
    for _ in range(3):
        assert _run(str(inbox), "--report-dir", str(reports), "--format", "html,json",
                    "--keep", "2").exit_code == 0
    runs = [p for p in reports.iterdir() if not p.is_symlink() and not p.name.startswith(".")]
    assert len(runs) == 4  # two runs, two formats
    newest = max((p for p in runs if p.suffix == ".json"), key=lambda p: p.stat().st_mtime_ns)
    latest = reports / "claims-report-latest.json"
    assert latest.is_symlink() and latest.resolve() == newest.resolve()
    # runs in the same second (-2, -10) are ordered as they ran, not as text
    same = tmp_path / "same-second"
    same.mkdir()
    for suffix in ("", "-2", "-10"):
        (same / f"claims-report-20260101-000000Z{suffix}.json").write_text("{}")
    gone = nightly.prune_reports(same, 1)
    assert [p.name for p in same.iterdir()] == ["claims-report-20260101-000000Z-10.json"]
    assert len(gone) == 2


def test_baseline_fails_only_on_new_findings(tmp_path):
    inbox = _inbox(tmp_path, bad=BAD)
    base = tmp_path / "baseline.json"
    first = _run(str(inbox), "--format", "json", "--write-baseline", str(base))
    assert first.exit_code == 1 and base.is_file()
    accepted = _run(str(inbox), "--format", "json", "--baseline", str(base))
    assert accepted.exit_code == 0 and "baseline: 0 findings not in" in accepted.stderr
    shutil.copy(CLEAN.with_name("clean-837i.edi"), inbox / "other.edi")
    text = (inbox / "other.edi").read_text().replace("CLM*ICLM001*1250", "CLM*ICLM001*1251")
    (inbox / "other.edi").write_text(text)  # a balancing error the baseline does not hold
    new = _run(str(inbox), "--format", "json", "--baseline", str(base))
    assert new.exit_code == 1 and "baseline: 1 finding not in" in new.stderr
