"""Output formats: name -> file extension and writer. Every write is atomic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..engine.result import Result
from ..rules.api import RunOptions
from . import json_report
from .atomic import atomic_write

WriteFn = Callable[[Result, Path, RunOptions | None], None]


@dataclass(frozen=True)
class Writer:
    name: str
    extension: str
    # write(result, path, options): the whole output to ``path``; ``options`` are the run's
    # options (``show_phi`` …; None: those the result was made with).
    write: WriteFn
    # One output per input file (999): in a report folder ``path`` is a folder
    # (``claims-report-<stamp>.<extension>/``) the writer fills with one file per input file;
    # a file path (``--report FILE``, stdout) takes the output of a run of one input file.
    per_file: bool = False


def _html(r: Result, p: Path, o: RunOptions | None = None) -> None:
    from . import html_report  # imported on use: jinja2 and the templates load only then

    show_phi = (o or r.options).show_phi  # unmasked PHI: a report for its owner only (0600)
    atomic_write(p, html_report.render(r, show_phi=show_phi), private=show_phi)


def _json(r: Result, p: Path, o: RunOptions | None = None) -> None:
    show_phi = (o or r.options).show_phi  # unmasked segment text: for its owner only (0600)
    atomic_write(p, json_report.chunks(r, show_phi), private=show_phi)


def _ack999(r: Result, p: Path, o: RunOptions | None = None) -> None:
    from . import ack999  # imported on use

    ack999.write(r, p, o)


def _flat(fn: str) -> WriteFn:
    def write(r: Result, p: Path, o: RunOptions | None = None) -> None:
        from . import flat  # imported on use

        if fn == "write_junit":
            flat.write_junit(r, p)
        else:
            getattr(flat, fn)(r, p, (o or r.options).show_phi)

    return write


# The first entry is the default format of ``check``.
WRITERS: dict[str, Writer] = {
    "html": Writer("html", "html", _html),
    "json": Writer("json", "json", _json),
    "csv": Writer("csv", "csv", _flat("write_csv")),
    "parquet": Writer("parquet", "parquet", _flat("write_parquet")),
    "junit": Writer("junit", "xml", _flat("write_junit")),
    "999": Writer("999", "999", _ack999, per_file=True),
}


def register(writer: Writer) -> None:
    WRITERS[writer.name] = writer
