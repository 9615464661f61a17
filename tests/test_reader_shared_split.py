"""The reader's shared element split, tokenizer alignment and rule scheduling."""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl
from edi_builder import BODY_837P, edi, interchange, transaction
from helpers import check_files, write_edi
from helpers import load_ruleset as load

from validator.engine import Selection, check, read_batch
from validator.rules.api import RunOptions
from validator.x12.load import load as load_file
from validator.x12.segments import SplitSegments, annotate, tokenize


def _tokens(path: Path) -> pl.DataFrame:
    return tokenize(load_file(path, str(path)), 0)


def test_ids_line_up_with_segments_despite_blanks_and_indentation(tmp_path):
    segs = interchange(transaction(claim="A1"))
    # Indented segments, blank segments (~~) and a segment of spaces only.
    text = "  " + "~\n   ".join(segs[:5]) + "~~ ~\t" + "~\n".join(segs[5:]) + "~\n"
    t = _tokens(write_edi(tmp_path, text))
    assert t.height == len(segs)
    assert t["seg_id"].to_list() == [s.split("*")[0] for s in segs]
    assert all(r.split("\x1d")[0] == i for r, i in zip(t["raw"], t["seg_id"], strict=True))
    assert t["seg_index"].to_list() == list(range(1, len(segs) + 1))


def test_long_invalid_id_keeps_four_characters(tmp_path):
    segs = interchange(transaction(claim="A1"))
    segs.insert(4, "NM1234*X")
    t = _tokens(write_edi(tmp_path, edi(segs)))
    assert t["seg_id"][4] == "NM12"


def test_first_service_segment_of_a_line_across_files(tmp_path):
    # File 2's line carries an SV2 before an SV1: the first one in the file counts, even
    # though file 1 has more segments (segment indexes restart per file).
    body2 = BODY_837P.format(claim="B1").replace(
        "SV1*HC:99213*100*UN*1*11**1", "SV2*0450*HC:99283*100*UN*1\nSV1*HC:99213*100*UN*1*11**1")
    long_body = BODY_837P.format(claim="A1") + "\nNTE*ADD*" + "\nNTE*ADD*".join(["X"] * 30)
    f1 = write_edi(tmp_path, edi(interchange(transaction(body=long_body))), "a.edi")
    f2 = write_edi(tmp_path, edi(interchange(transaction(body=body2))), "b.edi")
    lines = read_batch([f1, f2]).lines
    assert lines["service_segment"].to_list() == ["SV1", "SV2"]
    assert lines["procedure_code"].to_list() == ["99213", "99283"]


def test_split_segments_are_split_once_and_shared_across_threads(tmp_path):
    path = write_edi(tmp_path, edi(interchange(transaction(claim="A1"), transaction("0002", claim="A2"))))
    split = SplitSegments(annotate(_tokens(path)))
    got: list[pl.DataFrame] = []

    def take() -> None:
        got.append(split["NM1"])

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(g is got[0] for g in got)  # one frame, built once
    nm1 = got[0]
    assert nm1.height == 10 and "raw" not in nm1.columns
    assert nm1["el"].list.get(1).to_list()[:5] == ["41", "40", "85", "IL", "PR"]
    assert split["ZZZ"].height == 0 and "ZZZ" not in split
    split.retain(["NM1"])
    assert split["NM1"] is nm1


def test_findings_do_not_depend_on_rule_scheduling(tmp_path):
    broken = BODY_837P.format(claim="A1").replace("N4*DALLAS*TX*752014321", "N4*DALLAS*XX*75201")
    path = write_edi(tmp_path, edi(interchange(transaction(body=broken), transaction("0002", claim="A1"))))
    runs = [check([path], load(), Selection(), RunOptions()).findings for _ in range(3)]
    assert runs[0].height > 0
    for other in runs[1:]:
        assert other.equals(runs[0])


def test_envelope_rules_still_see_every_segment(tmp_path):
    segs = interchange(transaction(claim="A1"))
    segs.insert(6, "REF*:*")  # no data element: ENV150
    result = check_files(write_edi(tmp_path, edi(segs)))
    assert ("ENV150", 7) in {(r, i) for r, i in zip(result.findings["rule"], result.findings["segment_index"],
                                                    strict=True)}


def test_overlapped_check_equals_rules_run_after_reading(tmp_path):
    # check() starts the envelope rules before the tables exist; the result must equal
    # reading everything first and then running every rule.
    from helpers import registry

    from validator.engine import Plan, run_rules

    broken = BODY_837P.format(claim="A1").replace("N4*DALLAS*TX*752014321", "N4*DALLAS*XX*75201")
    segs = interchange(transaction(body=broken), transaction("0002", claim="A1"))
    segs.insert(6, "REF*:*")
    path = write_edi(tmp_path, edi(segs))
    options = RunOptions()
    overlapped = check([path], load(), Selection(), options).findings
    plan = Plan.build(registry(), load(), Selection(), options)
    sequential = run_rules(plan, plan.context(read_batch([path])))
    assert {"ENV150", "DUP401"} <= set(overlapped["rule"])
    assert overlapped.equals(sequential)


def test_json_pieces_keep_row_order(tmp_path):
    from validator.output import json_report

    df = pl.DataFrame({"n": list(range(95))})
    text = b"".join(json_report._pieces(df, {}, rows=10))
    assert text == json_report._array(df)


def test_rows_of_ids_in_document_order_once_each(tmp_path):
    segs = interchange(transaction(claim="A1"), transaction(claim="B2", st02="0002"))
    batch = read_batch([write_edi(tmp_path, edi(segs))])
    split = batch.split_segments()
    rows = split.rows(["SE", "ST", "SE", "NOPE"])
    assert rows["seg_id"].to_list() == ["ST", "SE", "ST", "SE"]
    assert rows["seg_index"].is_sorted()
    assert rows.columns == batch.segments.columns
    assert split.rows(["NOPE"]).height == 0


def test_indented_and_plain_spellings_of_an_id_group_together(tmp_path):
    segs = interchange(transaction(claim="A1"), transaction(claim="B2", st02="0002"))
    plain = edi(segs)
    # Indent every other segment: " NM1" and "NM1" are read as different first fields.
    text = "~\n".join(("   " + s if i % 2 else s) for i, s in enumerate(segs)) + "~\n"
    a = read_batch([write_edi(tmp_path, plain, "plain.edi")])
    b = read_batch([write_edi(tmp_path, text, "indented.edi")])
    for seg_id in ("NM1", "ST", "CLM", "HL"):
        rows_a, rows_b = a.split_segments().rows([seg_id]), b.split_segments().rows([seg_id])
        assert rows_b["seg_index"].to_list() == rows_a["seg_index"].to_list()
        assert rows_b["seg_index"].is_sorted() and rows_b.height > 0
    assert b.claims["claim_id"].to_list() == ["A1", "B2"]
