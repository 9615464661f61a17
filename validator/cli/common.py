"""What the commands share: logging on stderr, exit codes, errors as one line."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback

import click

from ..errors import UsageError
from ..ruleset.model import RulesetError
from ..tools.nightly import EXIT_LOCKED, Locked

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it
log = logging.getLogger("claims_validator")


class _Formatter(logging.Formatter):
    """One line per record on stderr, stamped in UTC: ``2026-03-02T04:00:01Z warning: …``,
    or one JSON object per line with ``--log-format json`` (for log collectors)."""

    def __init__(self, fmt: str) -> None:
        super().__init__()
        self.json = fmt == "json"

    def format(self, record: logging.LogRecord) -> str:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
        level = record.levelname.lower()
        text = record.getMessage()
        if record.exc_info and log.isEnabledFor(logging.DEBUG):
            text += "\n" + self.formatException(record.exc_info)
        if self.json:
            return json.dumps({"time": when, "level": level, "message": text})
        return f"{when} {level}: {text}"


def setup_logging(verbose: int, quiet: bool, fmt: str = "text") -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else
                                           logging.INFO if verbose else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(fmt))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def split_csv(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def codes(values: tuple[str, ...]) -> list[str]:
    """Rule codes or prefixes, any case (``kp`` = ``KP``), as `rules kp` takes them."""
    return [v.upper() for v in split_csv(values)]


class Group(click.Group):
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
        except Locked as exc:  # another run is at work on the same inbox: not an error of ours
            click.echo(f"error: {exc}; not running", err=True)
            ctx.exit(EXIT_LOCKED)
        except Exception as exc:
            if log.isEnabledFor(logging.DEBUG):
                traceback.print_exc(file=sys.stderr)
            click.echo(f"internal error: {type(exc).__name__}: {exc} "
                       "(run with -vv for details)", err=True)
            ctx.exit(EXIT_USAGE)
