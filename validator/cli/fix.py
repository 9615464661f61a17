"""``claims-validator fix``: write fixed copies of files (``--out DIR``) or show the fixes
as a diff (``--diff``). Only fixes with exactly one right answer (see validator.tools.fix).

Exit codes: with ``--out``, 0 when no finding at or above ``--fail-on`` remains in the
fixed files, 1 when some do (they have no safe fix), as ``ruff check --fix``; with
``--diff``, 0 when there is nothing to fix, 1 when there is; 2 usage or internal error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import polars as pl

from ..engine import DEFAULT_EXCLUDES
from ..engine.inputs import scan_inputs
from ..errors import UsageError
from ..output.atomic import atomic_write
from ..rules import findings as F
from ..rules.api import RunOptions
from ..rules.registry import Registry
from ..severity import FAIL_ON
from ..tools import fix as fixing
from ..tools.outputs import refuse_inputs
from .cluster import cluster_options, executor_of
from .common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, log, plural, setup_logging
from .options import fail_on_option, log_options, rules_for, run_options, with_plugins


def make_fix(registry: Registry) -> click.Command:
    """The ``fix`` command, with the options the installed plugins add (``--members``)."""
    return with_plugins(fix_cmd, registry)


@click.command("fix")
@click.argument("paths", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Write the fixed copies here (same relative names) and the audit log "
                   f"DIR/{fixing.LOG_NAME}. The inputs are never changed.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Print the fixes as a unified diff of segments and write nothing.")
@click.option("--force", is_flag=True, help="Overwrite files already in --out.")
@fail_on_option("Lowest severity of a finding left unfixed that makes the exit code 1.")
@run_options
@cluster_options
@click.option("--show-phi", is_flag=True,
              help="Quote segments with names, member IDs, birth dates unmasked in the diff "
                   "and the audit log (then written readable by its owner only).")
@log_options
def fix_cmd(paths: tuple[str, ...], out_dir: Path | None, show_diff: bool, force: bool,
            fail_on: str, ruleset_name: str, select: tuple[str, ...], ignore: tuple[str, ...],
            exclude: tuple[str, ...], min_age: float, run_ig: bool, ig_engine: str, jobs: int,
            chunk_bytes: int, executor: str, scheduler: str | None,
            show_phi: bool, verbose: int, quiet: bool, log_format: str,
            **plugin_values: object) -> None:
    """Fix what has exactly one right answer in 837 files, folders and globs: write fixed
    copies to --out DIR, or show the fixes with --diff."""
    setup_logging(verbose, quiet, log_format)
    if (out_dir is None) == (not show_diff):
        raise click.UsageError("give either --out DIR (write fixed copies) or --diff (show them)")
    registry, ruleset, selection = rules_for(ruleset_name, select, ignore)
    found = scan_inputs(paths, (*DEFAULT_EXCLUDES, *exclude), min_age=min_age,
                        skip=[out_dir] if out_dir is not None else [])
    files = [*found.files, *found.unreadable]
    if not files:
        log.warning("no input files found in %s", ", ".join(paths))
    executor, scheduler = executor_of(executor, scheduler)
    options = RunOptions(executor=executor, scheduler=scheduler,
                         show_phi=show_phi, ig=run_ig, ig_engine=ig_engine, jobs=jobs,
                         chunk_bytes=chunk_bytes,
                         plugin={k: v for k, v in plugin_values.items() if v is not None})
    names = fixing.relative_names(files, paths)
    if out_dir is not None:
        _refuse_overwrite(out_dir, files, names, force)
    result = fixing.run(files, paths, ruleset, selection, options, registry,
                        recheck=not show_diff)
    if show_diff:
        text = fixing.diff(result, show_phi)
        sys.stdout.write(text)
        sys.stdout.flush()
        if not quiet:
            click.echo(_summary(result, None), err=True)
        _fail_if_failed(result)
        sys.exit(EXIT_FINDINGS if result.fixed else EXIT_OK)
    assert out_dir is not None
    written = _write(out_dir, result, show_phi)
    threshold = FAIL_ON[fail_on]
    left = result.after if result.after is not None else result.before
    worst = F.worst(left)
    if not quiet:
        click.echo(_summary(result, left), err=True)
    for p in written:
        log.info("wrote %s", p)
    _warn_new(result, registry)
    _fail_if_failed(result)
    sys.exit(EXIT_FINDINGS if worst >= threshold else EXIT_OK)


def _refuse_overwrite(out_dir: Path, files: list[Path], names: dict[Path, str],
                      force: bool) -> None:
    """Never write over an input; over an existing file of DIR only with --force. Checked
    before anything is fixed, for every file that might be written."""
    targets = [out_dir / names[f] for f in files] + [out_dir / fixing.LOG_NAME]
    refuse_inputs(targets, files)
    if not force:
        there = [t for t in targets if t.exists()]
        if there:
            raise UsageError(f"{there[0]} exists" + (f" (and {len(there) - 1} more)"
                                                     if len(there) > 1 else "")
                             + ": use --force to overwrite, or another --out folder")


def _write(out_dir: Path, result: fixing.FixRun, show_phi: bool) -> list[Path]:
    """Every input (fixed, or copied as it is) with the input's permissions (0600 while
    written), so that DIR holds the whole batch for ``split`` or submission, and the audit
    log."""
    written: list[Path] = []
    try:
        for src in result.files:
            data = result.fixed.get(src)
            dest = out_dir / result.names[src]
            atomic_write(dest, src.read_bytes() if data is None else fixing.output_bytes(src, data),
                         private=True)
            os.chmod(dest, src.stat().st_mode & 0o777)
            written.append(dest)
        dest = out_dir / fixing.LOG_NAME
        atomic_write(dest, fixing.log_lines(result, show_phi), private=show_phi)
        written.append(dest)
    except OSError as exc:
        raise UsageError(f"cannot write to {exc.filename or out_dir}: "
                         f"{exc.strerror or exc}") from None
    return written


def _summary(result: fixing.FixRun, left: pl.DataFrame | None) -> str:
    counts = result.counts()
    by_rule = ", ".join(f"{r} {n:,}" for r, n in counts.items())
    n = sum(counts.values())
    lines = [f"{plural(len(result.files), 'file')} read; "
             + (f"{plural(n, 'segment')} fixed in {plural(len(result.fixed), 'file')} ({by_rule})"
                if n else "nothing to fix")]
    if result.refused:
        lines.append(f"{plural(result.refused, 'fix', 'fixes')} left out (segment not as "
                     "expected; see the warnings)")
    if left is not None:
        lines.append(f"remaining: {_by_severity(left)} (no safe fix; before: "
                     f"{_by_severity(result.before)})")
    return "\n".join(lines)


def _by_severity(found: pl.DataFrame) -> str:
    per = dict(found.group_by("severity").len().iter_rows()) if found.height else {}
    return (f"{plural(per.get('error', 0), 'error')}, {plural(per.get('warning', 0), 'warning')}, "
            f"{per.get('info', 0):,} info")


def _warn_new(result: fixing.FixRun, registry: Registry) -> None:
    """A fix must not bring a new finding: say so loudly if one did (a bug to report).
    Batch rules (duplicates across files) are left out: the fix passes see one chunk of
    files at a time, the re-check the whole batch."""
    if result.after is None or not result.fixed:
        return
    keys = ["file", "rule", "segment_index"]
    batch = [c for r in registry.rules.values() if r.batch for c in r.codes]
    new = result.after.filter(~pl.col("rule").is_in(batch)).join(
        result.before.select(keys).unique(), on=keys, how="anti", nulls_equal=True)
    if new.height:
        log.warning("the fixed files have %s the originals did not (%s): please report this",
                    plural(new.height, "finding"), ", ".join(sorted(set(new["rule"]))))


def _fail_if_failed(result: fixing.FixRun) -> None:
    if result.failed:
        click.echo(f"internal error: check(s) {', '.join(result.failed)} failed and did not "
                   "run (run with -vv for details)", err=True)
        sys.exit(EXIT_USAGE)
