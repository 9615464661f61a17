"""The generic rules on the shared corpus (real-world sample files) and through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import polars as pl
from click.testing import CliRunner
from edi_builder import build, claim
from generic_helpers import GENERIC
from helpers import registry

from validator.cli import main
from validator.engine import Selection, check, collect_inputs
from validator.rules.api import RunOptions


def test_corpus_runs_with_generic_rules(corpus, ruleset):
    files = collect_inputs([str(corpus)])
    res = check(files, ruleset, Selection(select=list(GENERIC)), RunOptions())
    f = res.findings
    assert f.height > 0  # real sample files do trip generic edits
    # Every finding is a generic rule with a position and a message.
    assert set(f["rule"].str.slice(0, 3).unique()) <= {"BAL", "SIT", "COD", "DUP"}
    assert f["message"].null_count() == 0 and f["segment_index"].null_count() == 0
    assert f["snip_level"].is_between(3, 5).all()
    # Findings on claims point at claims of supported transactions only.
    keys = res.batch.claims.filter(pl.col("supported"))["claim_key"]
    assert f.filter(pl.col("claim_key").is_not_null())["claim_key"].is_in(keys.implode()).all()


def test_corpus_cli_json_with_generic_rules(corpus, repo):
    env = {**os.environ, "PYTHONPATH": str(repo)}
    out = subprocess.run([sys.executable, "-m", "validator", "check", str(corpus),
                          "--format", "json", "--no-ig", "-q"], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode in (0, 1), out.stderr
    doc = json.loads(out.stdout)
    generic = [x for x in doc["findings"] if x["rule"][:3] in ("BAL", "SIT", "COD", "DUP")]
    assert generic and all(isinstance(x["snip_level"], int) for x in generic)


def test_rules_command_lists_generic_rules():
    out = CliRunner().invoke(main, ["rules"])
    assert out.exit_code == 0
    for code in ("BAL301", "SIT404", "CODE505", "DUP402"):
        assert code in out.output
    line = next(x for x in out.output.splitlines() if x.startswith("SIT404"))
    assert "error" in line and " 4 " in line and "generic" in line


def test_rules_command_shows_one_rule_doc():
    out = CliRunner().invoke(main, ["rules", "sit401"])
    assert out.exit_code == 0
    assert "# SIT401" in out.output and "SNIP level: 4" in out.output
    for section in ("## What it does", "## Why is this bad?", "## Example", "## How to fix"):
        assert section in out.output
    doc = json.loads(CliRunner().invoke(main, ["rules", "CODE504", "--format", "json"]).output)
    assert doc["snip_level"] == 5 and doc["family"] == "generic"


def test_select_and_ignore_generic_prefixes(tmp_path):
    bad = build("P").replace("N4*HOUSTON*TX*770301234", "N4*HOUSTON*TX*77030")
    bad = bad.replace("CLM*PCN001*150*", "CLM*PCN001*151*")
    p = tmp_path / "bad.837"
    p.write_text(bad)
    runner = CliRunner()

    def rules(*args: str) -> set[str]:
        out = runner.invoke(main, ["check", str(p), "--format", "json", "--no-ig", "-q", *args])
        assert out.exit_code in (0, 1), out.output
        return {x["rule"] for x in json.loads(out.stdout)["findings"]}

    assert {"SIT402", "BAL301"} <= rules()
    assert rules("--select", "BAL") == {"BAL301"}
    assert "BAL301" not in rules("--ignore", "BAL3")
    assert rules("--select", "SIT402,BAL301", "--ignore", "SIT") == {"BAL301"}


def test_rules_command_lists_a_family_by_prefix():
    out = CliRunner().invoke(main, ["rules", "code5"])
    assert out.exit_code == 0
    codes = [x.split()[0] for x in out.output.splitlines()[1:]]
    family = sorted(c for c in registry().rules if c.startswith("CODE5"))
    assert codes == family and {"CODE501", "CODE509", "CODE520"} <= set(codes)
    assert not any(c.startswith("CODE4") for c in codes)


def test_ruleset_overrides_generic_rules(tmp_path):
    rs = tmp_path / "strict.toml"
    rs.write_text('[ruleset]\nname = "strict"\nversion = "1"\n\n[rules]\nignore = ["SIT402"]\n'
                  '[rules.severity]\nDUP402 = "error"\n')
    text = build("P", claims=[claim("P", "A1"), claim("P", "A2")])
    text = text.replace("N4*HOUSTON*TX*770301234", "N4*HOUSTON*TX*77030")
    p = tmp_path / "dups.837"
    p.write_text(text)
    out = CliRunner().invoke(main, ["check", str(p), "--format", "json", "--no-ig", "-q",
                                    "--ruleset", str(rs)])
    doc = json.loads(out.stdout)
    rules = {x["rule"]: x for x in doc["findings"]}
    assert "SIT402" not in rules
    assert rules["DUP402"]["severity"] == "error" and rules["DUP402"]["snip_level"] == 4
    assert out.exit_code == 1


def test_unsupported_and_unreadable_inputs_are_skipped(tmp_path):
    from generic_helpers import run

    bad = build("P", claims=[claim("P", total="999")]).replace("N4*HOUSTON*TX*770301234",
                                                               "N4*HOUSTON*TX*77030")
    old = bad.replace("005010X222A1", "004010X098A1")  # 4010 claims are listed, not checked
    found = run([old, "not an X12 file\n", build("I")], tmp_path)
    assert found.height == 0
    found = run([old, bad], tmp_path)
    assert {"BAL301", "SIT402"} <= set(found["rule"]) and set(found["file_id"]) == {1}
