"""The JSON contract (schema_version 1, README "JSON contract") and claim status logic."""

from __future__ import annotations

import json
import re

import pytest
from edi_builder import edi, interchange, transaction
from helpers import SAMPLES, run_cli, write_edi

BASE = ["check", "--format", "json", "--no-ig", "--select", "ENV,FILE", "-q"]

SUMMARY_KEYS = {"files", "files_unreadable", "claims", "claims_with_errors",
                "claims_with_warnings", "findings"}
FILE_KEYS = {"path": str, "status": str, "error": (str, type(None)), "transaction_types": list,
             "interchanges": int, "transactions": int, "claims": int}
CLAIM_KEYS = {"file": str, "claim_id": str, "transaction_type": str, "segment_index": int,
              "total_charge": str, "payer_id": (str, type(None)), "payer_name": (str, type(None)),
              "service_date_from": (str, type(None)), "service_date_to": (str, type(None)),
              "status": str}
FINDING_KEYS = {"rule": str, "severity": str, "file": str, "claim_id": (str, type(None)),
                "segment_index": (int, type(None)), "segment_id": (str, type(None)),
                "element": (str, type(None)), "message": str, "expected": (str, type(None)),
                "found": (str, type(None)), "snip_level": int,
                # where, for a person: line (null without line breaks), byte offset, text
                "line": (int, type(None)), "offset": (int, type(None)),
                "segment_text": (str, type(None))}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _typed(obj: dict, spec: dict, exact: bool = True) -> None:
    if exact:
        assert set(obj) == set(spec), set(obj) ^ set(spec)
    for key, typ in spec.items():
        assert isinstance(obj[key], typ), (key, obj[key])
        assert not isinstance(obj[key], bool), key


@pytest.fixture(scope="module")
def status_doc(tmp_path_factory):
    """A batch where every kind of finding decides some claim's status:

    - own.edi: set 1 holds A1 (with an empty segment inside: its own error) and A2 (clean);
    - txn.edi: set with a wrong SE01 (transaction error) holding B1, then a clean set with B2;
    - file.edi: text before the ISA (a file-level warning) and claim C1;
    - clean.edi: D1.
    """
    d = tmp_path_factory.mktemp("status")
    t_own = transaction("0001", claim="A1")
    t_own.insert(t_own.index("HI*ABK:J069"), "REF")
    t_own[-1] = f"SE*{len(t_own)}*0001"
    t_own2 = transaction("0002", claim="A2")
    write_edi(d, edi(interchange(t_own, t_own2)), "own.edi")
    write_edi(d, edi(interchange(transaction("0001", claim="B1", se01=5),
                                 transaction("0002", claim="B2"), isa13="000000002")), "txn.edi")
    write_edi(d, "Batch 7\n" + edi(interchange(transaction(claim="C1"), isa13="000000003")),
              "file.edi")
    write_edi(d, edi(interchange(transaction(claim="D1"), isa13="000000004")), "clean.edi")
    code, out, err = run_cli([*BASE, str(d)])
    assert code == 1, err
    return json.loads(out)


def test_document_shape(status_doc):
    doc = status_doc
    assert doc["schema_version"] == 1
    assert {"schema_version", "summary", "files", "claims", "findings"} <= set(doc)
    assert isinstance(doc["tool"]["name"], str) and isinstance(doc["ruleset"]["name"], str)
    _typed(doc["summary"], {k: (int if k != "findings" else dict) for k in SUMMARY_KEYS})
    assert set(doc["summary"]["findings"]) == {"error", "warning", "info"}
    for f in doc["files"]:
        _typed(f, FILE_KEYS)
        assert f["status"] in ("parsed", "unreadable")
    for c in doc["claims"]:
        _typed(c, CLAIM_KEYS, exact=False)  # later work adds objects (e.g. "kp")
        assert c["transaction_type"] in ("837P", "837I", "837D")
        assert c["status"] in ("pass", "warning", "error")
        for k in ("service_date_from", "service_date_to"):
            assert c[k] is None or DATE.match(c[k])
    assert doc["findings"]
    for f in doc["findings"]:
        _typed(f, FINDING_KEYS, exact=False)  # later work adds fields
        assert f["severity"] in ("error", "warning", "info")
        assert f["snip_level"] == 1


def test_claim_status_from_own_transaction_and_file_findings(status_doc):
    status = {c["claim_id"]: c["status"] for c in status_doc["claims"]}
    assert status == {"A1": "error", "A2": "pass", "B1": "error", "B2": "pass",
                      "C1": "warning", "D1": "pass"}
    s = status_doc["summary"]
    assert (s["claims"], s["claims_with_errors"], s["claims_with_warnings"]) == (6, 2, 1)
    assert s["findings"] == {"error": 2, "warning": 1, "info": 0}
    by_rule = {f["rule"]: f for f in status_doc["findings"]}
    assert by_rule["ENV150"]["claim_id"] == "A1"
    assert by_rule["ENV131"]["claim_id"] is None and by_rule["ENV131"]["segment_id"] == "SE"
    assert by_rule["ENV101"]["segment_index"] is None
    assert (by_rule["ENV101"]["line"], by_rule["ENV101"]["offset"],
            by_rule["ENV101"]["segment_text"]) == (None, None, None)
    assert by_rule["ENV131"]["segment_text"].startswith("SE*")
    assert by_rule["ENV150"]["segment_text"] == "REF" and by_rule["ENV150"]["line"] > 1


def test_files_entries(status_doc):
    files = {f["path"].rsplit("/", 1)[1]: f for f in status_doc["files"]}
    assert files["own.edi"]["transactions"] == 2 and files["own.edi"]["claims"] == 2
    assert files["own.edi"]["interchanges"] == 1
    assert files["own.edi"]["transaction_types"] == ["837P"]
    assert files["file.edi"]["error"] is None


def test_stdout_is_exactly_one_document():
    code, out, err = run_cli(["check", "--format", "json", "--no-ig", "--select", "ENV,FILE",
                              "-v", str(SAMPLES)], subprocess_run=True)
    assert code == 0, err
    doc, end = json.JSONDecoder().raw_decode(out)
    assert out[end:].strip() == ""
    assert out.startswith("{")
    claims = {c["claim_id"]: c for c in doc["claims"]}
    assert claims["PCLM002"]["file"].endswith("sample_edi/clean-837p.edi")
    assert {k: v for k, v in claims["PCLM002"].items() if k != "file"} == {
        "claim_id": "PCLM002", "transaction_type": "837P", "segment_index": 35,
        "total_charge": "325", "payer_id": "60054", "payer_name": "AETNA",
        "service_date_from": "2025-03-04", "service_date_to": "2025-03-06", "status": "pass",
        "kp": {"member": False}}


def test_unreadable_file_entry(tmp_path):
    write_edi(tmp_path, b"\xff\xfe" + "ISA".encode("utf-16-le"), "u16.edi")
    code, out, _ = run_cli([*BASE, str(tmp_path)])
    assert code == 1
    doc = json.loads(out)
    (f,) = doc["files"]
    assert f["status"] == "unreadable" and "UTF-16" in f["error"]
    assert (f["transaction_types"], f["interchanges"], f["transactions"], f["claims"]) == (
        [], 0, 0, 0)
    (finding,) = doc["findings"]
    assert (finding["rule"], finding["claim_id"], finding["segment_index"]) == ("FILE002", None,
                                                                                None)
    assert doc["claims"] == []
