"""Mutated copies of real files (seeded, so failures reproduce): the batch never crashes,
no check fails internally, and every CLM the reader found is a claim of the output."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest
from helpers import CORPUS, SAMPLES, doc_without_run, run_cli

from validator.engine import read_batch

N_FILES = 80


def _sources() -> list[Path]:
    found = sorted(SAMPLES.glob("*.edi"))
    if CORPUS is not None:
        found += sorted(p for p in CORPUS.rglob("*") if p.is_file()
                        and p.suffix not in (".tsv", ".md") and "LICENSE" not in p.name)
    return found


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """A few random edits of the kinds real breakage shows: cut, doubled or swapped runs of
    bytes, stray bytes, a truncated tail, a changed element separator."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        if not b:
            break
        i = rng.randrange(len(b))
        op = rng.choice(("cut", "double", "byte", "truncate", "swap", "separator"))
        if op == "cut":
            del b[i:i + rng.randint(1, 40)]
        elif op == "double":
            b[i:i] = b[i:i + rng.randint(1, 200)]
        elif op == "byte":
            b[i] = rng.choice(b"~*:^\n\r\x00 A0|\xff")
        elif op == "truncate":
            del b[i:]
        elif op == "swap":
            j, k = rng.randrange(len(b)), rng.randint(1, 50)
            b[i:i + k], b[j:j + k] = b[j:j + k], b[i:i + k]
        else:
            b = bytearray(bytes(b).replace(b"*", b"|", rng.randint(1, 50)))
    return bytes(b)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory) -> Path:
    rng = random.Random(20261202)
    sources = _sources()
    folder = tmp_path_factory.mktemp("fuzz")
    for k in range(N_FILES):
        src = rng.choice(sources)
        (folder / f"m{k:03d}_{src.name}").write_bytes(_mutate(src.read_bytes(), rng))
    return folder


def test_mutated_files_never_crash_the_batch(fuzzed):
    code, out, err = run_cli(["check", "--format", "json", "--no-ig", str(fuzzed)])
    assert code in (0, 1), err
    assert "Traceback" not in err and "internal error" not in err
    doc = json.loads(out)
    assert doc["summary"]["files"] == N_FILES
    assert not [f for f in doc["findings"] if f["rule"] == "INT001"]


def test_every_clm_read_is_a_claim(fuzzed):
    batch = read_batch(sorted(fuzzed.iterdir()))
    clm = batch.segments.filter(pl.col("seg_id") == "CLM").group_by("file_id").len()
    got = batch.claims.group_by("file_id").len()
    assert clm.sort("file_id").equals(got.sort("file_id"))
    assert batch.files.filter(pl.col("status") == "parsed").height > N_FILES // 2


def test_mutated_files_through_pyx12(fuzzed):
    some = sorted(fuzzed.iterdir())[:12]
    code, out, err = run_cli(["check", "--format", "json", "--ig", "--ig-engine", "pyx12", "-j1",
                               *map(str, some)])
    assert code in (0, 1), err
    assert "Traceback" not in err
    assert not [f for f in json.loads(out)["findings"] if f["rule"] == "INT001"]


@pytest.mark.slow
def test_a_files_findings_do_not_depend_on_the_other_files(fuzzed):
    # The whole folder in one pass equals each file read as a chunk of its own: nothing of
    # one file (an open group, a segment position, a batch-wide shortcut) leaks into the
    # checks of the next.
    code, whole, err = run_cli(["check", "--format", "json", "--no-ig", str(fuzzed)])
    alone = run_cli(["check", "--format", "json", "--no-ig", "--chunk-size", "1", str(fuzzed)])
    assert code == alone[0], err
    assert doc_without_run(whole) == doc_without_run(alone[1])
