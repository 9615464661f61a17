"""Options that ``check`` and the commands built on it (``split``, ``fix``) share: the same flags,
help and defaults in each, defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from ..model.chunking import parse_size
from ..rules.plugin import Option
from ..rules.registry import Registry

F = TypeVar("F", bound=Callable)


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Apply option decorators as if written one above the other, in this order."""
    def apply(f: F) -> F:
        for d in reversed(decorators):
            f = d(f)
        return f
    return apply


def fail_on_option(help: str = "Lowest severity that makes the exit code 1.") -> Callable[[F], F]:
    return click.option("--fail-on", type=click.Choice(["error", "warning", "never"]),
                        default="error", show_default=True, help=help)


# --ruleset .. --chunk-size: what runs and how the inputs are found and read.
run_options = _stack(
    click.option("--ruleset", "ruleset_name", show_default=True,
                 help="A shipped ruleset name or a path to a ruleset TOML file."),
    click.option("--select", multiple=True, metavar="CODES",
                 help="Only these rule codes or prefixes (comma-separated, ruff style)."),
    click.option("--ignore", multiple=True, metavar="CODES",
                 help="Skip these rule codes or prefixes."),
    click.option("--exclude", multiple=True, metavar="GLOB",
                 help="Extra globs to skip when scanning folders: a file or folder name "
                      "(archive), or a path below the scanned folder when it holds a / "
                      "(2026/*/old*.edi)."),
    click.option("--min-age", type=click.FloatRange(min=0), default=0, metavar="SECONDS",
                 help="Leave files modified less than SECONDS ago for the next run (files still "
                      "being written); they are named in a warning."),
    click.option("--ig/--no-ig", "run_ig", default=True, show_default=True,
                 help="Run implementation-guide validation (SNIP 2)."),
    click.option("--ig-engine", type=click.Choice(["native", "pyx12"]), default="native",
                 show_default=True,
                 help="native: the guides compiled into tables, checked in whole columns; pyx12: "
                      "pyx12's validator (the reference; slow, uses --jobs)."),
    click.option("--jobs", "-j", type=click.IntRange(min=0), default=0,
                 help="Worker processes for implementation-guide validation, or the local Dask "
                      "cluster's workers with --executor dask (0 = one per core)."),
    click.option("--chunk-size", "chunk_bytes", default="128M", show_default=True,
                 metavar="SIZE", callback=lambda _ctx, _param, v: _size(v),
                 help="Read and check larger inputs this much at a time (whole files, larger "
                      "files cut at ISA/ST boundaries; K/M/G; 0 = all at once). Bounds memory; "
                      "the results are the same."),
)

# -v / -q / --log-format: logging on stderr.
log_options = _stack(
    click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv: debug)."),
    click.option("-q", "--quiet", is_flag=True,
                 help="No summary on stderr (the report paths and warnings are still printed)."),
    click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
                 show_default=True, help="Log lines on stderr: UTC-stamped text, or JSON lines."),
)


def _plugin_option(opt: Option) -> click.Option:
    kind = (click.Path(exists=True, dir_okay=False, path_type=Path) if opt.kind == "file"
            else click.STRING)
    return click.Option([opt.flag, opt.name], type=kind, metavar=opt.metavar, help=opt.help)


def with_plugins(cmd: click.Command, registry: Registry) -> click.Command:
    """``cmd`` with the options the installed plugins add (``--members``) after
    ``--ruleset``, whose default is the registry's default ruleset."""
    at = next(i for i, p in enumerate(cmd.params) if p.name == "ruleset_name") + 1
    cmd.params[at:at] = [_plugin_option(o) for o in registry.options]
    for p in cmd.params:
        if p.name == "ruleset_name":
            p.default = registry.default_ruleset
            p.required = registry.default_ruleset is None
    return cmd


def rules_for(ruleset_name: str | None, select: tuple[str, ...], ignore: tuple[str, ...]):
    """The registry, ruleset and selection a run's options name; an unknown rule code in
    ``--select``/``--ignore`` is a usage error (as ``check`` reports it)."""
    from ..engine import Selection
    from ..rules.registry import discover
    from ..ruleset.load import load as load_ruleset
    from .common import codes

    registry = discover()
    named = codes(select) + codes(ignore)
    bad = [c for c in named if c != "ALL" and not any(r.startswith(c) for r in registry)]
    if bad:
        raise click.BadParameter(f"no rule code matches {bad[0]!r}", param_hint="--select/--ignore")
    ruleset = load_ruleset(ruleset_name, registry)  # type: ignore[arg-type]
    return registry, ruleset, Selection.build(ruleset, codes(select), codes(ignore))
