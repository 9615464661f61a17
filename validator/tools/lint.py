"""``claims-validator ruleset lint``: every problem of every ruleset, with file, key and line."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..rules.registry import Registry
from ..ruleset.compose import compose
from ..ruleset.schema import Problem
from ..ruleset.toml import TomlIndex
from .cases import TestUsageError, check_case, collect_cases, is_case

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
    cases: list[Path] = field(default_factory=list)  # test case files checked

    @property
    def bad_files(self) -> int:
        return len({p.file for p in self.problems})

    def text(self) -> str:
        lines = [p.render() for p in self.problems]
        n = len(self.files) + len(self.cases)
        noun = f"ruleset{'s' if len(self.files) != 1 else ''}"
        if self.cases:
            noun = (f"files: {len(self.files)} {noun}, {len(self.cases)} test "
                    f"case{'s' if len(self.cases) != 1 else ''}")
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
            "cases": [str(f) for f in self.cases],
            "problem_count": len(self.problems),
            "problems": [p.as_dict() for p in self.problems],
        }
        return json.dumps(doc, indent=2) + "\n"


def lint(paths: Sequence[str | Path], registry: Registry | None) -> LintResult:
    """Lint each ruleset (and the parents it extends); a problem is reported once."""
    files = collect_rulesets(paths)
    result = LintResult(files)
    seen: set[tuple[Any, ...]] = set()
    problems = [p for f in files for p in compose(f, registry).problems]
    if registry is not None:
        result.cases = _cases(paths)
        problems += [p for f in result.cases for p in _case_problems(f, registry)]
    for p in problems:
        key = (p.file, p.line, p.key, p.message)
        if key not in seen:
            seen.add(key)
            result.problems.append(p)
    return result


def _cases(paths: Sequence[str | Path]) -> list[Path]:
    """The test cases under the folders linted, and those of the rulesets named."""
    found: dict[str, Path] = {}
    for arg in paths:
        try:
            found.update((str(c), c) for c in collect_cases([arg]))
        except TestUsageError:  # a path without cases: nothing to check there
            continue
    return [c for c in found.values() if is_case(c)]


def _case_problems(path: Path, registry: Registry) -> list[Problem]:
    """A case file's problems (``ruleset test`` reports them too), with their lines."""
    text = path.read_text(encoding="utf-8")
    index = TomlIndex(text)
    return [p.at(str(path), index.locate(p.path)[1])
            for p in check_case(tomllib.loads(text), registry)]
