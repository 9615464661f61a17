"""``claims-validator ruleset lint|test|show``: rulesets checked and tested like code.

Exit codes: 0 = clean / all cases pass; 1 = problems / failing cases; 2 = usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..rules.registry import discover
from ..ruleset.load import load
from ..ruleset.model import RulesetError
from ..ruleset.toml import dumps
from ..tools import cases as T
from ..tools.lint import LintUsageError, lint
from .common import setup_logging

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _set_verbosity(_ctx: click.Context, _param: click.Parameter, verbose: int) -> None:
    setup_logging(verbose, False)


# -v/-vv as on `check`: internal errors say "run with -vv for details".
_verbose = click.option("-v", "--verbose", count=True, expose_value=False,
                        callback=_set_verbosity, help="More logging on stderr (-vv: debug).")


def _fail_usage(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)


@click.group("ruleset", context_settings={"help_option_names": ["-h", "--help"]})
def ruleset_group() -> None:
    """Lint, test and show rulesets (see rulesets/README.md)."""


@ruleset_group.command("lint")
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@_verbose
def lint_cmd(paths: tuple[str, ...], fmt: str) -> None:
    """Check rulesets against the schema: every problem with file, key and line.

    PATHS are ruleset files or folders (every *.toml inside, recursively, except under
    tests/ folders). Rulesets they extend are checked too.
    """
    try:
        result = lint(paths, discover())
    except LintUsageError as exc:
        _fail_usage(str(exc))
        return
    _write(result.json() if fmt == "json" else result.text(), None)
    sys.exit(EXIT_PROBLEMS if result.problems else EXIT_OK)


@ruleset_group.command("test")
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text",
              show_default=True, help="junit: JUnit XML, one testcase per case.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
@click.option("--update", is_flag=True,
              help="After review: write what failing cases raised as their expected codes "
                   "(comments kept; cases with errors are left alone).")
@_verbose
def test_cmd(paths: tuple[str, ...], fmt: str, output: Path | None, quiet: bool,
             update: bool) -> None:
    """Run ruleset test cases: each EDI file through `check`, compared claim by claim.

    PATHS are case files, folders (searched recursively for case files) or ruleset files
    (their cases in tests/<name>/ beside them).
    """
    try:
        results = T.run(paths, discover())
    except T.TestUsageError as exc:
        _fail_usage(str(exc))
        return
    render = {"text": T.text_report, "json": T.json_report, "junit": T.junit_report}[fmt]
    _write(render(results), output)
    if update:
        done = [r.path for r in results if T.update_case(r)]
        click.echo(f"updated {len(done)} case file{'s' if len(done) != 1 else ''}"
                   + "".join(f"\n  {p}" for p in done), err=True)
        results = [r for r in results if r.path not in done]
    if not quiet and (fmt != "text" or output is not None):
        click.echo(T.summary(results), err=True)
    sys.exit(EXIT_OK if all(r.status == "pass" for r in results) else EXIT_PROBLEMS)


@ruleset_group.command("show")
@click.argument("name_or_path", required=False)
@click.option("--format", "fmt", type=click.Choice(["toml", "json"]), default="toml",
              show_default=True)
@_verbose
def show_cmd(name_or_path: str, fmt: str) -> None:
    """Print the effective ruleset: after `extends`, overrides and `extra_*` additions
    (default: the default ruleset)."""
    registry = discover()
    name = name_or_path or registry.default_ruleset
    if name is None:
        _fail_usage("no ruleset named and no plugin provides a default one")
        return
    try:
        rs = load(name, registry)
    except RulesetError as exc:
        _fail_usage(str(exc))
        return
    if fmt == "json":
        doc = {"path": rs.path, "extends": rs.parents, "ruleset": rs.data}
        _write(json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n", None)
        return
    head = [f"# Effective ruleset {rs.name!r} from {rs.path}"]
    head += [f"# extends {p}" for p in rs.parents]
    _write("\n".join(head) + "\n\n" + dumps(rs.data), None)
