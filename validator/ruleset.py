"""Rulesets: TOML data that configures the rules (payer routes, code lists, selections).

A ruleset file has a ``[ruleset]`` header (name, version, description), an optional
``[rules]`` table (``select``, ``ignore``, ``severity`` overrides) and data sections read
by the rule families (e.g. ``[kp]``). Python holds the logic; the facts live here.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "rulesets"
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


# Validators of data sections (``[kp]``…), registered by the rule families that read them.
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
    where = path or "<ruleset>"
    validate_sections(data, where)
    head = data.get("ruleset", {})
    if not isinstance(head, dict):
        raise RulesetError(f"{where}: [ruleset] must be a table")
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise RulesetError(f"{where}: [rules] must be a table")

    def str_list(key: str, default: list[str]) -> list[str]:
        value = rules.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RulesetError(f"{where}: rules.{key} must be a list of strings")
        return value

    severity = rules.get("severity", {})
    if not isinstance(severity, dict):
        raise RulesetError(f"{where}: rules.severity must be a table of CODE = \"severity\"")
    return Ruleset(
        name=str(head.get("name", Path(path).stem if path else "inline")),
        version=str(head.get("version", "0")),
        path=path,
        data=data,
        select=str_list("select", ["ALL"]),
        ignore=str_list("ignore", []),
        severity=dict(severity),
        description=str(head.get("description", "")),
    )


def load(name_or_path: str = DEFAULT_RULESET) -> Ruleset:
    path = resolve(name_or_path)
    return from_data(read_toml(path), str(path))
