"""Command line: ``claims-validator check|fix|split|rules|ruleset``.

Exit codes: 0 = no finding at or above ``--fail-on``; 1 = there are; 2 = usage or
internal error. stdout carries only the requested document; logs go to stderr.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from .. import __version__
from ..data import codesets
from ..rules.registry import discover
from .check import make_check
from .common import Group
from .fix import make_fix
from .rules import rules_cmd
from .ruleset import ruleset_group
from .split import make_split


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: the tool's version and the code-set data it checks against."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"claims-validator, version {__version__}")
    click.echo("code sets:")
    for name in ("icd10cm", "icd10pcs", "zip"):
        click.echo(f"  {codesets.describe(name)}")
    ctx.exit()


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show the version and the code-set releases it checks against, and exit.")
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



_registry = discover()
main.add_command(make_check(_registry))
main.add_command(make_fix(_registry))
main.add_command(make_split(_registry))
main.add_command(rules_cmd)
main.add_command(ruleset_group)
