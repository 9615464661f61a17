"""Shared fixtures of the test suite.

* ``repo``: the repository folder.
* ``corpus``: the shared corpus (``../shared/corpus``); a test that asks for it skips when
  the folder is absent, and is marked ``corpus`` (``-m "not corpus"`` leaves it out).
  A test marked ``corpus`` that finds the folder on its own skips the same way.
* ``registry``: the rules, annotators and plugins of this installation.
* ``ruleset``: the shipped ``kp-cigna`` ruleset, loaded once (treat it as read-only).

EDI texts come from ``edi_builder``; ``helpers`` has the small functions (``run_cli``,
``check_files``, ``load_ruleset``…) and the paths these fixtures hand out.
"""

from __future__ import annotations

from pathlib import Path

import helpers
import pytest

CORPUS_ABSENT = "shared corpus (../shared/corpus) is absent"


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers added here
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "corpus" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.corpus)
        if helpers.CORPUS is None and item.get_closest_marker("corpus"):
            item.add_marker(pytest.mark.skip(reason=CORPUS_ABSENT))


@pytest.fixture(scope="session")
def repo() -> Path:
    return helpers.REPO


@pytest.fixture(scope="session")
def corpus() -> Path:
    if helpers.CORPUS is None:
        pytest.skip(CORPUS_ABSENT)
    return helpers.CORPUS


@pytest.fixture(scope="session")
def registry():
    return helpers.registry()


@pytest.fixture(scope="session")
def ruleset():
    return helpers.load_ruleset("kp-cigna")
