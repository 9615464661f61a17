"""`claims-validator ruleset test`: the shipped kp-cigna cases and the acme-billing example
pass; a wrong expectation fails with exit 1 and a clear diff; JUnit output."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner
from helpers import all_rules

from tests import ruleset_helpers as H
from validator.cli import main
from validator.tools.cases import collect_cases, run_case

ROOT = Path(__file__).resolve().parents[1]
RULESETS = ROOT / "rulesets"
KP_CASES = sorted((RULESETS / "tests" / "kp-cigna").glob("*.toml"))


def invoke(*args: str):
    return CliRunner().invoke(main, ["ruleset", "test", *args])


@pytest.mark.parametrize("case", KP_CASES, ids=[p.stem for p in KP_CASES])
def test_shipped_kp_cigna_case(case, registry):
    res = run_case(case, registry)
    assert res.status == "pass", "\n".join(res.diffs)
    assert res.ruleset == "kp-cigna" and res.claims > 0


def test_every_kp_rule_fires_and_stays_silent_in_the_shipped_cases():
    kp_codes = {c for c in all_rules() if c.startswith("KP")}
    fired: set[str] = set()
    silent: set[str] = set()
    for case in KP_CASES:
        claims = tomllib.loads(case.read_text(encoding="utf-8"))["claims"]
        for codes in claims.values():
            fired |= set(codes)
            silent |= kp_codes - set(codes)
    assert fired == kp_codes
    assert silent == kp_codes
    # one case file per rule, each with claims where it fires and where it must not
    for code in sorted(kp_codes):
        (case,) = [p for p in KP_CASES if p.stem.startswith(code.lower())]
        claims = tomllib.loads(case.read_text(encoding="utf-8"))["claims"]
        assert any(code in v for v in claims.values()), case
        assert any(code not in v for v in claims.values()), case


def test_whole_rulesets_folder_passes_like_ci():
    res = invoke(str(RULESETS))
    assert res.exit_code == 0, res.output
    assert f"{len(KP_CASES) + 3} cases: {len(KP_CASES) + 3} passed, 0 failed" in res.output


def test_a_ruleset_file_runs_its_own_cases():
    res = invoke(str(RULESETS / "examples" / "acme-billing.toml"))
    assert res.exit_code == 0, res.output
    assert "3 cases: 3 passed" in res.output and "(acme-billing, " in res.output


def test_committed_case_files_are_up_to_date():
    stale = [str(p.relative_to(ROOT)) for p, text in H.expected_files().items()
             if not p.is_file() or p.read_text(encoding="ascii") != text]
    assert not stale, f"regenerate with `python -m tests.ruleset_helpers`: {stale}"


@pytest.fixture
def acme_copy(tmp_path: Path) -> Path:
    """The worked example copied into a team's own repository layout."""
    repo = tmp_path / "repo" / "rulesets"
    (repo / "tests").mkdir(parents=True)
    shutil.copy(RULESETS / "examples" / "acme-billing.toml", repo / "acme-billing.toml")
    shutil.copytree(RULESETS / "examples" / "tests" / "acme-billing", repo / "tests" / "acme-billing")
    return repo


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_copied_example_is_green_in_a_team_repo(acme_copy):
    res = invoke(str(acme_copy))
    assert res.exit_code == 0, res.output
    lint = CliRunner().invoke(main, ["ruleset", "lint", str(acme_copy)])
    assert lint.exit_code == 0, lint.output


def test_wrong_expectation_fails_with_a_clear_diff(acme_copy):
    case = acme_copy / "tests" / "acme-billing" / "acme-emergency.toml"
    edit(case, '"ACME-OFFICE-VISIT" = ["KP140"]', '"ACME-OFFICE-VISIT" = ["KP150"]')
    edit(case, '"ACME-G0380-OK" = []', '"ACME-G0380-OK" = ["KP140"]')
    res = invoke(str(acme_copy))
    assert res.exit_code == 1
    assert f"FAIL  {case}" in res.output
    assert ("claim 'ACME-OFFICE-VISIT': missing KP150 (expected, not raised); unexpected KP140 "
            "(raised, not expected)") in res.output
    assert "claim 'ACME-G0380-OK': missing KP140 (expected, not raised)" in res.output
    assert "3 cases: 2 passed, 1 failed" in res.output


def test_a_rule_override_breaks_a_case_until_the_expectation_follows(acme_copy):
    ruleset = acme_copy / "acme-billing.toml"
    edit(ruleset, 'extra_ignore = ["KP161"]', 'extra_ignore = ["KP161", "KP140"]')
    res = invoke(str(acme_copy))
    assert res.exit_code == 1
    assert "claim 'ACME-OFFICE-VISIT': missing KP140" in res.output
    case = acme_copy / "tests" / "acme-billing" / "acme-emergency.toml"
    edit(case, '"ACME-OFFICE-VISIT" = ["KP140"]', '"ACME-OFFICE-VISIT" = []')
    assert invoke(str(acme_copy)).exit_code == 0


def test_severity_expectations(acme_copy):
    case = acme_copy / "tests" / "acme-billing" / "acme-severity.toml"
    edit(case, '["KP101:error"]', '["KP101:warning"]')
    res = invoke(str(case))
    assert res.exit_code == 1
    assert "claim 'ACME-ADDRESS-IS-AN-ERROR': KP101 raised as error, expected warning" in res.output


def test_claims_missing_from_either_side(acme_copy):
    case = acme_copy / "tests" / "acme-billing" / "acme-emergency.toml"
    edit(case, '"ACME-G0380-OK" = []', '"ACME-GHOST" = []')
    res = invoke(str(case))
    assert res.exit_code == 1
    assert "claim 'ACME-G0380-OK' is in the EDI file but not in [claims]" in res.output
    assert "claim 'ACME-GHOST' is in [claims] but not in the EDI file" in res.output


def test_broken_case_files_are_errors_naming_the_key(acme_copy):
    folder = acme_copy / "tests" / "acme-billing"
    edit(folder / "acme-emergency.toml", 'only = "KP"', 'onyl = "KP"')
    edit(folder / "acme-severity.toml", '["KP101:error"]', '["KP999"]')
    (folder / "broken.toml").write_text("[case\n", encoding="utf-8")
    res = invoke(str(acme_copy))
    assert res.exit_code == 1
    assert "case.onyl: unknown key 'onyl' in [case] (did you mean 'only'?)" in res.output
    assert "claims.ACME-ADDRESS-IS-AN-ERROR[0]: no rule 'KP999'" in res.output
    assert f"ERROR {folder / 'broken.toml'}" in res.output
    assert "1 passed, 0 failed, 3 errors" in res.output


def test_missing_edi_and_unknown_ruleset(tmp_path):
    folder = tmp_path / "tests" / "nosuch"
    folder.mkdir(parents=True)
    (folder / "a.toml").write_text('[case]\nedi = "a.edi"\n[claims]\n', encoding="utf-8")
    shutil.copy(RULESETS / "tests" / "kp-cigna" / "kp150-cost-share.edi", folder / "a.edi")
    res = invoke(str(tmp_path))
    assert res.exit_code == 1 and "no ruleset 'nosuch' for folder tests/nosuch/" in res.output
    (folder / "a.toml").write_text('[case]\nedi = "b.edi"\nruleset = "kp-cigna"\n[claims]\n',
                                   encoding="utf-8")
    res = invoke(str(tmp_path))
    assert res.exit_code == 1 and "case.edi: no such file" in res.output


def test_nothing_to_test_is_a_usage_error(tmp_path):
    res = invoke(str(tmp_path))
    assert res.exit_code == 2 and "no test cases found" in res.output
    assert invoke(str(tmp_path / "missing")).exit_code == 2


def test_junit_report(acme_copy, tmp_path):
    case = acme_copy / "tests" / "acme-billing" / "acme-emergency.toml"
    edit(case, '"ACME-OFFICE-VISIT" = ["KP140"]', '"ACME-OFFICE-VISIT" = []')
    out = tmp_path / "junit.xml"
    res = invoke(str(acme_copy), "--format", "junit", "-o", str(out))
    assert res.exit_code == 1
    assert "3 cases: 2 passed, 1 failed" in res.output  # summary on stderr
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("errors") == "0"
    cases = suite.findall("testcase")
    assert {c.get("classname") for c in cases} == {"ruleset.acme-billing"}
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == [str(case)]
    assert "unexpected KP140" in failed[0].find("failure").text


def test_collect_cases_from_files_folders_and_rulesets():
    acme = RULESETS / "examples" / "acme-billing.toml"
    assert len(collect_cases([acme])) == 3
    assert len(collect_cases([RULESETS / "tests"])) == len(KP_CASES)
    one = KP_CASES[0]
    assert collect_cases([one, one]) == [one]


def test_non_utf8_case_file_is_an_error_and_the_others_still_run(acme_copy):
    folder = acme_copy / "tests" / "acme-billing"
    latin1 = folder / "latin1.toml"
    latin1.write_bytes('[case]\ndescription = "café"\n'.encode("latin-1"))
    (acme_copy / "latin1-ruleset.toml").write_bytes('name = "café"\n'.encode("latin-1"))
    for args in ([str(acme_copy)], [str(latin1)]):
        res = invoke(*args)
        assert res.exit_code == 1, res.output
        assert "internal error" not in res.output and "Traceback" not in res.output
        assert f"ERROR {latin1}\n      cannot read the case file: not UTF-8 text" in res.output
    assert "3 passed, 0 failed, 1 error" in invoke(str(acme_copy)).output
    lint = CliRunner().invoke(main, ["ruleset", "lint", str(acme_copy)])
    assert lint.exit_code == 1 and "latin1-ruleset.toml: (file): not UTF-8 text" in lint.output


@pytest.mark.parametrize("command", [["lint"], ["test"], ["show"]])
def test_ruleset_commands_accept_verbose(command):
    target = str(RULESETS / "examples" / "acme-billing.toml")
    res = CliRunner().invoke(main, ["ruleset", *command, "-vv", target])
    assert res.exit_code == 0, res.output


def test_case_ruleset_name_is_found_beside_the_tests_folder(acme_copy):
    """``[case] ruleset = "<name>"`` resolves like the tests/<name>/ folder does: a case kept
    under another folder still finds the team's ruleset by name."""
    src = acme_copy / "tests" / "acme-billing"
    other = acme_copy / "tests" / "other"
    other.mkdir()
    for f in src.glob("acme-severity.*"):
        (other / f.name).write_bytes(f.read_bytes())
    edit(other / "acme-severity.toml", "[case]\n", '[case]\nruleset = "acme-billing"\n')
    res = invoke(str(other / "acme-severity.toml"))
    assert res.exit_code == 0, res.output
    assert "(acme-billing, 3 claims)" in res.output
    edit(other / "acme-severity.toml", 'ruleset = "acme-billing"', 'ruleset = "acme-bill"')
    res = invoke(str(other / "acme-severity.toml"))
    assert res.exit_code == 1 and "no ruleset 'acme-bill'" in res.output
