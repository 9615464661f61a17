"""The rule registry: one rule = one small function with its code, severity, SNIP level and docs.

A rule's docstring is its documentation, written like ruff's: ``## What it does``,
``## Why is this bad?``, ``## Example``, ``## How to fix``. ``claims-validator rules CODE``
prints it. A rule function takes a :class:`~validator.context.Context` and returns a
DataFrame of findings (any subset of :data:`validator.findings.SCHEMA`; the engine fills
``rule``, ``severity`` and ``snip_level``).

Rules with ``check=None`` are raised elsewhere (while loading a file, or by the
implementation-guide validator) but are documented and selectable like any other.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from ..context import Context

SEVERITIES = ("error", "warning", "info")
CheckFn = Callable[["Context"], pl.DataFrame]


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    severity: str
    snip_level: int
    family: str
    check: CheckFn | None
    doc: str
    # Which transaction types the rule applies to; claim tables are pre-filtered to these.
    applies_to: tuple[str, ...] = ("837P", "837I", "837D")
    # Sibling codes this check also raises (documented by their own ``declare``).
    raises: tuple[str, ...] = ()
    # Compares claims across files: runs once over the whole batch, also when the batch
    # is read in chunks (see validator.chunking).
    batch: bool = False

    @property
    def codes(self) -> tuple[str, ...]:
        return (self.code, *self.raises)

    def section(self, heading: str) -> str:
        """One ``## heading`` section of the docs (empty when absent)."""
        out: list[str] = []
        inside = False
        for line in self.doc.splitlines():
            if line.startswith("## "):
                inside = line[3:].strip().lower().startswith(heading.lower())
                continue
            if inside:
                out.append(line)
        return "\n".join(out).strip()

    @property
    def summary(self) -> str:
        return self.section("What it does").split("\n\n")[0].replace("\n", " ")


REGISTRY: dict[str, Rule] = {}
# Functions adding per-claim columns to the result (e.g. the ``kp`` object); each returns
# a DataFrame keyed by ``claim_key``.
ANNOTATORS: list[Callable[[Context], pl.DataFrame]] = []


def annotator(fn: Callable[[Context], pl.DataFrame]) -> Callable[[Context], pl.DataFrame]:
    """Register a per-claim annotator (joined onto the result's claims on ``claim_key``)."""
    ANNOTATORS.append(fn)
    return fn


def register(rule: Rule) -> Rule:
    if rule.code in REGISTRY:
        raise ValueError(f"rule code {rule.code} registered twice")
    if rule.severity not in SEVERITIES:
        raise ValueError(f"rule {rule.code}: bad severity {rule.severity!r}")
    if not 1 <= rule.snip_level <= 7:
        raise ValueError(f"rule {rule.code}: SNIP level must be 1-7")
    REGISTRY[rule.code] = rule
    return rule


def rule(
    code: str,
    title: str,
    *,
    severity: str,
    snip: int,
    family: str,
    applies_to: tuple[str, ...] = ("837P", "837I", "837D"),
    raises: tuple[str, ...] = (),
    batch: bool = False,
) -> Callable[[CheckFn], CheckFn]:
    """Decorator: register ``fn`` as the check of rule ``code``; its docstring is the doc.

    A check may return findings for the sibling codes in ``raises`` (set in its ``rule``
    column); it runs when any of its codes is enabled. A ``batch`` rule compares claims
    across files and sees the whole batch even when it is read in chunks.
    """

    def wrap(fn: CheckFn) -> CheckFn:
        register(Rule(code, title, severity, snip, family, fn,
                      inspect.cleandoc(fn.__doc__ or ""), applies_to, raises, batch))
        return fn

    return wrap


def declare(code: str, title: str, *, severity: str, snip: int, family: str, doc: str) -> Rule:
    """Register a rule raised outside the rule pass (loader, IG validator)."""
    return register(Rule(code, title, severity, snip, family, None, inspect.cleandoc(doc)))


def matches(code: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """Ruff-style selection: a pattern is a full code or a prefix (``ALL`` matches all)."""
    return any(p == "ALL" or code.startswith(p) for p in patterns)


def load_all() -> dict[str, Rule]:
    """Import every rule module so the registry is complete."""
    from . import catalog  # noqa: F401  (imports register the rules)

    return REGISTRY
