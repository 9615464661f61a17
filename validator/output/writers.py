"""Output formats: name -> file extension and writer. Every write is atomic."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..engine import Result
from . import json_report


@dataclass(frozen=True)
class Writer:
    name: str
    extension: str
    write: Callable[[Result, Path], None]  # writes the whole output to the given path


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write to a temp file in the same folder, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_via(path: Path, produce: Callable[[Path], None]) -> None:
    """Let ``produce`` write a temp path (e.g. polars' writers), then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        produce(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


WRITERS: dict[str, Writer] = {
    "json": Writer("json", "json", lambda r, p: atomic_write(p, json_report.render(r))),
}


def register(writer: Writer) -> None:
    WRITERS[writer.name] = writer
