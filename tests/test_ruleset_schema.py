"""The schema building blocks, the TOML line locator and the TOML writer of `ruleset show`."""

from __future__ import annotations

import datetime as dt
import tomllib

from helpers import all_rules as load_all

from validator.ruleset.schema import (
    AnyOf,
    Date,
    Field,
    Int,
    ListOf,
    Regex,
    RuleCode,
    Str,
    Table,
    Walk,
    format_path,
    suggest,
)
from validator.ruleset.toml import TomlIndex, dumps, syntax_position


def run(spec, value, registry=None):
    return list(spec.check(value, ("x",), Walk(registry)))


def test_regex_spec_compiles_patterns():
    (p,) = run(Regex(), "KAISER(")
    assert "malformed pattern" in p.message and "missing )" in p.message
    assert run(Regex(), r"\bKP\b") == []
    assert run(Regex(), 3)[0].kind == "type"


def test_int_bounds_and_bool_is_not_int():
    assert run(Int(1, 9), 5) == []
    assert "out of range" in run(Int(1, 9), 10)[0].message
    assert run(Int(), True)[0].message.startswith("must be an integer, not a boolean")


def test_date_forms():
    assert run(Date(), dt.date(2023, 1, 1)) == [] and run(Date(), "2023-01-01") == []
    assert "not a real date" in run(Date(), "2023-02-29")[0].message
    assert "date-time" in run(Date(), dt.datetime(2023, 1, 1))[0].message


def test_any_of_and_list_items():
    spec = AnyOf((Str(), ListOf(Str())), (str, list))
    assert run(spec, "a") == [] and run(spec, ["a", "b"]) == []
    assert run(spec, ["a", 1])[0].path == ("x", 1)
    assert run(spec, 3)[0].message.startswith("must be a string or a list of strings")


def test_rule_codes_by_prefix_and_exact():
    reg = load_all()
    assert run(ListOf(RuleCode()), ["ALL", "KP", "ENV1", "KP100"], reg) == []
    (p,) = run(RuleCode(), "KP9", reg)
    assert "no rule code matches 'KP9'" in p.message
    (p,) = run(RuleCode(exact=True), "KP10", reg)
    assert "full codes (KP100, KP101" in p.message
    (p,) = run(RuleCode(exact=True), "KP1400", reg)
    assert p.suggestion == "KP140"


def test_unknown_keys_suggest_and_tables_report_every_problem():
    spec = Table({"name": Field(Str(), required=True), "count": Field(Int())})
    found = run(spec, {"nmae": "x", "count": "3"})
    assert [(p.key, p.kind) for p in found] == [("x.nmae", "unknown-key"), ("x.count", "type"),
                                                ("x.name", "missing")]
    assert found[0].suggestion == "name"
    assert suggest("ppo", ["HMO", "PPO"]) == "PPO"


def test_format_path_quotes_odd_keys():
    assert format_path(("kp", "routes", "self-funded", "zip")) == "kp.routes.self-funded.zip"
    assert format_path(("rules", "select", 2)) == "rules.select[2]"
    assert format_path(("claims", "A B")) == 'claims."A B"'


TEXT = '''# comment = not a key
[ruleset]
name = "x"   # trailing comment
note = """
fake = 1
"""

[kp.identify]
patterns = [
  "KAISER",  # first
  "KP",
]
inline = { a = 1, "b c" = [1, 2] }
"quoted key" = 1

[[kp.plan_keywords]]
product = "HMO"

[[kp.plan_keywords]]
product = "PPO"
keywords = ["PPO"]
'''


def test_index_locates_keys_items_and_array_tables():
    ix = TomlIndex(TEXT)
    assert ix.lines[("ruleset",)] == 2
    assert ix.lines[("ruleset", "name")] == 3
    assert ("fake",) not in ix.lines and ("ruleset", "fake") not in ix.lines
    assert ix.lines[("kp", "identify", "patterns", 0)] == 10
    assert ix.lines[("kp", "identify", "patterns", 1)] == 11
    assert ix.lines[("kp", "identify", "inline", "b c", 1)] == 13
    assert ix.lines[("kp", "identify", "quoted key")] == 14
    assert ix.lines[("kp", "plan_keywords", 1, "keywords")] == 21
    assert ix.locate(("kp", "plan_keywords", 0, "keywords")) == (3, 16)
    assert ix.locate(("nowhere",)) == (0, None)
    assert ix.duplicates == []
    assert TomlIndex('a = 1\n[t]\nb = 2\n[t]\na = 3\n').duplicates == [(("t",), 2, 4)]


def test_syntax_position():
    assert syntax_position("Invalid value (at line 4, column 9)") == ("Invalid value", 4)
    assert syntax_position("Cannot overwrite a value (at end of document)") == (
        "Cannot overwrite a value", None)


def test_dumps_round_trips():
    data = tomllib.loads(TEXT)
    data["kp"]["dates"] = {"from": dt.date(2022, 8, 1)}
    data["long"] = [f"item-{i:03d}" for i in range(30)]
    assert tomllib.loads(dumps(data)) == data
