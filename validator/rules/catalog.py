"""Imports every rule module so that each registers its rules (one line per family)."""

from . import envelope, file_level  # noqa: F401
