"""Imports every rule module so that each registers its rules.

Every module under ``validator.rules`` (and its sub-packages) and ``validator.kp`` is
imported; a new rule family only has to live there.
"""

from __future__ import annotations

import importlib
import pkgutil

_PACKAGES = ("validator.rules", "validator.kp")
_SKIP = {"validator.rules.catalog", "validator.rules.registry"}


def _import_tree(package: str) -> None:
    try:
        pkg = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        if exc.name == package:
            return
        raise
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        if info.name not in _SKIP:
            importlib.import_module(info.name)


for _package in _PACKAGES:
    _import_tree(_package)
