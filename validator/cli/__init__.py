"""The command line (see :mod:`validator.cli.app`)."""

from .app import main, run

__all__ = ["main", "run"]
