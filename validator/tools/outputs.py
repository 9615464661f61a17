"""Where the tools that write 837s (``fix``, ``split``) put each input's copy, and the one
thing they never do: write over an input."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import UsageError


def below_roots(paths: Sequence[Path], roots: Sequence[str]) -> dict[Path, Path]:
    """Each input's path below the folder argument it was found in (the deepest, when
    folder arguments nest), else its file name."""
    folders = sorted((Path(os.path.abspath(r)) for r in roots if Path(r).is_dir()),
                     key=lambda p: len(p.parts), reverse=True)
    names: dict[Path, Path] = {}
    for p in paths:
        full = Path(os.path.abspath(p))
        base = next((f for f in folders if full.is_relative_to(f) and full != f), None)
        names[p] = full.relative_to(base) if base else Path(full.name)
    return names


def refuse_inputs(targets: Iterable[Path], inputs: Iterable[Path]) -> None:
    """A usage error when one of ``targets`` is one of ``inputs`` (links resolved): the
    tools write copies, never over what they read, even with ``--force``."""
    real = {os.path.realpath(p) for p in inputs}
    for t in targets:
        if os.path.realpath(t) in real:
            raise UsageError(f"{t} would overwrite an input file; choose another --out folder")
