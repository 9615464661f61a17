"""Rule docs quote ruleset facts through Jinja2 (``{{ kp.phone }}``), never as literal text.

Every rule's docs render against every shipped ruleset; the KP docs show the active ruleset's
payer IDs, addresses, phone, dates and codes, and follow a ruleset that changes them.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner

from validator.cli import main
from validator.rules.api import Rule
from validator.rules.registry import discover
from validator.ruleset.load import load

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted([*ROOT.glob("rulesets/*.toml"), *ROOT.glob("rulesets/examples/*.toml")])
REGISTRY = discover()
KP_RULES = sorted(c for c, r in REGISTRY.rules.items() if r.family == "kp")
# Jinja2 syntax that must not survive rendering (nor sit in a doc that is never rendered).
JINJA = ("{{", "}}", "{%", "%}", "{#", "#}")


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT / "rulesets"))


@pytest.fixture(scope="module", params=SHIPPED, ids=_id)
def ruleset(request):
    return load(str(request.param), REGISTRY)


def _flat(text: str) -> str:
    """Whitespace collapsed: rendered docs wrap wherever the template put its line breaks."""
    return " ".join(text.split())


def _routes(rs) -> dict:
    return rs.data["kp"]["routes"]


def _mailing(route: dict) -> str:
    return (f"{route['payer_name']}, {route['address']}, {route['city']}, {route['state']} "
            f"{route['zip']}")


def test_shipped_rulesets_found():
    names = {p.name for p in SHIPPED}
    assert {"kp-cigna.toml", "acme-billing.toml"} <= names
    assert {"KP100", "KP101", "KP110", "KP120", "KP130", "KP140", "KP150", "KP160",
            "KP161"} <= set(KP_RULES)


@pytest.mark.parametrize("code", sorted(REGISTRY.rules))
def test_every_rule_renders(ruleset, code):
    r = REGISTRY.rules[code]
    text = r.render(ruleset)  # StrictUndefined: a key the ruleset lacks raises
    assert text.strip(), code
    for mark in JINJA:
        assert mark not in text, f"{code} rendered with {ruleset.name} still contains {mark!r}"
    # Sections the report and `rules` show (a ## heading inside a template would vanish).
    assert r.section("What it does", ruleset), code


@pytest.mark.parametrize("code", sorted(REGISTRY.rules))
def test_template_syntax_only_where_rendered(code):
    """``Rule.render`` only renders docs containing ``{{``: any other Jinja2 mark would be
    shown raw, and literal braces in a rendered doc would be read as Jinja2."""
    doc = REGISTRY.rules[code].doc
    if "{{" not in doc:
        assert not any(m in doc for m in JINJA), code
    else:
        jinja2.Environment().parse(doc)  # well-formed


def test_render_is_strict():
    """A doc naming a key the ruleset lacks fails loudly (so the test above can fail)."""
    rs = load("kp-cigna", REGISTRY)
    bad = Rule("KP999", "t", "error", 7, "kp", None, "## What it does\nCall {{ kp.no_such_key }}.")
    with pytest.raises(jinja2.UndefinedError):
        bad.render(rs)


@pytest.mark.parametrize("code", ["KP100", "KP101"])
def test_payer_docs_show_the_ruleset_routes(ruleset, code):
    text = _flat(REGISTRY.rules[code].render(ruleset))
    for funding, route in _routes(ruleset).items():
        assert _mailing(route) in text, (code, funding)
        assert f"payer ID {route['payer_id']}" in text, (code, funding)
    if code == "KP100":
        assert f"eligibility at {ruleset.data['kp']['phone']}" in text
        for word in ruleset.data["kp"]["identify"]["self_funded"]:
            assert f"`{word}`" in text


def test_kp_docs_show_the_ruleset_facts(ruleset):
    kp = ruleset.data["kp"]
    docs = {c: _flat(REGISTRY.rules[c].render(ruleset)) for c in KP_RULES}
    for c in ("KP100", "KP110", "KP120", "KP130", "KP140", "KP150", "KP160", "KP161"):
        assert kp["phone"] in docs[c], c
    insured = kp["routes"]["insured"]["payer_id"]
    for c in ("KP120", "KP130"):
        assert f"the insured route's payer ID, {insured})" in docs[c], c
    for product in kp["products"].values():
        assert f"{product['name']} {product['effective'].isoformat()}" in docs["KP110"]
    assert ", ".join(kp["kp_states"]) in docs["KP130"]
    for key, codes in kp["emergency"].items():
        sep = " or " if key == "places_of_service" else ", "
        assert sep.join(codes) in docs["KP140"], key
    for region in kp["regions"].values():
        if region["excluded_insured_products"]:
            said = f"{region['name']} for {', '.join(region['excluded_insured_products'])}"
            assert said in docs["KP120"] and said in docs["KP161"]
    emergency_only = [p["name"] for p in kp["products"].values() if p["emergency_only"]]
    assert f"For KP {', '.join(emergency_only)} members" in docs["KP140"]
    upfront_ok = [p["name"] for p in kp["products"].values() if not p["upfront_cost_share"]]
    assert f"For KP {', '.join(upfront_ok)} members" in docs["KP150"]


OVERRIDE = """\
[ruleset]
name = "x"
extends = "kp-cigna"

[kp]
phone = "800.555.0100"

[kp.routes.insured]
payer_name = "Example Health Claims"
payer_id = "EXH01"
address = "P.O. Box 1234"
city = "Springfield"
state = "IL"
zip = "62701-1234"

[kp.products.POS2]
effective = 2022-11-15
"""


def _rules_cli(*args: str) -> str:
    res = CliRunner().invoke(main, ["rules", *args])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res.output


def test_docs_follow_a_ruleset_that_changes_the_facts(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(OVERRIDE, encoding="utf-8")
    old = load("kp-cigna", REGISTRY).data["kp"]
    new = load(str(path), REGISTRY).data["kp"]
    assert new["phone"] != old["phone"]  # the override took

    shipped = _flat(_rules_cli("KP100"))
    out = _flat(_rules_cli("KP100", "--ruleset", str(path)))
    assert shipped != out
    assert old["phone"] in shipped and old["routes"]["insured"]["payer_id"] in shipped
    assert "eligibility at 800.555.0100" in out
    assert "Example Health Claims (payer ID EXH01)" in out
    assert "Example Health Claims, P.O. Box 1234, Springfield, IL 62701-1234, payer ID EXH01" in out
    for gone in (old["phone"], old["routes"]["insured"]["payer_id"],
                 old["routes"]["insured"]["address"], old["routes"]["insured"]["city"],
                 old["routes"]["insured"]["payer_name"]):
        assert gone not in out, gone
    # The self-funded route is inherited unchanged.
    assert _mailing(old["routes"]["self-funded"]) in out

    kp110 = _flat(_rules_cli("KP110", "--ruleset", str(path)))
    assert "POS 2-Tier 2022-11-15" in kp110 and "POS 2-Tier 2022-10-01" not in kp110
    assert "a POS plan of unknown tier: 2022-11-15" in kp110
    kp130 = _flat(_rules_cli("KP130", "--ruleset", str(path)))
    assert "payer ID, EXH01)" in kp130 and "800.555.0100" in kp130


def _outside_examples(doc: str) -> str:
    """The doc without its ``## Example`` section (examples may show wrong values on purpose)."""
    keep, inside = [], False
    for line in doc.splitlines():
        if line.startswith("## "):
            inside = line[3:].strip().lower().startswith("example")
        if not inside:
            keep.append(line)
    return "\n".join(keep)


def _literal_facts(kp: dict) -> list[str]:
    """Ruleset values a KP doc must name through Jinja2, not as literal text."""
    facts = [kp["phone"], *kp["identify"]["payer_ids"]]
    for route in kp["routes"].values():
        facts += [route["payer_id"], route["payer_name"], route["address"], route["zip"],
                  route["city"]]
    facts += [p["effective"].isoformat() for p in kp["products"].values()]
    facts += [*kp["emergency"]["procedures"], *kp["emergency"]["revenue_codes"]]
    facts.append(", ".join(kp["kp_states"]))
    return sorted(set(facts))


@pytest.mark.parametrize("code", KP_RULES)
def test_kp_docs_hold_no_literal_ruleset_facts(code):
    kp = load("kp-cigna", REGISTRY).data["kp"]
    doc = REGISTRY.rules[code].doc  # the docstring as written in validator_kp/rules.py
    assert kp["phone"] not in doc, f"{code}: write {{{{ kp.phone }}}}, not {kp['phone']}"
    text = _outside_examples(doc)
    found = [f for f in _literal_facts(kp) if re.search(rf"(?<![\w.]){re.escape(f)}(?![\w])", text)]
    assert not found, f"{code} quotes ruleset data literally: {found}"
