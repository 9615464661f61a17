"""``claims-validator check``: validate files, write the reports, exit 0/1/2."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import click

from ..engine import DEFAULT_EXCLUDES, check
from ..engine.inputs import scan_inputs
from ..errors import UsageError
from ..output import views
from ..output.atomic import reserve_names
from ..output.writers import WRITERS
from ..rules import findings as F
from ..rules.api import RunOptions
from ..rules.registry import Registry
from ..severity import FAIL_ON
from ..tools import nightly
from .cluster import cluster_options, executor_of
from .common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    log,
    plural,
    setup_logging,
    split_csv,
)
from .options import fail_on_option, log_options, rules_for, run_options, with_plugins


def _report_option(ctx: click.Context, param: click.Parameter, value: str | None,
                   ) -> Path | str | None:
    """``--report FILE``: a file path, or ``-`` for stdout; an empty value is a usage error."""
    if value is None or value == "-":
        return value
    if not value.strip():
        raise click.BadParameter("empty path")
    return click.Path(dir_okay=False, path_type=Path).convert(value, param, ctx)


LOCK_NAME = ".claims-validator.lock"


def make_check(registry: Registry) -> click.Command:
    """The ``check`` command, with the options the installed plugins add (``--members``)
    after ``--ruleset``."""
    return with_plugins(check_cmd, registry)


@click.command("check")
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "formats", multiple=True, metavar="FMT[,FMT]",
              help="Output formats: html, json, csv, parquet, junit, 999 (repeat or "
                   "comma-separate). A single json goes to stdout; other formats are written "
                   "as files; 999 writes one acknowledgement per input file into a folder.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports"), show_default=True,
              help="Folder for report files, named with the run's timestamp.")
@click.option("--report", "report_path", callback=_report_option, metavar="FILE",
              help="Exact path of the report file, or - for stdout (single format only).")
@fail_on_option()
@run_options
@cluster_options
@click.option("--show-phi", is_flag=True,
              help="Show patient names, member IDs and birth dates unmasked in reports.")
@log_options
@click.option("--lock", "lock_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Lock held for the run: a second run exits 3 at once "
              f"[default: REPORT_DIR/{LOCK_NAME} when reports go to the report folder].")
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Check only files new or changed since the last successful "
              "run (by path, size, mtime, content hash); the run updates FILE, and the keys of "
              "the claims it passed in FILE.keys.parquet (see --state-days).")
@click.option("--state-days", type=click.IntRange(min=0), metavar="N",
              help="With --state: compare claims with those earlier runs passed in the last N "
                   "days for DUP401/DUP402 (0: keep no claim keys) [default: "
                   f"{nightly.DEFAULT_STATE_DAYS}].")
@click.option("--move-to", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="After a successful run, move each checked file to DIR/ready/ or DIR/held/ "
                   "(held: unreadable, or a finding at or above --fail-on).")
@click.option("--keep", type=click.IntRange(min=1), metavar="N",
              help="Keep only the newest N runs' reports in the report folder.")
@click.option("--baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="FILE", help="Exit 1 only for findings not in FILE (keyed by file name, "
              "claim ID, rule and element); reports still list every finding.")
@click.option("--write-baseline", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Write this run's findings as a baseline file.")
def check_cmd(paths: tuple[str, ...], formats: tuple[str, ...], report_dir: Path,
              report_path: Path | str | None, fail_on: str, ruleset_name: str,
              select: tuple[str, ...], ignore: tuple[str, ...],
              exclude: tuple[str, ...], min_age: float, run_ig: bool, ig_engine: str, jobs: int,
              chunk_bytes: int, executor: str, scheduler: str | None,
              show_phi: bool, verbose: int, quiet: bool, log_format: str,
              lock_file: Path | None, state_file: Path | None, state_days: int | None,
              move_to: Path | None,
              keep: int | None, baseline: Path | None, write_baseline: Path | None,
              **plugin_values: object) -> None:
    """Check 837 files, folders (recursive) and globs."""
    setup_logging(verbose, quiet, log_format)
    fmts = list(dict.fromkeys(split_csv(formats))) or [_default_format()]  # once each
    unknown = [f for f in fmts if f not in WRITERS]
    if unknown:
        raise click.BadParameter(f"unknown format {unknown[0]!r}; choose from "
                                 + ", ".join(sorted(WRITERS)), param_hint="--format")
    if report_path and len(fmts) > 1:
        raise click.BadParameter("--report takes a single format", param_hint="--report")
    if state_days is not None and not state_file:
        raise click.BadParameter("needs --state", param_hint="--state-days")
    executor, scheduler = executor_of(executor, scheduler)
    registry, ruleset, selection = rules_for(ruleset_name, select, ignore)
    to_stdout = report_path == "-" or (fmts == ["json"] and report_path is None)
    lock_path = lock_file or (None if to_stdout or report_path else report_dir / LOCK_NAME)
    if lock_path and not lock_file:  # the report folder holds the lock: make it first
        try:
            report_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot write the report to {exc.filename or report_dir}: "
                             f"{exc.strerror or exc}") from None
    with nightly.lock(lock_path) if lock_path else contextlib.nullcontext():
        found = scan_inputs(paths, (*DEFAULT_EXCLUDES, *exclude), min_age=min_age,
                            skip=[report_path] if isinstance(report_path, Path) else [report_dir])
        files = [*found.files, *found.unreadable]
        state = nightly.State.load(state_file, nightly.DEFAULT_STATE_DAYS if state_days is None
                                   else state_days) if state_file else None
        if state is not None:
            log.info("--state: %s of earlier runs (last %s) to compare with",
                     plural(state.earlier.keys.height, "claim"), plural(state.days, "day"))
            files, seen = state.new_or_changed(files)
            if seen:
                log.info("%s already checked by an earlier run (--state)", plural(seen, "file"))
        _one_file_per_report(fmts, report_path, files)
        if not files:
            log.warning("no %sinput files found in %s", "new " if state else "", ", ".join(paths))
        options = RunOptions(show_phi=show_phi, ig=run_ig, ig_engine=ig_engine, jobs=jobs,
                             chunk_bytes=chunk_bytes, earlier=state.earlier if state else None,
                             executor=executor, scheduler=scheduler,
                             plugin={k: v for k, v in plugin_values.items() if v is not None})
        result = check(files, ruleset, selection, options, inputs=list(paths),
                       registry=registry)
        written = _write_reports(result, fmts, report_dir, report_path, to_stdout, options)
        if written and not report_path:
            nightly.link_latest(written)
        if keep is not None:
            nightly.prune_reports(report_dir, keep)
        if write_baseline:
            n = nightly.write_baseline(result, write_baseline)
            log.info("baseline: %s written to %s", plural(n, "finding"), write_baseline)
        _echo_summary(result, written, quiet)
        if result.failed:  # outputs are written; the run still counts as an internal error
            click.echo(f"internal error: check(s) {', '.join(result.failed)} failed and did not "
                       "run (INT001 findings; run with -vv for details)", err=True)
            sys.exit(EXIT_USAGE)
        threshold = FAIL_ON[fail_on]
        worst = result.worst()
        if baseline:
            new = nightly.new_findings(result, baseline)
            worst = F.worst(new)
            click.echo(f"baseline: {plural(new.height, 'finding')} not in {baseline} "
                       f"({plural(result.findings.height - new.height, 'finding')} in it)",
                       err=True)
        outcomes = nightly.file_outcomes(result, threshold) if state or move_to else {}
        if state is not None:  # a successful run: these files count as checked
            state.update(result, outcomes)
        moved = {}
        if move_to:
            moved = nightly.move_checked(outcomes, move_to, [Path(p) for p in paths])
            log.info("moved %s to %s", plural(len(moved), "file"), move_to)
        if state is not None:
            state.save(moved)
    sys.exit(EXIT_FINDINGS if worst >= threshold else EXIT_OK)


def _write_reports(result, fmts: list[str], report_dir: Path, report_path: Path | str | None,
                   to_stdout: bool, options: RunOptions) -> list[Path]:
    stamp = time.strftime("%Y%m%d-%H%M%SZ", time.gmtime(result.started))  # UTC, as the HTML
    written: list[Path] = []
    if to_stdout:
        _to_stdout(fmts[0], result, options)
        return written
    dests: list[Path] = []
    try:
        dests = [report_path] if isinstance(report_path, Path) else reserve_names(
            report_dir, f"claims-report-{stamp}",
            [WRITERS[f].extension + ("/" if WRITERS[f].per_file else "") for f in fmts])
        for fmt, dest in zip(fmts, dests, strict=True):
            WRITERS[fmt].write(result, dest, options)
            written.append(dest)
    except OSError as exc:  # a folder that cannot be created or written, a full disk…
        where = exc.filename or (dests[len(written)] if dests else report_dir)
        raise UsageError(f"cannot write the report to {where}: "
                         f"{exc.strerror or exc}") from None
    finally:  # a failed write leaves no empty placeholder behind
        for dest in dests[len(written):]:
            if not report_path and dest.is_dir() and not any(dest.iterdir()):
                dest.rmdir()
            elif not report_path and dest.is_file() and not dest.stat().st_size:
                dest.unlink()
    return written


def _one_file_per_report(fmts: list[str], report_path: Path | str | None, files: list) -> None:
    """A per-input-file format (999) goes to one ``--report`` file or stdout only for one
    input file."""
    per_file = [f for f in fmts if WRITERS[f].per_file]
    if report_path and per_file and len(files) > 1:
        raise UsageError(f"--format {per_file[0]} writes one file per input file: with "
                         f"--report it takes one input file, not {len(files):,} (leave out "
                         "--report to get them in a folder of --report-dir)")


def _to_stdout(fmt: str, result, options: RunOptions) -> None:
    """Write the one report to stdout: JSON as it is produced, other formats via a temp file."""
    sys.stdout.flush()
    if fmt == "json":
        from ..output.json_report import chunks

        for chunk in chunks(result):  # UTF-8 bytes, written as they come
            sys.stdout.buffer.write(chunk)
    else:
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"report.{WRITERS[fmt].extension}"
            WRITERS[fmt].write(result, path, options)
            with path.open("rb") as fh:
                shutil.copyfileobj(fh, sys.stdout.buffer)
    sys.stdout.buffer.flush()


def _default_format() -> str:
    return "html" if "html" in WRITERS else "json"


def _echo_summary(result, written: list[Path], quiet: bool) -> None:
    """The run in a few lines on stderr; with ``-q`` only the report paths (cron mail)."""
    lines = [] if quiet else _summary_lines(result)
    lines += [f"report: {p}" for p in written]
    if lines:
        click.echo("\n".join(lines), err=True)


def _summary_lines(result) -> list[str]:
    s = views.summary(result)
    f = s["findings"]
    files = plural(s["files"], "file") + f" ({s['files_unreadable']:,} unreadable)"
    if s["claims"]:
        rate = (s["claims"] - s["claims_with_errors"]) / s["claims"] * 100
        claims = (f"{plural(s['claims'], 'claim')}: {s['claims_with_errors']:,} with errors, "
                  f"{s['claims_with_warnings']:,} with warnings ({rate:.1f}% without errors)")
    else:
        claims = "no claims read"
    lines = [
        f"{files}, {claims}",
        f"findings: {plural(f['error'], 'error')}, {plural(f['warning'], 'warning')}, "
        f"{f['info']:,} info in {result.elapsed:.2f}s",
    ]
    top = views.top_rules(result)
    if top:
        lines.append("top rules: " + ", ".join(f"{r} ({n:,})" for r, n in top))
    return lines
