"""PHI in findings quoted from broken segments: a segment whose element separator is wrong
is one long token, names, member IDs and birth dates included. Quoted text is cut unless
``--show-phi`` (reviewer repro: subscriber NM1 and DMG with wrong separators)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from helpers import report_files

from validator.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "sample_edi" / "clean-837p.edi"
PHI = ("DOE", "JOHN", "W123456789", "19800512", "OAK AVE")


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    text = SAMPLE.read_text(encoding="ascii")
    nm1, dmg = "NM1*IL*1*DOE*JOHN****MI*W123456789", "DMG*D8*19800512*M"
    assert nm1 in text and dmg in text
    path = tmp_path_factory.mktemp("phi") / "broken.edi"
    path.write_text(text.replace(nm1, nm1.replace("*", "|")).replace(dmg, dmg.replace("*", " ")),
                    encoding="ascii")
    return path


def _findings(path: Path, *args: str) -> list[dict]:
    res = CliRunner().invoke(main, ["check", str(path), "--format", "json", "-q", *args])
    assert res.exit_code == 1, res.output
    return json.loads(res.stdout)["findings"]


@pytest.mark.parametrize("ig", ["--no-ig", "--ig"])
def test_broken_segments_are_quoted_without_phi(broken, ig):
    found = _findings(broken, ig)
    codes = {f["rule"] for f in found}
    assert "ENV151" in codes and (ig == "--no-ig" or "IG200" in codes)
    text = json.dumps(found)
    assert not [p for p in PHI if p in text], text
    env151 = [f for f in found if f["rule"] == "ENV151"]
    assert {f["found"] for f in env151} == {"NM1|…", "DMG …"}


def test_findings_never_carry_phi_even_with_show_phi(broken, tmp_path):
    """--show-phi unmasks the HTML claim panels and the segment text of findings (the
    segment as written, ``segment_text``): the other finding fields, which reach CSV,
    Parquet and JUnit too, never carry PHI. Outputs that show PHI are private (0600)."""
    found = _findings(broken, "--ig", "--show-phi")
    text = json.dumps([{k: v for k, v in f.items() if k != "segment_text"} for f in found],
                      ensure_ascii=False)
    assert not [p for p in PHI if p in text], text
    shown = json.dumps([f["segment_text"] for f in found])
    assert all(p in shown for p in PHI)  # --show-phi shows the segments as written
    res = CliRunner().invoke(main, ["check", str(broken), "--ig", "--show-phi", "-q",
                                    "--format", "csv,junit", "--report-dir", str(tmp_path)])
    assert res.exit_code == 1, res.output
    written = [p.suffix for p in report_files(tmp_path)]
    assert written == [".csv", ".xml"]  # the loop below checks both reports
    for out in report_files(tmp_path):
        body = out.read_text(encoding="utf-8")
        if out.suffix == ".csv":
            assert out.stat().st_mode & 0o077 == 0  # it shows PHI: for its owner only
            df = pl.read_csv(out, infer_schema=False)
            assert any(p in " ".join(df["segment_text"].drop_nulls()) for p in PHI)
            body = " ".join(str(v) for row in df.drop("segment_text").rows() for v in row)
        assert not [p for p in PHI if p in body], out.name
