"""Rulesets: TOML data that configures the rules (payer routes, code lists, selections).

A ruleset file has a ``[ruleset]`` header (name, version, description, ``extends``), an
optional ``[rules]`` table (``select``, ``ignore``, ``severity`` overrides) and data sections
read by the rule families (e.g. ``[kp]``). Python holds the logic; the facts live here.
The keys are described once, in validator/ruleset/schema.py (plugins add their sections);
``extends`` is resolved by validator/ruleset/compose.py; validator/ruleset/load.py reads
a ruleset; rulesets/README.md documents the format.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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


def resolve(name_or_path: str, dirs: Iterable[Path] = ()) -> Path:
    """A shipped ruleset by name (found in ``dirs``) or a path to a TOML file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise RulesetError(f"ruleset file not found: {name_or_path}")
        return p
    dirs = [Path(d) for d in dirs]
    for d in dirs:
        shipped = d / f"{name_or_path}.toml"
        if shipped.is_file():
            return shipped
    names = ", ".join(sorted({q.stem for d in dirs for q in d.glob("*.toml")})) or "none"
    raise RulesetError(f"unknown ruleset {name_or_path!r} (shipped rulesets: {names})")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise RulesetError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise RulesetError(f"{path}: cannot read: {exc.strerror or exc}") from None


def problem_report(where: str, problems: list, limit: int = 10) -> str:
    """One message for a list of :class:`~validator.ruleset.schema.Problem`."""
    lines = [p.render() for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more "
                     f"(run `claims-validator ruleset lint {where}`)")
    head = f"ruleset {where} is not valid ({len(problems)} problem"
    head += "s):" if len(problems) != 1 else "):"
    return "\n  ".join([head, *lines])
