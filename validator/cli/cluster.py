"""The ``check`` options that choose where work units run (``--executor``, ``--scheduler``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..engine.distributed import SCHEDULER_ENV
from ..errors import UsageError


def cluster_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--executor local|dask`` and ``--scheduler ADDRESS`` (see :func:`executor_of`)."""
    f = click.option(
        "--scheduler", metavar="ADDRESS",
        help=f"With --executor dask: an existing Dask scheduler (tcp://host:8786) instead of a "
             f"local cluster [default: ${SCHEDULER_ENV} when set].")(f)
    return click.option(
        "--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
        help="local: this process; dask: work units (files, pieces of large files) on a Dask "
             "cluster, a local one of --jobs workers or the --scheduler's (needs the dask "
             "extra; inputs must be at the same path on every worker).")(f)


def executor_of(executor: str, scheduler: str | None) -> tuple[str, str | None]:
    """The executor and the scheduler address; ``--scheduler`` asks for ``--executor dask``."""
    if scheduler is not None and executor != "dask":
        raise UsageError("--scheduler needs --executor dask")
    if scheduler is not None and not scheduler.strip():
        raise UsageError("--scheduler: empty address")
    return executor, scheduler
