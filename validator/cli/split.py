"""``claims-validator split``: check, then cut each input into the claims ready to submit
and the claims held back."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..engine import DEFAULT_EXCLUDES, check
from ..engine.inputs import scan_inputs
from ..errors import UsageError
from ..rules.api import RunOptions
from ..rules.registry import Registry
from ..tools.split import existing_outputs, output_names, split
from .cluster import cluster_options, executor_of
from .common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, log, plural, setup_logging
from .options import fail_on_option, log_options, rules_for, run_options, with_plugins


def make_split(registry: Registry) -> click.Command:
    """The ``split`` command, with the plugins' options after ``--ruleset`` (as ``check``)."""
    return with_plugins(split_cmd, registry)


@click.command("split")
@click.argument("paths", nargs=-1, required=True)
@click.option("--out", "out_dir", required=True, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for ready/, held/ and split-manifest.csv/.json.")
@click.option("--force", is_flag=True,
              help="Replace the outputs of an earlier split in DIR (else exit 2, writing nothing).")
@click.option("--held-control-number", "held_control", metavar="N",
              type=click.IntRange(1, 999_999_999),
              help="ISA13 of the first held interchange (+1 for each further one) "
                   "[default: derived from the file's content].")
@fail_on_option("Lowest severity that holds a claim back (and makes the exit code 1).")
@run_options
@cluster_options
@log_options
def split_cmd(paths: tuple[str, ...], out_dir: Path, force: bool, held_control: int | None,
              fail_on: str, ruleset_name: str, select: tuple[str, ...], ignore: tuple[str, ...],
              exclude: tuple[str, ...], min_age: float, run_ig: bool, ig_engine: str, jobs: int,
              chunk_bytes: int, executor: str, scheduler: str | None,
              verbose: int, quiet: bool, log_format: str,
              **plugin_values: object) -> None:
    """Check 837 files, then write each one's claims to DIR/ready/ (nothing at or above
    --fail-on) and DIR/held/ (the others) as valid 837 files, with a manifest.

    Exit code 0: nothing held; 1: claims (or unreadable inputs) held; 2: usage or internal
    error, nothing written.
    """
    setup_logging(verbose, quiet, log_format)
    registry, ruleset, selection = rules_for(ruleset_name, select, ignore)
    found = scan_inputs(paths, (*DEFAULT_EXCLUDES, *exclude), min_age=min_age, skip=[out_dir])
    files = [*found.files, *found.unreadable]
    if not files:
        raise UsageError(f"no input files found in {', '.join(paths)}")
    if (clash := existing_outputs(out_dir, output_names(files, paths))) and not force:
        raise UsageError(f"{clash[0]} exists (an earlier split?); choose another --out folder "
                         "or add --force to replace the outputs")
    executor, scheduler = executor_of(executor, scheduler)
    options = RunOptions(executor=executor, scheduler=scheduler,
                         ig=run_ig, ig_engine=ig_engine, jobs=jobs, chunk_bytes=chunk_bytes,
                         plugin={k: v for k, v in plugin_values.items() if v is not None})
    result = check(files, ruleset, selection, options, inputs=list(paths), registry=registry)
    if result.failed:
        click.echo(f"internal error: check(s) {', '.join(result.failed)} failed (run with -vv "
                   "for details); nothing was split", err=True)
        sys.exit(EXIT_USAGE)
    try:
        s = split(result, out_dir, fail_on, paths, held_control, force)
    except OSError as exc:
        raise UsageError(f"cannot write to {exc.filename or out_dir}: {exc.strerror or exc}"
                         ) from None
    if not quiet:
        click.echo(
            f"{plural(s.files, 'file')} ({s.unreadable:,} unreadable), "
            f"{plural(s.claims, 'claim')}: {s.ready:,} ready, {s.held:,} held "
            f"(--fail-on {fail_on})", err=True)
    for dest, written in s.written.items():
        log.info("%s: %s", dest, ", ".join(map(str, written)) or "none")
    click.echo(f"ready: {plural(len(s.written['ready']), 'file')} in {out_dir / 'ready'}; "
               f"held: {plural(len(s.written['held']), 'file')} in {out_dir / 'held'}; "
               f"manifest: {s.manifest[0]}", err=True)
    sys.exit(EXIT_FINDINGS if s.anything_held else EXIT_OK)
