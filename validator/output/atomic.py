"""Atomic report writes: a temp file in the same folder, renamed over the target (through
symlinks, keeping the replaced file's permissions; devices and FIFOs written directly)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path


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


def _publish(tmp: str, path: Path, old: os.stat_result | None, private: bool = False) -> None:
    """Give the temp file (mkstemp makes it 0600) the permissions of the file it replaces,
    or normal ones for a new file, and move it in place. A ``private`` report (unmasked
    PHI) stays 0600, whatever the file it replaces allowed."""
    if not private:
        os.chmod(tmp, stat.S_IMODE(old.st_mode) if old else 0o666 & ~_umask())
    os.replace(tmp, path)


def atomic_write(path: Path, data: str | bytes | Iterable[str | bytes],
                 private: bool = False) -> None:
    """Write to a temp file in the same folder, then rename over ``path`` (mode 0600 when
    ``private``).

    ``data`` may be an iterable of text or UTF-8 chunks (written one by one)."""
    chunks = [data] if isinstance(data, str | bytes) else data

    def produce(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)

    atomic_via(path, produce, private)


def reserve_names(folder: Path, stem: str, extensions: Iterable[str]) -> list[Path]:
    """Fresh report paths ``folder/stem[-N].ext``, one per extension, sharing one stem.

    An extension ending in ``/`` (``999/``) reserves a folder ``stem[-N].999`` (made with
    mkdir, which fails on an existing one) for a format written one file per input file.
    Each file is created empty with O_EXCL, so two runs started in the same second (or running
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
                path = folder / f"{name}.{ext.rstrip('/')}"
                if ext.endswith("/"):
                    path.mkdir()
                else:
                    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
                made.append(path)
        except FileExistsError:
            for path in made:
                if path.is_dir():
                    path.rmdir()
                else:
                    path.unlink(missing_ok=True)
            continue
        return made
    raise FileExistsError(f"no free report name for {folder / stem}")


def atomic_via(path: Path, produce: Callable[[Path], None], private: bool = False) -> None:
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
        _publish(tmp, path, old, private)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
