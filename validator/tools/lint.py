"""``claims-validator ruleset lint``: every problem of every ruleset, with file, key and line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..rules.registry import Registry
from ..ruleset.compose import compose
from ..ruleset.schema import Problem
from .cases import is_case

# Folders a folder scan passes over: test material (case files, fixtures) is not a ruleset.
SKIP_DIRS = ("tests",)


class LintUsageError(Exception):
    """A path that is neither a file nor a folder (exit code 2)."""


def collect_rulesets(paths: Sequence[str | Path]) -> list[Path]:
    """Files named explicitly, and every ``*.toml`` under folders (recursively) outside
    ``tests/`` sub-folders and hidden folders that is not a test case (a ``[case]`` table,
    e.g. when the ``tests/`` folder itself is named)."""
    out: dict[str, Path] = {}
    for arg in paths:
        p = Path(arg)
        if p.is_file():
            out.setdefault(str(p), p)
        elif p.is_dir():
            for q in sorted(p.rglob("*.toml")):
                parts = q.relative_to(p).parts[:-1]
                if q.is_file() and not any(x in SKIP_DIRS or x.startswith(".") for x in parts) \
                        and not is_case(q):
                    out.setdefault(str(q), q)
        else:
            raise LintUsageError(f"no such file or folder: {arg}")
    return list(out.values())


@dataclass
class LintResult:
    files: list[Path]
    problems: list[Problem] = field(default_factory=list)

    @property
    def bad_files(self) -> int:
        return len({p.file for p in self.problems})

    def text(self) -> str:
        lines = [p.render() for p in self.problems]
        n = len(self.files)
        noun = "ruleset" if n == 1 else "rulesets"
        if self.problems:
            k = len(self.problems)
            lines.append(f"Found {k} problem{'s' if k != 1 else ''} in {self.bad_files} of "
                         f"{n} {noun}.")
        else:
            lines.append(f"All checks passed ({n} {noun}).")
        return "\n".join(lines) + "\n"

    def json(self) -> str:
        doc: dict[str, Any] = {
            "files": [str(f) for f in self.files],
            "problem_count": len(self.problems),
            "problems": [p.as_dict() for p in self.problems],
        }
        return json.dumps(doc, indent=2) + "\n"


def lint(paths: Sequence[str | Path], registry: Registry | None) -> LintResult:
    """Lint each ruleset (and the parents it extends); a problem is reported once."""
    files = collect_rulesets(paths)
    result = LintResult(files)
    seen: set[tuple[Any, ...]] = set()
    for f in files:
        for p in compose(f, registry).problems:
            key = (p.file, p.line, p.key, p.message)
            if key not in seen:
                seen.add(key)
                result.problems.append(p)
    return result
