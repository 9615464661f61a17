"""Reading a ruleset: resolve its name, compose its ``extends`` chain, check it against the
schema (the base sections and the plugins' sections of a catalog, i.e. the registry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .compose import compose
from .model import Ruleset, RulesetError, problem_report, resolve
from .schema import Catalog, validate


def from_data(data: dict[str, Any], path: str | None, catalog: Catalog | None = None) -> Ruleset:
    """A ruleset from effective (already merged) data, checked against the schema, then by
    any check a plugin's section adds for what the schema cannot express."""
    where = path or "<ruleset>"
    problems = validate(data, catalog)
    if problems:
        raise RulesetError(problem_report(where, [p.at(path, None) for p in problems]))
    for name, sec in (catalog.sections if catalog is not None else {}).items():
        if name in data and getattr(sec, "check", None) is not None:
            sec.check(data[name], where)
    head = data.get("ruleset", {})
    rules = data.get("rules", {})
    return Ruleset(
        name=str(head.get("name", Path(path).stem if path else "inline")),
        version=str(head.get("version", "0")),
        path=path,
        data=data,
        select=list(rules.get("select", ["ALL"])),
        ignore=list(rules.get("ignore", [])),
        severity=dict(rules.get("severity", {})),
        description=str(head.get("description", "")),
    )


def load(name_or_path: str, catalog: Catalog) -> Ruleset:
    """Read a ruleset and the rulesets it ``extends``; refuse it, naming the keys, when
    anything is wrong (validator/ruleset/schema.py)."""
    path = resolve(name_or_path, catalog.ruleset_dirs)
    composed = compose(path, catalog)
    if composed.problems:
        raise RulesetError(problem_report(str(path), composed.problems))
    ruleset = from_data(composed.data, str(path), catalog)
    ruleset.parents = composed.parents
    return ruleset
