"""Rulesets that extend each other: merge semantics, `extra_*` lists, overrides, `ruleset
show`, and `check --ruleset` taking the effective result."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import load_ruleset as load

from validator.cli import main
from validator.ruleset.model import RulesetError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "rulesets" / "kp-cigna.toml"
ACME = ROOT / "rulesets" / "examples" / "acme-billing.toml"
ACME_TESTS = ROOT / "rulesets" / "examples" / "tests" / "acme-billing"


def write(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_child_inherits_and_adds_to_lists():
    base, acme = load("kp-cigna"), load(str(ACME))
    patterns = base.data["kp"]["identify"]["patterns"]
    assert acme.data["kp"]["identify"]["patterns"] == [*patterns, "KFHP", "KAISER FOUNDATION"]
    procs = acme.data["kp"]["emergency"]["procedures"]
    assert procs[: len(base.data["kp"]["emergency"]["procedures"])] == \
        base.data["kp"]["emergency"]["procedures"]
    assert "G0380" in procs
    # everything else is inherited untouched
    assert acme.data["kp"]["routes"] == base.data["kp"]["routes"]
    assert acme.data["kp"]["regions"] == base.data["kp"]["regions"]
    assert "extra_patterns" not in acme.data["kp"]["identify"]
    assert acme.severity == {"KP101": "error"}
    assert acme.ignore == ["KP161"]
    assert acme.parents == [str(SHIPPED)]


def test_header_is_not_inherited(tmp_path):
    child = write(tmp_path, "office.toml", '[ruleset]\nextends = "kp-cigna"\n')
    rs = load(str(child))
    assert rs.name == "office" and rs.version == "0" and rs.description == ""
    assert "extends" not in rs.data["ruleset"]


def test_scalars_and_lists_replace_tables_merge(tmp_path):
    child = write(tmp_path, "office.toml", '[ruleset]\nname = "office"\nextends = "kp-cigna"\n'
                  '[kp]\nphone = "800.555.0100"\nkp_states = ["CA"]\n'
                  '[kp.routes.insured]\npayer_id = "99999"\n')
    base, rs = load("kp-cigna"), load(str(child))
    kp = rs.data["kp"]
    assert kp["phone"] == "800.555.0100"
    assert kp["kp_states"] == ["CA"]  # a list given without extra_ replaces the parent's
    assert kp["routes"]["insured"]["payer_id"] == "99999"
    assert kp["routes"]["insured"]["address"] == base.data["kp"]["routes"]["insured"]["address"]


def test_extra_list_after_a_replaced_list(tmp_path):
    child = write(tmp_path, "office.toml", '[ruleset]\nextends = "kp-cigna"\n[kp.identify]\n'
                  'patterns = ["KAISER"]\nextra_patterns = ["KFHP"]\n')
    assert load(str(child)).data["kp"]["identify"]["patterns"] == ["KAISER", "KFHP"]


def test_extra_appends_to_the_default_when_the_parent_has_none(tmp_path):
    child = write(tmp_path, "office.toml", '[ruleset]\nextends = "kp-cigna"\n[rules]\n'
                  'extra_select = ["KP"]\nextra_ignore = ["KP150"]\n')
    rs = load(str(child))
    assert rs.select == ["ALL", "KP"]  # not "only KP": the parent selects everything
    assert rs.ignore == ["KP150"]


def test_three_levels_and_relative_paths(tmp_path):
    write(tmp_path, "shared/region.toml", '[ruleset]\nextends = "kp-cigna"\n[rules]\n'
          'extra_ignore = ["KP161"]\n[kp.identify]\nextra_patterns = ["KFHP"]\n')
    leaf = write(tmp_path, "office/leaf.toml", '[ruleset]\nname = "leaf"\n'
                 'extends = "../shared/region.toml"\n[rules]\nextra_ignore = ["KP150"]\n'
                 '[kp.identify]\nextra_patterns = ["KAISER FOUNDATION"]\n')
    rs = load(str(leaf))
    assert rs.ignore == ["KP161", "KP150"]
    assert rs.data["kp"]["identify"]["patterns"][-2:] == ["KFHP", "KAISER FOUNDATION"]
    assert rs.parents == [str(tmp_path / "office" / "../shared/region.toml"), str(SHIPPED)]


def test_a_name_resolves_beside_the_file_before_the_shipped_ones(tmp_path):
    write(tmp_path, "kp-cigna.toml", SHIPPED.read_text(encoding="utf-8").replace(
        '"888.831.0761"', '"800.555.0199"'))
    child = write(tmp_path, "office.toml", '[ruleset]\nextends = "kp-cigna"\n')
    assert load(str(child)).data["kp"]["phone"] == "800.555.0199"


def test_cycles_and_missing_parents_are_errors(tmp_path):
    write(tmp_path, "a.toml", '[ruleset]\nextends = "b"\n')
    write(tmp_path, "b.toml", '[ruleset]\nextends = "a"\n')
    with pytest.raises(RulesetError, match="extends cycle"):
        load(str(tmp_path / "a.toml"))
    write(tmp_path, "c.toml", '[ruleset]\nextends = "kp-cigan"\n')
    with pytest.raises(RulesetError, match=r"ruleset\.extends: no ruleset 'kp-cigan'.*"
                                            r"did you mean 'kp-cigna'"):
        load(str(tmp_path / "c.toml"))


def test_show_prints_the_effective_ruleset_as_toml_and_json():
    runner = CliRunner()
    res = runner.invoke(main, ["ruleset", "show", str(ACME)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("# Effective ruleset 'acme-billing'")
    shown = tomllib.loads(res.output)
    assert shown == load(str(ACME)).data
    assert "KFHP" in shown["kp"]["identify"]["patterns"]
    res = runner.invoke(main, ["ruleset", "show", str(ACME), "--format", "json"])
    doc = json.loads(res.output)
    assert doc["extends"] == [str(SHIPPED)]
    assert doc["ruleset"]["rules"]["severity"] == {"KP101": "error"}
    assert doc["ruleset"]["kp"]["products"]["HMO"]["effective"] == "2022-08-01"
    shipped = runner.invoke(main, ["ruleset", "show"])
    assert tomllib.loads(shipped.output) == tomllib.loads(SHIPPED.read_text(encoding="utf-8"))


def test_show_refuses_a_broken_ruleset(tmp_path):
    bad = write(tmp_path, "bad.toml", '[ruleset]\nextends = "kp-cigna"\n[kp]\nphon = "1"\n')
    res = CliRunner().invoke(main, ["ruleset", "show", str(bad)])
    assert res.exit_code == 2 and "kp.phon" in res.output and "did you mean 'phone'" in res.output


def _kp_codes(edi: Path, *args: str) -> dict[str, list[str]]:
    res = CliRunner().invoke(main, ["check", str(edi), "--format", "json", "--no-ig", "-q",
                                    "--fail-on", "never", *args])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    out: dict[str, list[str]] = {}
    for f in doc["findings"]:
        if f["rule"].startswith("KP"):
            out.setdefault(f["rule"], []).append(f["severity"])
    return out


def test_check_takes_the_effective_ruleset():
    # Only the child knows KFHP: the same file raises KP100 only under acme-billing.
    ident = ACME_TESTS / "acme-identification.edi"
    assert "KP100" not in _kp_codes(ident)
    assert _kp_codes(ident, "--ruleset", str(ACME)) == {"KP100": ["error"]}
    # Severity override and ignore
    sev = ACME_TESTS / "acme-severity.edi"
    shipped = _kp_codes(sev)
    assert shipped["KP101"] == ["warning"] and "KP161" in shipped
    child = _kp_codes(sev, "--ruleset", str(ACME))
    assert child["KP101"] == ["error"] and "KP161" not in child
    # Extra emergency procedure codes
    emer = ACME_TESTS / "acme-emergency.edi"
    assert _kp_codes(emer)["KP140"] == ["error", "error"]
    assert _kp_codes(emer, "--ruleset", str(ACME))["KP140"] == ["error"]


def test_shipped_rulesets_travel_as_package_data():
    """A wheel install (not only `pip install -e`) finds the default ruleset: the shipped
    folder sits in the package (validator/rulesets links to rulesets/) and pyproject lists
    it as package data."""
    import tomllib

    import validator
    from validator.rules.builtin import SHIPPED_DIR

    packaged = Path(validator.__file__).resolve().parent / "rulesets"
    assert (packaged / "kp-cigna.toml").is_file() and SHIPPED_DIR == packaged.resolve()
    root = Path(__file__).resolve().parents[1]
    with (root / "pyproject.toml").open("rb") as fh:
        data = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["validator"]
    assert "rulesets/*" in data
