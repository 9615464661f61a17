"""Rulesets: TOML data that configures the rules (payer routes, code lists, selections).

A ruleset file has a ``[ruleset]`` header (name, version, description, ``extends``), an
optional ``[rules]`` table (``select``, ``ignore``, ``severity`` overrides) and data sections
read by the rule families (e.g. ``[kp]``). Python holds the logic; the facts live here.
The keys are described once, in validator/ruleset_schema.py; ``extends`` is resolved by
validator/ruleset_compose.py; rulesets/README.md documents the format.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The shipped rulesets: the repository's rulesets/ (validator/rulesets links to it, so that
# a wheel carries them as package data and an installed copy finds them too).
SHIPPED_DIR = (Path(__file__).resolve().parent / "rulesets").resolve()
DEFAULT_RULESET = "kp-cigna"


class RulesetError(Exception):
    """A ruleset cannot be used; the message names the file and the key."""


@dataclass
class Ruleset:
    name: str
    version: str
    path: str | None
    data: dict[str, Any]
    select: list[str] = field(default_factory=lambda: ["ALL"])
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    description: str = ""
    parents: list[str] = field(default_factory=list)  # files it extends, nearest first

    def section(self, name: str) -> dict[str, Any]:
        return self.data.get(name, {})


def resolve(name_or_path: str) -> Path:
    """A shipped ruleset by name (``kp-cigna``) or a path to a TOML file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise RulesetError(f"ruleset file not found: {name_or_path}")
        return p
    shipped = SHIPPED_DIR / f"{name_or_path}.toml"
    if shipped.is_file():
        return shipped
    names = ", ".join(sorted(q.stem for q in SHIPPED_DIR.glob("*.toml"))) or "none"
    raise RulesetError(f"unknown ruleset {name_or_path!r} (shipped rulesets: {names})")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise RulesetError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise RulesetError(f"{path}: cannot read: {exc.strerror or exc}") from None


# Extra validators of data sections, registered by the rule families that read them, for
# checks the schema (validator/ruleset_schema.py; register_section) cannot express. The
# schema runs first; [kp] needs none.
SectionValidator = Callable[[Any, str], None]
SECTION_VALIDATORS: dict[str, SectionValidator] = {}


def section_validator(name: str) -> Callable[[SectionValidator], SectionValidator]:
    """Register ``fn(section, where)`` to check section ``[name]`` when a ruleset is loaded;
    it raises :class:`RulesetError` naming the bad key."""

    def wrap(fn: SectionValidator) -> SectionValidator:
        SECTION_VALIDATORS[name] = fn
        return fn

    return wrap


def validate_sections(data: dict[str, Any], where: str) -> None:
    """Run every family's section validator on the sections present."""
    from .rules.registry import load_all

    load_all()  # importing the rule families registers their section validators
    for name, check in SECTION_VALIDATORS.items():
        if name in data:
            check(data[name], where)


def from_data(data: dict[str, Any], path: str | None) -> Ruleset:
    """A ruleset from effective (already merged) data, checked against the schema
    (validator/ruleset_schema.py), then by any section validator a family registered for
    checks the schema cannot express."""
    from .rules.registry import load_all
    from .ruleset_schema import validate

    where = path or "<ruleset>"
    problems = validate(data, registry=load_all())
    if problems:
        raise RulesetError(problem_report(where, [p.at(path, None) for p in problems]))
    validate_sections(data, where)
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


def load(name_or_path: str = DEFAULT_RULESET) -> Ruleset:
    """Read a ruleset and the rulesets it ``extends``; refuse it, naming the keys, when
    anything is wrong (validator/ruleset_schema.py)."""
    from .rules.registry import load_all
    from .ruleset_compose import compose

    path = resolve(name_or_path)
    composed = compose(path, registry=load_all())
    if composed.problems:
        raise RulesetError(problem_report(str(path), composed.problems))
    ruleset = from_data(composed.data, str(path))
    ruleset.parents = composed.parents
    return ruleset


def problem_report(where: str, problems: list, limit: int = 10) -> str:
    """One message for a list of :class:`~validator.ruleset_schema.Problem`."""
    lines = [p.render() for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more "
                     f"(run `claims-validator ruleset lint {where}`)")
    head = f"ruleset {where} is not valid ({len(problems)} problem"
    head += "s):" if len(problems) != 1 else "):"
    return "\n  ".join([head, *lines])
