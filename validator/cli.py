"""Command line: ``claims-validator check|rules|ruleset``.

Exit codes: 0 = no finding at or above ``--fail-on``; 1 = there are; 2 = usage or
internal error. stdout carries only the requested document; logs go to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from pathlib import Path

import click

from . import __version__
from .chunking import parse_size
from .engine import Selection, UsageError, check, collect_inputs
from .output import tables as views
from .output.writers import WRITERS, reserve_names
from .rules.registry import load_all
from .ruleset import RulesetError
from .ruleset import load as load_ruleset

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it
log = logging.getLogger("claims_validator")


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else
                                           logging.INFO if verbose else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def _split_csv(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _codes(values: tuple[str, ...]) -> list[str]:
    """Rule codes or prefixes, any case (``kp`` = ``KP``), as `rules kp` takes them."""
    return [v.upper() for v in _split_csv(values)]


def _report_option(ctx: click.Context, param: click.Parameter, value: str | None,
                   ) -> Path | str | None:
    """``--report FILE``: a file path, or ``-`` for stdout; an empty value is a usage error."""
    if value is None or value == "-":
        return value
    if not value.strip():
        raise click.BadParameter("empty path")
    return click.Path(dir_okay=False, path_type=Path).convert(value, param, ctx)


class _Group(click.Group):
    """Turns any unexpected exception into a one-line message and exit code 2."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:  # Ctrl-C: not "findings" (1); the shell's 128 + SIGINT
            click.echo("Aborted!", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader of stdout went away (e.g. `| head`): stop quietly, as Python tools do.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(1)
        except (UsageError, RulesetError) as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_USAGE)
        except Exception as exc:
            if log.isEnabledFor(logging.DEBUG):
                traceback.print_exc(file=sys.stderr)
            click.echo(f"internal error: {type(exc).__name__}: {exc} "
                       "(run with -vv for details)", err=True)
            ctx.exit(EXIT_USAGE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="claims-validator")
def main() -> None:
    """Validate outgoing EDI 837 claim files before they are submitted."""


def run() -> None:
    """Console entry point: run the CLI, then leave at once.

    Tearing down a large run's heap (millions of segments) takes a tenth of a second and
    does nothing useful: once every output is flushed, the process exits directly.
    """
    code = 0
    try:
        main()
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        code = exc.code if isinstance(exc.code, int) else (1 if exc.code else 0)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, OSError):  # the reader went away: nothing to tell it
            code = code or 1
    os._exit(code)


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command("check")
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "formats", multiple=True, metavar="FMT[,FMT]",
              help="Output formats: html, json, csv, parquet, junit (repeat or comma-separate). "
                   "A single json goes to stdout; other formats are written as files.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports"), show_default=True,
              help="Folder for report files, named with the run's timestamp.")
@click.option("--report", "report_path", callback=_report_option, metavar="FILE",
              help="Exact path of the report file, or - for stdout (single format only).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), default="error",
              show_default=True, help="Lowest severity that makes the exit code 1.")
@click.option("--ruleset", "ruleset_name", default="kp-cigna", show_default=True,
              help="A shipped ruleset name or a path to a ruleset TOML file.")
@click.option("--members", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Member roster (CSV or Parquet: member_id, product, region, funding).")
@click.option("--select", multiple=True, metavar="CODES",
              help="Only these rule codes or prefixes (comma-separated, ruff style).")
@click.option("--ignore", multiple=True, metavar="CODES",
              help="Skip these rule codes or prefixes.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Extra file-name globs to skip when scanning folders.")
@click.option("--ig/--no-ig", "run_ig", default=True, show_default=True,
              help="Run implementation-guide validation through pyx12 (slow; SNIP 2).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0,
              help="Worker processes for implementation-guide validation (0 = one per core).")
@click.option("--chunk-size", "chunk_bytes", default="128M", show_default=True,
              metavar="SIZE", callback=lambda _ctx, _param, v: _size(v),
              help="Read and check larger inputs this much at a time (whole files; K/M/G; "
                   "0 = all at once). Bounds memory; the results are the same.")
@click.option("--show-phi", is_flag=True,
              help="Show patient names, member IDs and birth dates unmasked in reports.")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def check_cmd(paths: tuple[str, ...], formats: tuple[str, ...], report_dir: Path,
              report_path: Path | str | None, fail_on: str, ruleset_name: str,
              members: Path | None, select: tuple[str, ...], ignore: tuple[str, ...],
              exclude: tuple[str, ...], run_ig: bool, jobs: int, chunk_bytes: int,
              show_phi: bool, verbose: int, quiet: bool) -> None:
    """Check 837 files, folders (recursive) and globs."""
    _setup_logging(verbose, quiet)
    fmts = list(dict.fromkeys(_split_csv(formats))) or [_default_format()]  # once each
    unknown = [f for f in fmts if f not in WRITERS]
    if unknown:
        raise click.BadParameter(f"unknown format {unknown[0]!r}; choose from "
                                 + ", ".join(sorted(WRITERS)), param_hint="--format")
    if report_path and len(fmts) > 1:
        raise click.BadParameter("--report takes a single format", param_hint="--report")
    registry = load_all()
    codes = _codes(select) + _codes(ignore)
    bad = [c for c in codes if c != "ALL" and not any(r.startswith(c) for r in registry)]
    if bad:
        raise click.BadParameter(f"no rule code matches {bad[0]!r}", param_hint="--select/--ignore")
    ruleset = load_ruleset(ruleset_name)
    selection = Selection.build(ruleset, _codes(select), _codes(ignore))
    from .engine import DEFAULT_EXCLUDES

    files = collect_inputs(paths, (*DEFAULT_EXCLUDES, *exclude))
    if not files:
        click.echo(f"warning: no input files found in {', '.join(paths)}", err=True)
    options = {"members": members, "show_phi": show_phi, "ig": run_ig, "jobs": jobs,
               "chunk_bytes": chunk_bytes}
    result = check(files, ruleset, selection, options, inputs=list(paths))

    to_stdout = report_path == "-" or (fmts == ["json"] and report_path is None)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(result.started))
    written: list[Path] = []
    if to_stdout:
        _to_stdout(fmts[0], result, options)
    else:
        dests: list[Path] = []
        try:
            dests = [report_path] if report_path else reserve_names(
                report_dir, f"claims-report-{stamp}", [WRITERS[f].extension for f in fmts])
            for fmt, dest in zip(fmts, dests, strict=True):
                WRITERS[fmt].write(result, dest, options)
                written.append(dest)
        except OSError as exc:  # a folder that cannot be created or written, a full disk…
            where = exc.filename or (dests[len(written)] if dests else report_dir)
            raise UsageError(f"cannot write the report to {where}: "
                             f"{exc.strerror or exc}") from None
        finally:  # a failed write leaves no empty placeholder behind
            for dest in dests[len(written):]:
                if not report_path and dest.exists() and not dest.stat().st_size:
                    dest.unlink()
    if not quiet:
        _echo_summary(result, written)
    if result.failed:  # outputs are written; the run still counts as an internal error
        click.echo(f"internal error: check(s) {', '.join(result.failed)} failed and did not run "
                   "(INT001 findings; run with -vv for details)", err=True)
        sys.exit(EXIT_USAGE)
    threshold = {"error": 2, "warning": 1, "never": 99}[fail_on]
    sys.exit(EXIT_FINDINGS if result.worst() >= threshold else EXIT_OK)


def _to_stdout(fmt: str, result, options: dict) -> None:
    """Write the one report to stdout: JSON as it is produced, other formats via a temp file."""
    sys.stdout.flush()
    if fmt == "json":
        from .output.json_report import chunks

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


def _echo_summary(result, written: list[Path]) -> None:
    s = views.summary(result)
    f = s["findings"]
    rate = (s["claims"] - s["claims_with_errors"]) / s["claims"] * 100 if s["claims"] else 100.0
    lines = [
        f"{s['files']} files ({s['files_unreadable']} unreadable), {s['claims']} claims: "
        f"{s['claims_with_errors']} with errors, {s['claims_with_warnings']} with warnings "
        f"({rate:.1f}% without errors)",
        f"findings: {f['error']} errors, {f['warning']} warnings, {f['info']} info"
        f" in {result.elapsed:.2f}s",
    ]
    top = views.top_rules(result)
    if top:
        lines.append("top rules: " + ", ".join(f"{r} ({n})" for r, n in top))
    lines += [f"report: {p}" for p in written]
    click.echo("\n".join(lines), err=True)


@main.command("rules")
@click.argument("code", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def rules_cmd(code: str | None, fmt: str) -> None:
    """List every rule, or print one rule's documentation."""
    import json

    registry = load_all()
    if code and code.upper() not in registry and any(c.startswith(code.upper()) for c in registry):
        registry = {c: x for c, x in registry.items() if c.startswith(code.upper())}  # a prefix
        code = None
    if code:
        r = registry.get(code.upper())
        if r is None:
            raise click.BadParameter(f"no rule {code!r}; run `claims-validator rules`",
                                     param_hint="CODE")
        if fmt == "json":
            click.echo(json.dumps(_rule_dict(r), indent=2))
        else:
            click.echo(f"# {r.code}: {r.title}\n\nseverity: {r.severity}   SNIP level: "
                       f"{r.snip_level}   family: {r.family}\n\n{r.doc}")
        return
    rows = sorted(registry.values(), key=lambda r: r.code)
    if fmt == "json":
        click.echo(json.dumps([_rule_dict(r) for r in rows], indent=2))
        return
    click.echo(f"{'CODE':<8} {'SEVERITY':<8} SNIP  {'FAMILY':<9} TITLE")
    for r in rows:
        click.echo(f"{r.code:<8} {r.severity:<8} {r.snip_level:>4}  {r.family:<9} {r.title}")


def _rule_dict(r) -> dict:
    return {"code": r.code, "title": r.title, "severity": r.severity,
            "snip_level": r.snip_level, "family": r.family, "summary": r.summary,
            "doc": r.doc}


from .cli_ruleset import ruleset_group  # noqa: E402  (the `ruleset` commands)

main.add_command(ruleset_group)
