"""What a scheduled run needs around ``check``: a lock, a state file of what was already
checked, archiving checked files by outcome, a stable ``latest`` report, report retention,
and a CI baseline of accepted findings."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..engine.result import Result
from ..errors import UsageError
from ..output.atomic import atomic_write
from ..output.views import findings_view

log = logging.getLogger("claims_validator")
EXIT_LOCKED = 3  # another run holds the lock


class Locked(Exception):
    """Another run holds the lock (exit code :data:`EXIT_LOCKED`)."""


@contextlib.contextmanager
def lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the run, or raise :class:`Locked` at once."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(f"cannot create the lock file {path}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            raise Locked(f"another run holds the lock {path}"
                         + (f" ({holder})" if holder else "")) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
                  .encode(), 0)
        yield
    finally:
        os.close(fd)


# -- state: what earlier successful runs checked ------------------------------------------

@dataclass
class State:
    """Files checked by earlier runs, by real path: size, mtime and content hash. A file is
    checked again when any of them changed."""

    path: Path
    files: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> State:
        if not path.exists():
            return cls(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, dict(doc.get("files", {})))
        except (OSError, ValueError, AttributeError) as exc:
            raise UsageError(f"cannot read the state file {path}: {exc}") from None

    @staticmethod
    def fingerprint(p: Path) -> dict:
        st = p.stat()
        digest = hashlib.sha256()
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return {"size": st.st_size, "mtime": st.st_mtime, "sha256": digest.hexdigest()}

    def new_or_changed(self, paths: Iterable[Path]) -> tuple[list[Path], int]:
        """The files to check, and how many were skipped as already checked. A cheap
        size/mtime test first; the hash only when those match (a file rewritten with the
        same content counts as checked)."""
        todo: list[Path] = []
        seen = 0
        for p in paths:
            old = self.files.get(os.path.realpath(p))
            if old and p.is_file():
                st = p.stat()
                same = (st.st_size == old["size"] and st.st_mtime == old["mtime"]) or (
                    st.st_size == old["size"] and self.fingerprint(p)["sha256"] == old["sha256"])
                if same:
                    seen += 1
                    continue
            todo.append(p)
        return todo, seen

    def record(self, result: Result) -> None:
        """Remember every file the run read (unreadable ones are tried again next time)."""
        parsed = result.batch.files.filter(pl.col("status") == "parsed")["path"]
        for p in map(Path, parsed):
            with contextlib.suppress(OSError):
                self.files[os.path.realpath(p)] = self.fingerprint(p)
        doc = {"version": 1, "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "files": self.files}
        atomic_write(self.path, json.dumps(doc, indent=1, sort_keys=True) + "\n")


# -- acting on the outcome ------------------------------------------------------------------

def file_outcomes(result: Result, threshold: int) -> dict[Path, str]:
    """``ready`` or ``held`` per input file: held when the file is unreadable or any of its
    findings is at or above ``threshold`` (severity rank)."""
    rank = pl.col("severity").replace_strict({"info": 0, "warning": 1, "error": 2},
                                             return_dtype=pl.Int8)
    worst = result.findings.group_by("file_id").agg(w=rank.max())
    files = result.batch.files.join(worst, on="file_id", how="left")
    held = (pl.col("status") != "parsed") | (pl.col("w").fill_null(-1) >= threshold)
    return {Path(p): "held" if h else "ready"
            for p, h in files.select("path", held.alias("h")).iter_rows()}


def move_checked(outcomes: dict[Path, str], dest: Path, roots: Iterable[Path]) -> list[Path]:
    """Move each checked file to ``dest/ready/`` or ``dest/held/``, keeping its path below
    the input folder it was found in; never overwrites (a ``-2`` suffix instead)."""
    bases = [Path(r).resolve() for r in roots if Path(r).is_dir()]
    moved = []
    for p, outcome in outcomes.items():
        if not p.is_file():
            continue
        real = p.resolve()
        base = next((b for b in bases if real.is_relative_to(b)), real.parent)
        target = dest / outcome / real.relative_to(base)
        target.parent.mkdir(parents=True, exist_ok=True)
        n = 1
        while target.exists():
            n += 1
            target = target.with_name(f"{real.stem}-{n}{real.suffix}")
        shutil.move(str(p), target)
        moved.append(target)
    return moved


def link_latest(written: Iterable[Path]) -> list[Path]:
    """Point ``claims-report-latest.<ext>`` beside each report at it (replaced atomically)."""
    out = []
    for report in written:
        suffix = report.suffix
        latest = report.with_name(f"claims-report-latest{suffix}")
        tmp = latest.with_name(f".{latest.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(report.name)
        os.replace(tmp, latest)
        out.append(latest)
    return out


def prune_reports(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` runs' reports (``claims-report-<UTC stamp>*``)."""
    runs: dict[str, list[Path]] = {}
    for p in folder.glob("claims-report-*"):  # files, and folders of per-file formats (999)
        if not p.is_symlink() and not p.name.startswith("claims-report-latest"):
            runs.setdefault(p.name.split(".")[0], []).append(p)
    def order(stem: str) -> tuple[str, int]:  # ...Z, ...Z-2, ...Z-10: runs in one second
        m = re.fullmatch(r"(.*?Z)(?:-(\d+))?", stem)
        return (m[1], int(m[2] or 1)) if m else (stem, 0)

    ordered = sorted(runs, key=order)
    old = ordered[:-keep] if keep else ordered
    gone = [p for stem in old for p in runs[stem]]
    for p in gone:
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
    return gone


# -- baseline ---------------------------------------------------------------------------------

BASELINE_KEY = ("file", "claim_id", "rule", "element")


def _keys(result: Result) -> pl.DataFrame:
    """Findings keyed without positions: file name, claim ID, rule, element."""
    f = findings_view(result)
    return f.select(pl.col("file").str.split("/").list.last().alias("file"), "claim_id", "rule",
                    "element", "severity")


def write_baseline(result: Result, path: Path) -> int:
    rows = _keys(result).select(*BASELINE_KEY).unique().sort(BASELINE_KEY, nulls_last=True)
    doc = {"version": 1, "key": list(BASELINE_KEY), "findings": rows.to_dicts()}
    atomic_write(path, json.dumps(doc, indent=1) + "\n")
    return rows.height


def new_findings(result: Result, path: Path) -> pl.DataFrame:
    """The findings not in the baseline file (with their severity)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        base = pl.DataFrame(doc["findings"], schema={k: pl.String for k in BASELINE_KEY})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"cannot read the baseline {path}: {exc}") from None
    return _keys(result).join(base, on=list(BASELINE_KEY), how="anti", nulls_equal=True)
