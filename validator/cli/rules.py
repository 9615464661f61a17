"""``claims-validator rules``: the rule registry and each rule's documentation."""

from __future__ import annotations

import json

import click

from ..rules.api import Rule
from ..rules.registry import discover
from ..ruleset.load import load as load_ruleset
from ..ruleset.model import Ruleset


@click.command("rules")
@click.argument("code", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--ruleset", "ruleset_name", metavar="NAME|FILE",
              help="Fill the facts the docs quote (payer IDs, addresses, dates) from this "
                   "ruleset  [default: the default ruleset]")
def rules_cmd(code: str | None, fmt: str, ruleset_name: str | None) -> None:
    """List every rule, or print one rule's documentation."""
    registry = discover()
    rules = registry.rules
    if code and code.upper() not in rules and any(c.startswith(code.upper()) for c in rules):
        rules = {c: x for c, x in rules.items() if c.startswith(code.upper())}  # a prefix
        code = None
    name = ruleset_name or registry.default_ruleset
    ruleset = load_ruleset(name, registry) if name else None
    if code:
        r = rules.get(code.upper())
        if r is None:
            raise click.BadParameter(f"no rule {code!r}; run `claims-validator rules`",
                                     param_hint="CODE")
        if fmt == "json":
            click.echo(json.dumps(_rule_dict(r, ruleset), indent=2))
        else:
            click.echo(f"# {r.code}: {r.title}\n\nseverity: {r.severity}   SNIP level: "
                       f"{r.snip_level}   family: {r.family}   fix: {_fix(r)}\n\n"
                       f"{r.render(ruleset)}")
        return
    rows = sorted(rules.values(), key=lambda r: r.code)
    if fmt == "json":
        click.echo(json.dumps([_rule_dict(r, ruleset) for r in rows], indent=2))
        return
    click.echo(f"{'CODE':<8} {'SEVERITY':<8} SNIP  {'FAMILY':<9} FIX  TITLE")
    for r in rows:
        click.echo(f"{r.code:<8} {r.severity:<8} {r.snip_level:>4}  {r.family:<9} "
                   f"{'yes' if r.fixable else '-':<4} {r.title}")


def _fix(r: Rule) -> str:
    """``available`` when ``claims-validator fix`` corrects (some of) the rule's findings."""
    return "available" if r.fixable else "not available"


def _rule_dict(r: Rule, ruleset: Ruleset | None) -> dict:
    return {"code": r.code, "title": r.title, "severity": r.severity,
            "snip_level": r.snip_level, "family": r.family, "fixable": r.fixable,
            "summary": r.summary(ruleset),
            "doc": r.render(ruleset)}
