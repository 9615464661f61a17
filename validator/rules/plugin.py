"""What a plugin contributes: rules and annotators (by module), ruleset sections, report
panels, command-line options and shipped rulesets. See :mod:`validator.rules.registry`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ..ruleset.model import Ruleset
from ..ruleset.schema import Spec


@dataclass(frozen=True)
class Section:
    """A ruleset section (``[name]``) a plugin reads: its schema, and optionally a check
    the schema cannot express (``check(section, where)`` raises RulesetError)."""

    name: str
    spec: Spec
    required: bool = False
    doc: str = ""
    check: Callable[[Any, str], None] | None = None


@dataclass(frozen=True)
class Option:
    """A ``check`` command-line option a plugin adds; its value reaches the rules as
    ``ctx.options.get(name)``. ``case_key`` names it in ``ruleset test`` case files."""

    name: str
    flag: str
    help: str
    kind: str = "file"  # file (an existing file's path) or text
    metavar: str | None = None
    case_key: str | None = None


@dataclass(frozen=True)
class Panel:
    """How the HTML report shows an annotator's struct column on a claim's card.

    ``labels`` name the fields (in display order; others follow as they come), ``flag`` is
    the field that says whether the panel applies (a card without it shows ``absent``),
    ``display(struct)`` may rewrite fields as text for people, and ``extras(ruleset)``
    adds fields of the ruleset's (a phone number) when the column does not carry them.
    """

    column: str
    title: str
    labels: Mapping[str, str]
    flag: str | None = None
    absent: tuple[str, str] | None = None  # (label, text) on cards where the flag is false
    display: Callable[[pl.Expr], Mapping[str, pl.Expr]] | None = None
    extras: Callable[[Ruleset], Mapping[str, str]] | None = None


@dataclass(frozen=True)
class Plugin:
    name: str
    modules: tuple[str, ...] = ()  # modules whose Rule/Annotator objects the plugin provides
    sections: tuple[Section, ...] = ()
    options: tuple[Option, ...] = ()
    panels: tuple[Panel, ...] = ()
    rulesets: tuple[Path, ...] = ()  # folders of shipped ruleset files
    default_ruleset: str | None = None

