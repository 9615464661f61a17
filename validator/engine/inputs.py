"""Collecting a run's input files from files, folders and globs."""

from __future__ import annotations

import fnmatch
import glob
import itertools
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import UsageError

log = logging.getLogger("claims_validator")

# Files a folder scan passes over (documentation and manifests living beside EDI files).
DEFAULT_EXCLUDES = ("README*", "LICENSE*", "*.md", "*.tsv", "*.csv", "*.parquet", "*.license", ".*")


def collect_inputs(paths: Sequence[str], excludes: Iterable[str] = DEFAULT_EXCLUDES) -> list[Path]:
    """Expand files, folders (recursively) and globs into a sorted list of files.

    Files named explicitly are always read; files found by a folder scan or a glob skip
    ``excludes``; a folder a glob matches is scanned like a folder argument. A file reached
    twice (another spelling, a symlink) is read once, under its first name. A path that
    does not exist, or an empty one, is a usage error; a glob pattern that matches nothing
    only gives a warning (an empty inbox).
    """
    excludes = tuple(excludes)
    out: dict[str, Path] = {}  # real path -> first spelling

    def excluded(p: Path) -> bool:
        return any(fnmatch.fnmatch(p.name, pat) for pat in excludes)

    def add(p: Path) -> None:
        out.setdefault(os.path.realpath(p), p)

    def scan(folder: Path) -> None:
        for q in sorted(folder.rglob("*")):
            if q.is_file() and not excluded(q) and not any(
                part.startswith(".") for part in q.relative_to(folder).parts
            ):
                add(q)

    for arg in paths:
        if not arg.strip():  # Path("") is the current folder: never what was meant
            raise UsageError("empty path argument")
        p = Path(arg)
        if p.is_file():
            add(p)
        elif p.is_dir():
            scan(p)
        else:
            hits = [Path(h) for h in sorted(glob.glob(arg, recursive=True))]
            hits = [h for h in hits if h.is_dir() or (h.is_file() and not excluded(h))]
            if not hits and not _searchable(arg):  # a path that is not there: a typo
                raise UsageError(f"no such file, folder or glob match: {arg}")
            if not hits:  # a pattern with no match in its folder: an empty inbox
                log.warning("no file matches %s", arg)
            for h in hits:
                scan(h) if h.is_dir() else add(h)
    return list(out.values())


def _searchable(pattern: str) -> bool:
    """A glob pattern whose folder (its leading parts without wildcards) exists: no match
    there is an empty inbox, not a typo."""
    if not glob.has_magic(pattern):
        return False
    lead = list(itertools.takewhile(lambda q: not glob.has_magic(q), Path(pattern).parts))
    return Path(*lead).is_dir() if lead else True
