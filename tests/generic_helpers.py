"""Checking files with the generic rule families: ``run(text, tmp_path)`` checks the text
(or the files of one batch) and returns the findings with their claim's CLM01.

The files are built by ``edi_builder`` (``build``, ``claim``, ``billing``…); the names
re-exported here keep older imports of them from this module working.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl
from edi_builder import (  # noqa: F401  (re-exported)
    BILLING_NPI,
    FACILITY_NPI,
    RENDERING_NPI,
    VERSION,
    billing,
    build,
    build_multi,
    claim,
    npi,
    patient,
    subscriber,
)
from helpers import load_ruleset

from validator.engine import Selection, check
from validator.rules.api import RunOptions

GENERIC = ("BAL", "SIT", "CODE", "DUP")


def run(text: str | Sequence[str], tmp_path: Path, select: Sequence[str] = GENERIC,
        ) -> pl.DataFrame:
    """Check one text (or several files of one batch) and return the findings."""
    texts = [text] if isinstance(text, str) else list(text)
    paths = []
    for i, t in enumerate(texts):
        p = tmp_path / f"claims{i}.837"
        p.write_text(t, encoding="ascii")
        paths.append(p)
    rs = load_ruleset("kp-cigna")
    res = check(paths, rs, Selection(select=list(select)), RunOptions())
    claims = res.claim_frame(["claim_key", "claim_id"])
    return res.findings.join(claims, on="claim_key", how="left")


def codes(found: pl.DataFrame) -> set[str]:
    return set(found["rule"].to_list())
