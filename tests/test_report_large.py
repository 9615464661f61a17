"""The HTML report of a 100,000-claim batch with 100,000+ findings stays small and quick.

Every claim carries a malformed segment (ENV151) and the transaction set's SE01 is off
(ENV131): at least 100,001 findings over 100,000 claims, all of them shown in the page's
claim panels. The bound is checked on the result as checked and on a worst case where
every finding's message and value are distinct (no lookup-table sharing at all).
"""

from __future__ import annotations

import time

import polars as pl
import pytest

from tests.report_helpers import large_result
from validator.engine import Result
from validator.output.writers import WRITERS

N_CLAIMS = 100_000
# Stated bound: at most 60 bytes per finding (6 MB at 100k) for the whole self-contained
# page (findings, claim panels, charts and glossary).
MAX_BYTES = 60 * N_CLAIMS
MAX_WRITE_S = 30.0


@pytest.mark.parametrize("variant", ["as-checked", "distinct-messages"])
def test_100k_findings_report_size_and_write_time(variant, tmp_path):
    result = large_result(N_CLAIMS)
    assert result.claims.height == N_CLAIMS
    # One ENV151 per claim and the ENV131 of the transaction set (plus KP rule findings
    # for the third of the claims sent to a Kaiser payer name, when the KP rules run).
    rules = result.findings["rule"]
    assert (rules == "ENV151").sum() == N_CLAIMS and (rules == "ENV131").sum() == 1
    if variant == "distinct-messages":
        f = result.findings.with_row_index("_n").with_columns(
            message=pl.format("{} (finding {})", "message", "_n"),
            found=pl.format("{}-{}", pl.col("found").fill_null(""), "_n")).drop("_n")
        result = Result(result.batch, f, result.claims, result.ruleset, result.inputs,
                        result.started, result.elapsed)
    out = tmp_path / "large.html"
    t0 = time.perf_counter()
    WRITERS["html"].write(result, out)
    elapsed = time.perf_counter() - t0
    size = out.stat().st_size
    print(f"\n100k-claims HTML report ({variant}, {result.findings.height:,} findings): "
          f"{size / 1e6:.2f} MB written in {elapsed:.2f} s")
    assert size <= MAX_BYTES, f"{size:,} bytes > {MAX_BYTES:,}"
    assert elapsed < MAX_WRITE_S
    page = out.read_text()
    assert 'data-encoding="deflate-base64"' in page
    assert f"{result.findings.height:,}" in page  # findings count in the summary
