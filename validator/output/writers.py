"""Output formats: name -> file extension and writer. Every write is atomic."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine import Result
from . import json_report


@dataclass(frozen=True)
class Writer:
    name: str
    extension: str
    # write(result, path, options): the whole output to ``path``; ``options`` are the run's
    # options (``show_phi`` …).
    write: Callable[[Result, Path, Mapping[str, Any] | None], None]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _target(path: Path) -> tuple[Path, os.stat_result | None]:
    """Where a report for ``path`` goes, and its status when it exists.

    A symlink is written through (its target is replaced, the link stays); a device or
    FIFO (``/dev/stdout``, ``/dev/null``) is kept as named and written directly.
    """
    try:
        st = path.stat()  # follows symlinks
    except FileNotFoundError:
        st = None
    return (path if _special(st) else Path(os.path.realpath(path))), st


def _special(st: os.stat_result | None) -> bool:
    """An existing target that is neither a regular file nor a folder (device, FIFO)."""
    return st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode)


def _publish(tmp: str, path: Path, old: os.stat_result | None) -> None:
    """Give the temp file (mkstemp makes it 0600) the permissions of the file it replaces,
    or normal ones for a new file, and move it in place."""
    os.chmod(tmp, stat.S_IMODE(old.st_mode) if old else 0o666 & ~_umask())
    os.replace(tmp, path)


def atomic_write(path: Path, data: str | bytes | Iterable[str | bytes]) -> None:
    """Write to a temp file in the same folder, then rename over ``path``.

    ``data`` may be an iterable of text or UTF-8 chunks (written one by one)."""
    chunks = [data] if isinstance(data, str | bytes) else data

    def produce(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)

    atomic_via(path, produce)


def reserve_names(folder: Path, stem: str, extensions: Iterable[str]) -> list[Path]:
    """Fresh report paths ``folder/stem[-N].ext``, one per extension, sharing one stem.

    Each is created empty with O_EXCL, so two runs started in the same second (or running
    side by side) never overwrite each other's reports: the later one gets ``-2``, ``-3``…
    The writers then replace the placeholders atomically.
    """
    folder.mkdir(parents=True, exist_ok=True)
    exts = list(extensions)
    for n in range(1, 10_000):
        name = stem if n == 1 else f"{stem}-{n}"
        made: list[Path] = []
        try:
            for ext in exts:
                path = folder / f"{name}.{ext}"
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
                made.append(path)
        except FileExistsError:
            for path in made:
                path.unlink(missing_ok=True)
            continue
        return made
    raise FileExistsError(f"no free report name for {folder / stem}")


def atomic_via(path: Path, produce: Callable[[Path], None]) -> None:
    """Let ``produce`` write a temp path (e.g. polars' writers), then rename it over ``path``
    (through symlinks, keeping the replaced file's permissions). A device or FIFO target
    gets the bytes written into it instead."""
    path, old = _target(path)
    if _special(old):
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder) / "report"
            produce(tmp)
            with tmp.open("rb") as src, path.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        produce(Path(tmp))
        _publish(tmp, path, old)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _html(r: Result, p: Path, o: Mapping[str, Any] | None = None) -> None:
    from . import html_report  # imported on use: it imports this module

    atomic_write(p, html_report.render(r, show_phi=bool((o or {}).get("show_phi"))))


def _flat(fn: str) -> Callable[[Result, Path, Mapping[str, Any] | None], None]:
    def write(r: Result, p: Path, o: Mapping[str, Any] | None = None) -> None:
        from . import flat

        getattr(flat, fn)(r, p, o)

    return write


# The first entry is the default format of ``check``.
WRITERS: dict[str, Writer] = {
    "html": Writer("html", "html", _html),
    "json": Writer("json", "json", lambda r, p, o=None: atomic_write(p, json_report.chunks(r))),
    "csv": Writer("csv", "csv", _flat("write_csv")),
    "parquet": Writer("parquet", "parquet", _flat("write_parquet")),
    "junit": Writer("junit", "xml", _flat("write_junit")),
}


def register(writer: Writer) -> None:
    WRITERS[writer.name] = writer
