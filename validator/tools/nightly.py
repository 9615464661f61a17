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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from ..engine.result import Result
from ..errors import UsageError
from ..output.atomic import atomic_via, atomic_write
from ..output.views import findings_view
from ..rules.api import Context
from ..rules.earlier import KEY_SCHEMA, EarlierClaims, empty_keys
from ..rules.generic.duplicates import claim_keys

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

# How long the claims of a run are compared with (``--state-days``): past the 30-45 days in
# which payers must pay or deny a clean claim (when a provider resends one) and the 90-120
# day timely-filing limits of most commercial payers and Medicaid plans; Medicare's is a year.
DEFAULT_STATE_DAYS = 120
KEYS_SUFFIX = ".keys.parquet"  # the claim key store beside the state file
_SALT = "claims_validator_key_salt"


@dataclass
class State:
    """Files checked by earlier runs, by real path: size, mtime and content hash (a file is
    checked again when any of them changed); and the keys of the claims those runs passed
    (:mod:`validator.rules.earlier`), kept ``days`` days in a Parquet file beside the state
    file (``<state>.keys.parquet``)."""

    path: Path
    files: dict[str, dict] = field(default_factory=dict)
    days: int = DEFAULT_STATE_DAYS
    earlier: EarlierClaims = field(default_factory=lambda: EarlierClaims(os.urandom(16),
                                                                         empty_keys()))
    _pending: pl.DataFrame | None = None  # this run's claim keys, until saved
    _real: dict[str, str] = field(default_factory=dict)  # the files read: real paths

    @classmethod
    def load(cls, path: Path, days: int = DEFAULT_STATE_DAYS, today: date | None = None,
             ) -> State:
        state = cls(path, days=days)
        if path.exists():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
                state.files = dict(doc.get("files", {}))
            except (OSError, ValueError, AttributeError) as exc:
                raise UsageError(f"cannot read the state file {path}: {exc}") from None
        state.earlier = load_keys(state.keys_path, days, today or _utc_today())
        return state

    @property
    def keys_path(self) -> Path:
        return self.path.with_name(self.path.name + KEYS_SUFFIX)

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

    def update(self, result: Result, outcomes: Mapping[Path, str]) -> None:
        """Remember every file the run read (unreadable ones are tried again next time),
        and the keys of the claims in the files it passed (``ready``: no finding at or
        above ``--fail-on``). Written by :meth:`save`."""
        parsed = result.batch.files.filter(pl.col("status") == "parsed")
        self._real = {}
        ready: list[int] = []
        for file_id, path in parsed.select("file_id", "path").iter_rows():
            real = self._real[str(Path(path))] = os.path.realpath(path)
            with contextlib.suppress(OSError):
                self.files[real] = self.fingerprint(Path(path))
            if outcomes.get(Path(path)) == "ready":
                ready.append(file_id)
        self._pending = None
        if self.days and ready:
            real = parsed.select("file_id").with_columns(path=pl.Series(
                [self._real[str(Path(p))] for p in parsed["path"]], dtype=pl.String))
            self._pending = _passed_keys(result, self.earlier.salt, ready).join(
                real, on="file_id").select("id_key", "dup_key", "claim_id", "path",
                                           sent=pl.lit(_utc_date(result.started), pl.Date))

    def save(self, moved: Mapping[Path, Path] | None = None) -> None:
        """Write the key store (earlier versions of the files read dropped, expired keys
        dropped, this run's added), then the state file. A file ``moved`` (``--move-to``)
        is recorded under its new path, so that a file arriving later under its old name
        is checked, even with the same bytes (an exporter sending a batch again)."""
        today = _utc_today()
        old = self.earlier.keys.filter(~pl.col("path").is_in(list(self._real.values())))
        new = self._pending if self._pending is not None else empty_keys()
        if moved:  # a file moved away is remembered where it went: a new file may come
            where = {self._real[str(src)]: os.path.realpath(dst) for src, dst in moved.items()
                     if str(src) in self._real}
            new = new.with_columns(pl.col("path").replace(where))
            for src, dst in where.items():
                if src in self.files:
                    self.files[dst] = self.files.pop(src)
        new = new.with_columns(pl.col("path").cast(pl.Categorical))
        keys = pl.concat([old, new]).filter(pl.col("sent") > today - timedelta(days=self.days))
        doc = {"version": 1, "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "files": self.files}
        try:  # the keys first: a run cut in between checks its files again next time
            write_keys(self.keys_path, EarlierClaims(self.earlier.salt, keys), self.days)
            atomic_write(self.path, json.dumps(doc, indent=1, sort_keys=True) + "\n")
        except OSError as exc:
            raise UsageError(f"cannot write the state {exc.filename or self.path}: "
                             f"{exc.strerror or exc}") from None


def _passed_keys(result: Result, salt: bytes, files: list[int]) -> pl.DataFrame:
    """The hashed DUP401/DUP402 keys and claim IDs of the claims of ``files``: those a run
    in units kept as it went (its claims' columns are on disk), else worked out now."""
    if result.state_keys is None:
        keys = claim_keys(Context(result.batch, result.ruleset), salt)
        return keys.filter(pl.col("file_id").is_in(files))
    keys = result.state_keys.filter(pl.col("file_id").is_in(files))
    ids = result.claim_frame(["claim_key", "claim_id"], keys["claim_key"])
    return keys.with_columns(claim_id=ids["claim_id"])


def _utc_today() -> date:
    return datetime.now(UTC).date()


def _utc_date(ts: float) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def load_keys(path: Path, days: int, today: date) -> EarlierClaims:
    """The claim keys of the last ``days`` days in the key store (none when it is missing
    or ``days`` is 0); a store that cannot be read is a usage error."""
    if not path.exists() or not days:  # (with 0 days the store is removed, even damaged)
        return EarlierClaims(os.urandom(16), empty_keys())
    try:
        salt = bytes.fromhex(pl.read_parquet_metadata(path)[_SALT])
        keys = pl.read_parquet(path)
        if dict(keys.schema) != KEY_SCHEMA:
            raise ValueError(f"unexpected columns {dict(keys.schema)}")
        if len(salt) < 16:
            raise ValueError("the salt is too short")
    except KeyError:
        raise UsageError(f"cannot read the claim key store {path}: it is not one (no salt); "
                         "move it away to start afresh") from None
    except Exception as exc:  # polars raises its own errors for a damaged file
        raise UsageError(f"cannot read the claim key store {path}: {exc}; move it away to "
                         "start afresh (earlier runs' claims are then not compared)") from None
    return EarlierClaims(salt, keys.filter(pl.col("sent") > today - timedelta(days=days)))


def write_keys(path: Path, earlier: EarlierClaims, days: int) -> None:
    """Write the key store atomically (mode 0600); with ``days`` 0, remove it."""
    if not days:
        path.unlink(missing_ok=True)
        return
    meta = {_SALT: earlier.salt.hex(), "claims_validator_days": str(days)}
    atomic_via(path, lambda tmp: earlier.keys.write_parquet(tmp, compression="zstd",
                                                            metadata=meta), private=True)


# -- acting on the outcome ------------------------------------------------------------------

def file_outcomes(result: Result, threshold: int) -> dict[Path, str]:
    """``ready`` or ``held`` per input file: held when the file is unreadable or any of its
    findings is at or above ``threshold`` (severity rank)."""
    rank = pl.col("severity").replace_strict({"info": 0, "warning": 1, "error": 2},
                                             return_dtype=pl.Int8)
    worst = result.finding_keys(["file_id", "severity"]).group_by("file_id").agg(w=rank.max())
    files = result.batch.files.join(worst, on="file_id", how="left")
    held = (pl.col("status") != "parsed") | (pl.col("w").fill_null(-1) >= threshold)
    return {Path(p): "held" if h else "ready"
            for p, h in files.select("path", held.alias("h")).iter_rows()}


def move_checked(outcomes: Mapping[Path, str], dest: Path, roots: Iterable[Path],
                 ) -> dict[Path, Path]:
    """Move each checked file to ``dest/ready/`` or ``dest/held/``, keeping its path below
    the input folder it was found in; never overwrites (a ``-2`` suffix instead). Returns
    where each file went."""
    bases = [Path(r).resolve() for r in roots if Path(r).is_dir()]
    moved: dict[Path, Path] = {}
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
        moved[p] = target
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
