"""`claims-validator ruleset lint`: one broken ruleset per problem kind; each message names
the key (and the line); the shipped rulesets are clean; `check --ruleset` refuses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import load_ruleset as load
from helpers import registry

from validator.cli import main
from validator.ruleset.model import RulesetError
from validator.tools.lint import lint

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "rulesets" / "kp-cigna.toml"
CHILD = '[ruleset]\nname = "office"\nextends = "kp-cigna"\n'


def write(tmp_path: Path, text: str, name: str = "office.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def problems(path: Path):
    return lint([path], registry()).problems


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# (kind, ruleset text, key path reported, words in the message, suggestion, line marker)
BROKEN = [
    ("misspelt key", CHILD + 'descripton = "x"\n', "ruleset.descripton", "unknown key",
     "description", "descripton"),
    ("misspelt section", CHILD + '[kpp]\nphone = "888.831.0761"\n', "kpp", "unknown key", "kp",
     "[kpp]"),
    ("misspelt nested key", CHILD + '[kp.identify]\npaterns = ["KFHP"]\n', "kp.identify.paterns",
     "unknown key", "patterns", "paterns"),
    ("wrong type", CHILD + "[kp]\nphone = 8888310761\n", "kp.phone", "must be a string", None,
     "phone"),
    ("wrong list type", CHILD + '[kp]\nkp_states = "CA"\n', "kp.kp_states", "must be a list", None,
     "kp_states"),
    ("impossible date", CHILD + '[kp.products.HMO]\neffective = "2022-02-30"\n',
     "kp.products.HMO.effective", "not a real date", None, "effective"),
    ("not a date", CHILD + '[kp.products.HMO]\neffective = "next year"\n',
     "kp.products.HMO.effective", "not a date", None, "effective"),
    ("unknown product", CHILD + '[kp.products.HMOO]\nname = "HMO"\n', "kp.products.HMOO",
     "unknown product", "HMO", "[kp.products.HMOO]"),
    ("unknown product in a list", CHILD + '[kp.regions.NW]\nexcluded_insured_products = '
     '["PPO", "POS4"]\n', "kp.regions.NW.excluded_insured_products[1]", "unknown product", None,
     "excluded_insured_products"),
    ("unknown region", CHILD + '[kp.regions.NWW]\nname = "Northwest"\n', "kp.regions.NWW",
     "unknown region", "NW", "[kp.regions.NWW]"),
    ("unknown severity", CHILD + '[rules.severity]\nKP101 = "fatal"\n', "rules.severity.KP101",
     "unknown severity", None, "KP101"),
    ("unknown code in select", CHILD + '[rules]\nselect = ["KP", "KP999"]\n', "rules.select[1]",
     "no rule code matches 'KP999'", None, "select"),
    ("unknown code in ignore", CHILD + '[rules]\nignore = ["ENV9"]\n', "rules.ignore[0]",
     "no rule code matches 'ENV9'", None, "ignore"),
    # Either would switch every rule off, and every claim would pass.
    ("empty select", CHILD + '[rules]\nselect = []\n', "rules.select", "at least 1", None,
     "select"),
    ("ignore ALL", CHILD + '[rules]\nignore = ["ALL"]\n', "rules.ignore[0]",
     "switch off every rule", None, "ignore"),
    ("list of names", CHILD + '[kp]\nkp_states = [1]\n', "kp.kp_states[0]", "must be", None,
     "kp_states"),
    ("unknown code in severity", CHILD + '[rules.severity]\nKP999 = "error"\n',
     "rules.severity.KP999", "no rule 'KP999'", None, "KP999"),
    ("prefix in severity", CHILD + '[rules.severity]\nKP10 = "error"\n', "rules.severity.KP10",
     "full codes", None, "KP10"),
    ("malformed pattern", CHILD + '[kp.identify]\nextra_patterns = ["KFHP", "KAISER*"]\n',
     "kp.identify.extra_patterns[1]", "malformed pattern", None, "extra_patterns"),
    ("malformed ZIP", CHILD + '[kp.routes.insured]\nzip = "3742"\n', "kp.routes.insured.zip",
     "ZIP code", None, "zip"),
    ("duplicate entry", CHILD + '[kp.identify]\nextra_patterns = ["KFHP", "kfhp"]\n',
     "kp.identify.extra_patterns[1]", "duplicate entry", None, "extra_patterns"),
    ("duplicate of an inherited entry", CHILD + '[kp.identify]\nextra_patterns = ["KAISER"]\n',
     "kp.identify.extra_patterns[0]", "already in kp.identify.patterns", None, "extra_patterns"),
    ("duplicate in a multi-line list", CHILD + '[kp.emergency]\nextra_procedures = [\n  "G0380",'
     '\n  "G0380",\n]\n', "kp.emergency.extra_procedures[1]", "duplicate entry", None,
     '"G0380",\n]'),
    ("extra_ without extends", '[ruleset]\nname = "solo"\n[rules]\nextra_ignore = ["KP161"]\n',
     "rules.extra_ignore", "extends none", None, "extra_ignore"),
    ("missing parent", '[ruleset]\nname = "office"\nextends = "kp-cignaa"\n', "ruleset.extends",
     "no ruleset 'kp-cignaa'", "kp-cigna", "extends"),
    ("missing parent path", '[ruleset]\nextends = "../nowhere/base.toml"\n', "ruleset.extends",
     "no ruleset", None, "extends"),
]


@pytest.mark.parametrize(("kind", "text", "key", "words", "suggestion", "marker"), BROKEN,
                         ids=[b[0] for b in BROKEN])
def test_each_problem_kind_names_the_key_and_line(tmp_path, kind, text, key, words, suggestion,
                                                  marker):
    path = write(tmp_path, text)
    found = problems(path)
    hits = [p for p in found if p.key == key]
    assert hits, f"{kind}: no problem at {key}; got {[p.render() for p in found]}"
    p = hits[0]
    assert words in p.message
    assert p.file == str(path)
    if "\n" in marker:  # the item's own line inside a multi-line list
        assert p.line == text[: text.index(marker)].count("\n") + 1
    else:
        assert p.line == line_of(text, marker)
    if suggestion:
        assert p.suggestion == suggestion
        assert f"did you mean {suggestion!r}" in p.render()
    assert key in p.render()


def test_all_problems_are_reported_not_just_the_first(tmp_path):
    text = (CHILD + 'versoin = "1"\n[rules]\nselect = ["ZZ1"]\n[kp]\nphone = 5\n'
            '[kp.products.PPO]\neffective = "2023-13-01"\n')
    keys = {p.key for p in problems(write(tmp_path, text))}
    assert {"ruleset.versoin", "rules.select[0]", "kp.phone", "kp.products.PPO.effective"} <= keys


def test_missing_required_keys_in_a_root_ruleset(tmp_path):
    text = SHIPPED.read_text(encoding="utf-8")
    phone = next(line for line in text.splitlines() if line.startswith("phone"))
    found = problems(write(tmp_path, text.replace(phone + "\n", ""), "root.toml"))
    assert [p.key for p in found] == ["kp.phone"]
    assert "required key 'phone' is missing" in found[0].message
    assert found[0].line == line_of(text, "[kp]")  # the table it belongs in


def test_partial_overrides_merge_but_new_tables_must_be_complete(tmp_path):
    # Tables merge key by key: overriding one key of an inherited table is fine…
    assert problems(write(tmp_path, CHILD + '[kp.routes.insured]\npayer_id = "62308"\n')) == []
    # …but a list a child replaces (here the plan keyword tables) is checked as a whole.
    text = CHILD + '[[kp.plan_keywords]]\nproduct = "HMO"\n'
    (p,) = problems(write(tmp_path, text))
    assert p.key == "kp.plan_keywords[0].keywords" and "required key 'keywords'" in p.message
    assert p.line == line_of(text, "[[kp.plan_keywords]]")


def test_toml_syntax_errors_have_a_line(tmp_path):
    text = CHILD + "[kp]\nphone = \n"
    (p,) = problems(write(tmp_path, text))
    assert p.kind == "syntax" and p.line == line_of(text, "phone") and "invalid TOML" in p.message


def test_native_impossible_date_is_a_syntax_error_with_its_line(tmp_path):
    text = CHILD + "[kp.products.HMO]\neffective = 2022-02-30\n"
    (p,) = problems(write(tmp_path, text))
    assert p.line == line_of(text, "effective") and "date" in p.message


def test_keys_defined_twice_are_named_with_both_lines(tmp_path):
    text = CHILD + '[kp]\nphone = "1"\nphone = "2"\n'
    (p,) = problems(write(tmp_path, text))
    assert p.key == "kp.phone" and p.line == line_of(text, '"2"')
    first = line_of(text, 'phone = "1"')
    assert f"first on line {first}" in p.message


def test_extends_cycle(tmp_path):
    write(tmp_path, '[ruleset]\nextends = "b"\n', "a.toml")
    write(tmp_path, '[ruleset]\nextends = "./a.toml"\n', "b.toml")
    found = problems(tmp_path / "a.toml")
    assert any(p.key == "ruleset.extends" and "cycle" in p.message for p in found)


def test_problems_in_a_parent_name_the_parent_file(tmp_path):
    write(tmp_path, CHILD + '[kp]\nphone = 5\n', "base.toml")
    child = write(tmp_path, '[ruleset]\nextends = "base"\n', "child.toml")
    (p,) = problems(child)
    assert p.file == str(tmp_path / "base.toml") and p.key == "kp.phone" and p.line == 5


def test_shipped_rulesets_are_clean():
    result = lint([ROOT / "rulesets"], registry())
    assert result.problems == []
    names = {f.name for f in result.files}
    assert {"kp-cigna.toml", "acme-billing.toml"} <= names
    assert not any("tests" in f.parts for f in result.files)  # case files are not rulesets


def test_cli_exit_codes_text_and_json(tmp_path):
    bad = write(tmp_path, CHILD + "[kp]\nphone = 5\n")
    runner = CliRunner()
    clean = runner.invoke(main, ["ruleset", "lint", str(ROOT / "rulesets")])
    assert clean.exit_code == 0, clean.output
    assert "All checks passed" in clean.output
    res = runner.invoke(main, ["ruleset", "lint", str(bad)])
    assert res.exit_code == 1
    assert f"{bad}:5: kp.phone: must be a string" in res.output
    assert "Found 1 problem" in res.output
    res = runner.invoke(main, ["ruleset", "lint", "--format", "json", str(bad), str(SHIPPED)])
    assert res.exit_code == 1
    doc = json.loads(res.output)
    assert doc["problem_count"] == 1
    assert doc["problems"][0] == {"file": str(bad), "line": 5, "key": "kp.phone", "kind": "type",
                                  "message": "must be a string, not an integer (5)",
                                  "suggestion": None}
    missing = runner.invoke(main, ["ruleset", "lint", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_folder_lint_skips_tests_folders(tmp_path):
    write(tmp_path, CHILD)
    (tmp_path / "tests" / "office").mkdir(parents=True)
    write(tmp_path / "tests" / "office", '[case]\nedi = "x.edi"\n[claims]\n', "case.toml")
    result = lint([tmp_path], registry())
    assert [f.name for f in result.files] == ["office.toml"] and result.problems == []
    # The tests/ folder itself named: its case files are not rulesets either.
    assert lint([tmp_path / "tests"], registry()).files == []


def test_load_refuses_a_broken_ruleset_naming_the_key(tmp_path):
    bad = write(tmp_path, CHILD + '[kp.products.HMOO]\nname = "x"\n')
    with pytest.raises(RulesetError) as exc:
        load(str(bad))
    assert "kp.products.HMOO" in str(exc.value) and "did you mean 'HMO'" in str(exc.value)


def test_check_refuses_a_broken_ruleset_without_a_traceback(tmp_path):
    bad = write(tmp_path, CHILD + '[rules.severity]\nKP101 = "fatal"\n')
    edi = ROOT / "rulesets" / "tests" / "kp-cigna" / "kp100-payer-id.edi"
    res = CliRunner().invoke(main, ["check", str(edi), "--ruleset", str(bad), "--format", "json",
                                    "--no-ig", "-q"])
    assert res.exit_code == 2
    assert "rules.severity.KP101" in res.output and "unknown severity 'fatal'" in res.output
    assert "Traceback" not in res.output
