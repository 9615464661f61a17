"""Errors every layer may raise: the bottom of the import graph."""

from __future__ import annotations


class UsageError(Exception):
    """Bad arguments or input the user must fix, such as a broken roster (exit code 2)."""
