"""Every file of the shared corpus (../shared/corpus, MANIFEST.tsv) reconciles: exit 0 or 1,
never 2, and one claim per CLM segment. Skipped when the shared folder is absent."""

from __future__ import annotations

import csv
import gzip
import json
import re

import pytest
from helpers import CORPUS, run_cli

pytestmark = pytest.mark.corpus

if CORPUS is None or not (CORPUS / "MANIFEST.tsv").is_file():
    pytest.skip("shared corpus (../shared/corpus) is absent", allow_module_level=True)

MANIFEST = list(csv.DictReader((CORPUS / "MANIFEST.tsv").open(encoding="utf-8"),
                               delimiter="\t"))
ARGS = ["check", "--format", "json", "--no-ig", "-q"]


def count_clm(raw: bytes) -> int:
    """CLM segments counted straight from the bytes (independent of the reader): ``CLM``
    plus the element separator, not preceded by a letter, digit or element separator."""
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    m = re.search(rb"ISA(.)", raw)
    if m is None:
        return 0
    sep = re.escape(m.group(1))
    return len(re.findall(rb"(?<![A-Za-z0-9" + sep + rb"])CLM" + sep, raw))


@pytest.mark.parametrize("row", MANIFEST, ids=[r["local_path"] for r in MANIFEST])
def test_file_reconciles(row):
    path = CORPUS / row["local_path"]
    code, out, err = run_cli([*ARGS, str(path)])
    assert code in (0, 1), err
    assert "Traceback" not in err
    doc = json.loads(out)
    (entry,) = doc["files"]
    assert entry["claims"] == int(row["claims_count"])
    assert len(doc["claims"]) == int(row["claims_count"])
    if entry["status"] == "parsed":
        assert doc["summary"]["files_unreadable"] == 0


def test_whole_corpus_every_clm_once():
    code, out, err = run_cli([*ARGS, str(CORPUS)])
    assert code in (0, 1), err
    doc = json.loads(out)
    assert doc["summary"]["files"] == len(MANIFEST)
    expected = sum(int(r["claims_count"]) for r in MANIFEST)
    assert expected == sum(count_clm((CORPUS / r["local_path"]).read_bytes()) for r in MANIFEST)
    assert doc["summary"]["claims"] == len(doc["claims"]) == expected
    keys = [(c["file"], c["segment_index"]) for c in doc["claims"]]
    assert len(set(keys)) == len(keys)
    per_file = {}
    for c in doc["claims"]:
        per_file[c["file"]] = per_file.get(c["file"], 0) + 1
    for f in doc["files"]:
        assert per_file.get(f["path"], 0) == f["claims"]
