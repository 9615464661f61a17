"""Collecting a run's input files from files, folders and globs.

Nothing is skipped silently: a folder that cannot be listed is a usage error when it was
named, and an unreadable entry (reported as FILE005 by the reader) when a scan meets it;
dangling links and files still being written are named in a warning.
"""

from __future__ import annotations

import fnmatch
import glob
import itertools
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError

log = logging.getLogger("claims_validator")

# Files a folder scan passes over: documentation and manifests living beside EDI files,
# files still being written by a transfer, editors' backups, and this tool's own reports.
DEFAULT_EXCLUDES = ("README*", "LICENSE*", "*.md", "*.tsv", "*.csv", "*.parquet", "*.license", ".*",
                    "*.tmp", "*.part", "*.filepart", "~*", "claims-report-*",
                    # what ``fix`` and ``split`` write beside their 837s
                    "fix-log.jsonl", "split-manifest.json")


@dataclass
class Inputs:
    """What a scan found: the files to read, in order, and what it passed over."""

    files: list[Path] = field(default_factory=list)
    unreadable: dict[Path, str] = field(default_factory=dict)  # folder -> why it could not be listed
    too_new: list[Path] = field(default_factory=list)  # modified within --min-age
    dangling: list[Path] = field(default_factory=list)  # links to nothing


def collect_inputs(paths: Sequence[str], excludes: Iterable[str] = DEFAULT_EXCLUDES) -> list[Path]:
    """The files to read (see :func:`scan_inputs`); unreadable folders come last as entries
    the reader reports."""
    found = scan_inputs(paths, excludes)
    return [*found.files, *found.unreadable]


def scan_inputs(paths: Sequence[str], excludes: Iterable[str] = DEFAULT_EXCLUDES,
                skip: Iterable[Path] = (), min_age: float = 0) -> Inputs:
    """Expand files, folders (recursively) and globs into a sorted list of files.

    Files named explicitly are always read; files found by a folder scan or a glob skip
    ``excludes`` — a pattern matches a file name or the name of any folder on the way to it
    (``archive``), or, when it holds a ``/``, the path relative to the scanned folder
    (``2026/*/old*.edi``) — and the folders in ``skip`` (the report folder). A scan follows
    folder links (each real folder once). A folder a glob matches is scanned like a folder
    argument. A file reached twice (another spelling, a symlink) is read once, under its
    first name. With ``min_age``, files modified fewer than that many seconds ago are left
    for the next run. A path that does not exist, an empty one, or a named folder that
    cannot be listed is a usage error; a glob pattern that matches nothing only gives a
    warning (an empty inbox).
    """
    excludes = tuple(excludes)
    skipped = {os.path.realpath(s) for s in skip}
    out = Inputs()
    seen: dict[str, Path] = {}  # real path -> first spelling
    now = time.time()

    def excluded(rel: Path) -> bool:
        text = rel.as_posix()
        return any(fnmatch.fnmatch(part, pat) for pat in excludes for part in rel.parts) or any(
            "/" in pat and fnmatch.fnmatch(text, pat) for pat in excludes)

    def add(p: Path) -> None:
        real = os.path.realpath(p)
        if real in seen or real in skipped:  # read once; never the report being written
            return
        if min_age:
            try:
                if now - p.stat().st_mtime < min_age:
                    out.too_new.append(p)
                    return
            except OSError:
                pass  # the reader reports it
        seen[real] = p
        out.files.append(p)

    def scan(folder: Path, named: bool) -> None:
        visited: set[str] = set()

        def walk(d: Path) -> None:
            real = os.path.realpath(d)
            if real in visited or (real in skipped and d != folder):
                return  # a link loop, or the report folder inside the scanned one
            visited.add(real)
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError as exc:
                if d == folder and named:
                    raise UsageError(f"cannot read folder {d}: {exc.strerror or exc}") from None
                out.unreadable[d] = f"cannot read folder: {exc.strerror or exc}"
                return
            for e in entries:
                p = Path(e.path)
                if excluded(p.relative_to(folder)):
                    continue
                try:
                    is_dir = e.is_dir()  # follows links
                    is_file = not is_dir and e.is_file()
                except OSError:
                    is_dir = is_file = False
                if is_dir:
                    walk(p)
                elif is_file:
                    add(p)
                elif e.is_symlink() and not p.exists():
                    out.dangling.append(p)

        walk(folder)

    for arg in paths:
        if not arg.strip():  # Path("") is the current folder: never what was meant
            raise UsageError("empty path argument")
        p = Path(arg)
        if p.is_file():
            try:
                p.open("rb").close()
            except OSError as exc:
                raise UsageError(f"cannot read {arg}: {exc.strerror or exc}") from None
            add(p)
        elif p.is_dir():
            scan(p, named=True)
        else:
            hits = [Path(h) for h in sorted(glob.glob(arg, recursive=True))]
            hits = [h for h in hits if h.is_dir() or (h.is_file() and not excluded(Path(h.name)))]
            if not hits and not _searchable(arg):  # a path that is not there: a typo
                if p.is_symlink():
                    raise UsageError(f"{arg} is a link to nothing ({os.readlink(p)})")
                raise UsageError(f"no such file, folder or glob match: {arg}")
            if not hits:  # a pattern with no match in its folder: an empty inbox
                log.warning("no file matches %s", arg)
            for h in hits:
                scan(h, named=False) if h.is_dir() else add(h)
    if out.dangling:
        log.warning("skipped %s: %s", _plural(len(out.dangling), "link") + " to nothing",
                    ", ".join(map(str, out.dangling[:10])) + (" …" if len(out.dangling) > 10 else ""))
    if out.too_new:
        log.warning("left %s for the next run (modified less than %gs ago): %s",
                    _plural(len(out.too_new), "file"), min_age,
                    ", ".join(map(str, out.too_new[:10])) + (" …" if len(out.too_new) > 10 else ""))
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _searchable(pattern: str) -> bool:
    """A glob pattern whose folder (its leading parts without wildcards) exists: no match
    there is an empty inbox, not a typo."""
    if not glob.has_magic(pattern):
        return False
    lead = list(itertools.takewhile(lambda q: not glob.has_magic(q), Path(pattern).parts))
    return Path(*lead).is_dir() if lead else True
