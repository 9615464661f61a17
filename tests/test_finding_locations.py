"""Finding locations a person can use (validator.output.locations): each finding's line (or
byte offset in a one-line file) and its segment's text, PHI masked unless --show-phi, in
JSON, CSV, Parquet and HTML."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import polars as pl
import pytest
from edi_builder import PhiClaim, build, phi_edi

from tests.report_helpers import run
from validator.engine import Result
from validator.engine.read import read_segments
from validator.output import html_report, json_report
from validator.output.flat import findings_table
from validator.output.locations import TEXT_LIMIT, finding_locations
from validator.output.phi import mask_segment
from validator.output.writers import WRITERS
from validator.rules.api import RunOptions
from validator.x12.load import LoadError
from validator.x12.spans import locate

# PHI of the file below: names, member ID, SSN, birth dates, street, city, ZIP.
SECRETS = ("SAMPLEMAN", "ROBERTA", "XQ9876543210", "987654321", "19610314", "20100515",
           "DOEFIELD", "JONATHAN", "12 MAIN ST", "SPARKS", "89431", "YY5555")


def _phi_text() -> str:
    text = phi_edi([PhiClaim("P1"), PhiClaim("P2", patient_last="DOEFIELD",
                                             patient_first="JONATHAN", unknown_segment=True)])
    # A subscriber SSN and a patient member ID (REF*SY, REF*1W) after the DMGs.
    text = text.replace("N4*RENO*NV*89502~", "N4*SPARKS*NV*89431~")  # the homes
    text = text.replace("DMG*D8*19610314*F~", "DMG*D8*19610314*F~\nREF*SY*987654321~", 1)
    return text.replace("DMG*D8*20100515*M~", "DMG*D8*20100515*M~\nREF*1W*YY5555~", 1)


def _on_every_segment(result: Result) -> Result:
    """``result`` with one finding on every segment of every parsed file (each PHI segment
    included), as a rule would raise them."""
    segs = read_segments([Path(p) for p in result.batch.files["path"]]).segments
    f = segs.select(
        rule=pl.lit("TEST001"), severity=pl.lit("error"), snip_level=pl.lit(1, pl.Int8),
        file_id=pl.col("file_id"), st_key=pl.lit(None, pl.UInt32),
        claim_key=pl.lit(None, pl.UInt32), segment_index=pl.col("seg_index"),
        segment_id=pl.col("seg_id").cast(pl.String), element=pl.lit(None, pl.String),
        message=pl.lit("test"), expected=pl.lit(None, pl.String), found=pl.lit(None, pl.String),
        loop=pl.lit(None, pl.String), ig_code=pl.lit(None, pl.String))
    return Result(result.batch, f, result.claims, result.ruleset, result.inputs, result.started,
                  result.elapsed, options=result.options)


def _check_locations(result: Result) -> int:
    """Every located finding: offset at its segment's bytes, line = newlines before it + 1
    (null without line breaks), text = the segment as written (unmasked here)."""
    loc = finding_locations(result, show_phi=True)
    paths = dict(result.batch.files.select("file_id", "path").iter_rows())
    n = 0
    for (fid,), rows in loc.group_by("file_id"):
        spans = locate(paths[fid])
        data = spans.data
        nl = b"\n" if b"\n" in data else b"\r"
        for seg, line, offset, text in rows.select("segment_index", "line", "offset",
                                                   "segment_text").iter_rows():
            assert data[offset:].startswith(spans.raw(seg))
            assert line == (data.count(nl, 0, offset) + 1 if spans.multiline else None)
            full = spans.text(seg)
            assert text == (full if len(full) <= TEXT_LIMIT else full[: TEXT_LIMIT - 1] + "…")
            n += 1
    return n


def _write(fmt: str, result: Result, tmp_path: Path, show_phi: bool) -> str:
    out = tmp_path / f"r-{show_phi}.{fmt}"
    WRITERS[fmt].write(result, out, RunOptions(show_phi=show_phi))
    if fmt == "parquet":
        df = pl.read_parquet(out)
        return " ".join(str(v) for row in df.rows() for v in row)
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def phi_result(tmp_path_factory) -> Result:
    d = tmp_path_factory.mktemp("phi")
    (d / "multi.837").write_text(_phi_text())
    (d / "one-line.837").write_text(_phi_text().replace("~\n", "~"))
    return _on_every_segment(run([d / "multi.837", d / "one-line.837"]))


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet", "html"])
def test_no_phi_in_segment_text_unless_show_phi(phi_result, tmp_path, fmt):
    masked = _write(fmt, phi_result, tmp_path, show_phi=False)
    assert "NM1*IL*1*S.*R.****MI*###3210" in masked  # the finding on the subscriber NM1
    for secret in SECRETS:
        assert secret not in masked, secret
    shown = _write(fmt, phi_result, tmp_path, show_phi=True)
    for secret in SECRETS:
        assert secret in shown, secret
    assert (tmp_path / f"r-True.{fmt}").stat().st_mode & 0o077 == 0  # PHI: owner only


def test_masked_segments(phi_result):
    texts = set(finding_locations(phi_result, show_phi=False)["segment_text"])
    for expected in ("NM1*IL*1*S.*R.****MI*###3210", "NM1*QC*1*D.*J.", "N3*###",
                     "N4*###*NV*894##", "DMG*D8*1961####*F", "DMG*D8*2010####*M",
                     "REF*SY*###4321", "REF*1W*###5555", "ZZZ*1", "CLM*P2*100***11:B:1*Y*A*Y*Y",
                     # providers, payers and their addresses are not PHI
                     "NM1*85*2*DESERT CLINIC LLC*****XX*1234567893", "N3*1 CLINIC WAY",
                     "N4*RENO*NV*895021234", "REF*EI*123456789", "NM1*PR*2*ACME HEALTH PLAN*****PI*12345"):
        assert expected in texts, expected


def test_lines_offsets_and_texts(phi_result):
    assert _check_locations(phi_result) == phi_result.findings.height
    loc = finding_locations(phi_result, show_phi=True)
    files = dict(phi_result.batch.files.select("file_id", "path").iter_rows())
    one = next(f for f, p in files.items() if p.endswith("one-line.837"))
    assert loc.filter(pl.col("file_id") == one)["line"].null_count() == loc.filter(
        pl.col("file_id") == one).height
    assert loc.filter(pl.col("file_id") != one)["line"].null_count() == 0


def test_json_csv_and_html_carry_the_same_locations(phi_result, tmp_path):
    doc = json.loads(json_report.render(phi_result))
    by_seg = {(f["file"], f["segment_index"]): f for f in doc["findings"]}
    nm1 = next(f for f in doc["findings"] if f["segment_text"].startswith("NM1*IL"))
    assert nm1["line"] is not None or nm1["file"].endswith("one-line.837")
    assert list(nm1)[-3:] == ["line", "offset", "segment_text"]  # added at the end
    table = findings_table(phi_result)
    assert table.columns[-3:] == ["line", "offset", "segment_text"]
    for row in table.iter_rows(named=True):
        f = by_seg[(row["file"], row["segment_index"])]
        assert (row["line"], row["offset"], row["segment_text"]) == (
            f["line"], f["offset"], f["segment_text"])
    data = html_report.report_data(phi_result)
    T, F = data["T"], data["f"]
    texts = [T[i] if i >= 0 else None for i in F["txt"].to_list()]
    assert texts == [f["segment_text"] for f in doc["findings"]]
    lines = [f["line"] if f["line"] is not None else -1 for f in doc["findings"]]
    assert F["line"].to_list() == lines
    offs = [f["offset"] if f["line"] is None else -1 for f in doc["findings"]]
    assert F["off"].to_list() == offs


def test_computed_once_per_run(phi_result, monkeypatch):
    from validator.output import locations

    finding_locations(phi_result, show_phi=False)
    monkeypatch.setattr(locations, "locate_wanted_parts",
                        lambda *a, **k: pytest.fail("located twice"))
    json_report.render(phi_result, show_phi=False)
    findings_table(phi_result, show_phi=False)
    html_report.render(phi_result, show_phi=False)


def test_html_shows_where_and_escapes_text(tmp_path):
    text = build("P").replace("CLM*", "ZZZ*<script>alert(1)</script>~\nCLM*", 1)
    path = tmp_path / "x.837"
    path.write_text(text)
    res = run([path])
    page = html_report.render(res)
    assert "<script>alert(1)" not in page
    data = html_report.report_data(res)
    assert "ZZZ*<script>alert(1)</script>" in data["T"].to_list()
    script = (Path(html_report.TEMPLATES) / "report.js").read_text()
    assert '"line " + F.line[i]' in script and '"byte " + F.off[i]' in script


def test_gzip_and_multiple_interchanges(tmp_path):
    first = build("P")
    second = first.replace("000000001", "000000002").translate(
        str.maketrans({"*": "|", ":": "^", "~": "!"}))  # its own delimiters
    assert "NM1|IL|1|DOE|JOHN" in second and "DMG|D8|19800115" in second
    gz = tmp_path / "two.837.gz"
    gz.write_bytes(gzip.compress((first + second).encode()))
    res = _on_every_segment(run([gz]))
    assert _check_locations(res) == res.findings.height
    texts = finding_locations(res, show_phi=False)["segment_text"].to_list()
    assert "NM1|IL|1|D.|J.||||MI|###6789" in texts  # masked in its own delimiters
    assert "DMG|D8|1980####|M" in texts and "NM1*IL*1*D.*J.****MI*###6789" in texts
    assert not [t for t in texts if "DOE" in t or "W123456789" in t or "19800115" in t]


def test_files_that_cannot_be_located_get_nulls(tmp_path):
    names = ("gone.837", "changed.837", "edited.837", "kept.837")
    for name in names:
        (tmp_path / name).write_text(build("P").replace("CLM*", "ZZZ*1~\nCLM*", 1))
    res = run([tmp_path / n for n in names])
    (tmp_path / "gone.837").unlink()  # moved away since the check
    (tmp_path / "changed.837").write_text("not X12 any more")
    edited = tmp_path / "edited.837"  # still X12, one segment less: positions moved
    edited.write_text(edited.read_text().replace("ZZZ*1~\n", "", 1))
    doc = json.loads(json_report.render(res))
    where: dict[str, set] = {}
    for f in doc["findings"]:
        where.setdefault(Path(f["file"]).name, set()).add(
            (f["line"], f["offset"], f["segment_text"]))
    assert where["gone.837"] == where["changed.837"] == where["edited.837"] == {
        (None, None, None)}
    zzz = [(line, off) for line, off, text in where["kept.837"] if text == "ZZZ*1"]
    assert len(zzz) == 1 and zzz[0][0] > 1 and zzz[0][1] > 100


def test_file_level_findings_have_no_location(tmp_path):
    bad = tmp_path / "notes.837"
    bad.write_text("hello")
    with pytest.raises(LoadError):
        locate(bad)
    doc = json.loads(json_report.render(run([bad])))
    (f,) = doc["findings"]
    assert (f["segment_index"], f["line"], f["offset"], f["segment_text"]) == (None,) * 4


def test_chunked_run_locates_the_same(tmp_path):
    path = tmp_path / "c.837"
    path.write_text(phi_edi([PhiClaim(f"C{i}", unknown_segment=True) for i in range(40)]))
    whole = run([path])
    chunked = run([path], chunk_bytes=2000)
    key = ["file_id", "segment_index"]
    a = finding_locations(whole, show_phi=True).sort(key)
    b = finding_locations(chunked, show_phi=True).sort(key)
    assert a.height == 40 and a.equals(b)
    assert set(a["segment_text"]) == {"ZZZ*1"}


@pytest.mark.corpus
def test_corpus_locations(corpus: Path, tmp_path):
    """A finding on every segment of every corpus file (one-line and multi-line layouts):
    located at its bytes and line, its text the segment as written; masked, no name, member
    ID or birth date of the file's claims is left in its subscriber/patient segments."""
    paths = []
    for p in sorted(x for x in corpus.rglob("*") if x.is_file() and x.name != "MANIFEST.tsv"):
        try:
            locate(p)
        except LoadError:
            continue
        paths.append(p)
    res = _on_every_segment(run(paths, select=("FILE",)))
    assert _check_locations(res) == res.findings.height > 5000
    multiline = {locate(p).multiline for p in paths}
    assert multiline == {True, False}
    masked = finding_locations(res, show_phi=False)
    shown = finding_locations(res, show_phi=True)
    both = masked.join(shown, on=["file_id", "segment_index"], suffix="_shown")
    person = both.filter(pl.col("segment_text_shown").str.contains(r"^(NM1.(IL|QC)|DMG)\W"))
    assert person.height > 50
    for text, original in person.select("segment_text", "segment_text_shown").iter_rows():
        sep = original[3]
        values = [v for v in original.split(sep)[3:] if len(v) > 3]
        assert not [v for v in values if v in text.split(sep)], (text, original)
    # Everything not about a person is shown as written.
    other = both.filter(~pl.col("segment_text_shown").str.contains(
        r"^(NM1|DMG|PAT|REF|N3|N4)\W") & pl.col("segment_text_shown").str.contains(r"^[A-Z0-9]{2,3}\W"))
    assert (other["segment_text"] == other["segment_text_shown"]).all()


def test_mask_segment_edge_cases():
    m = mask_segment
    assert m("NM1|IL|1|DOE|JOHN||||MI|W123456789", "*") == "NM1|…"  # wrong separator
    assert m("DMG D8 19800512 M", "*") == "DMG …"
    assert m("NM1*IL*1|DOE|JOHN", "*") == "NM1*IL*###"  # stray separator: masked whole
    assert m("NM1*I L*1*DOE", "*") == "NM1*###*1*D."  # unreadable entity: a person
    assert m("N3*12 OAK AVE", "*", "?") == "N3*###"  # the loop's NM1 is broken
    assert m("N3*12 OAK AVE", "*", "85") == "N3*12 OAK AVE"
    assert m("REF*EI*123456789", "*", "85") == "REF*EI*123456789"
    assert m("REF*EI*123456789", "*", "IL") == "REF*EI*###6789"
    assert m("DMG*D8*", "*") == "DMG*D8*" and m("", "*") == ""
    assert m("PAT*19****D8*20200101", "*") == "PAT*19****D8*2020####"
    assert re.fullmatch(r"NM1\*IL\*1\*D\.\*J\.\*\*\*\*MI\*###6789",
                        m("NM1*IL*1*DOE*JOHN****MI*W123456789", "*"))


def _early_case(tmp_path: Path, long_name: bool) -> Result:
    """A run with the implementation-guide rules: a trailing separator on the billing
    provider's N4 (ENV154, found before the IG rules run) and, with ``long_name``, a
    70-character NM103 that only the IG rules report."""
    text = build("P")
    if long_name:
        text = re.sub(r"NM1\*85\*2\*[^*]*", "NM1*85*2*" + "A" * 70, text, count=1)
    text = re.sub(r"(\nN4\*[^~]*)~", r"\1*~", text, count=1)
    path = tmp_path / ("long.837" if long_name else "n4.837")
    path.write_text(text)
    return run([path], select=("ENV", "FILE", "KP", "IG"), ig=True)


def test_segments_located_while_the_last_rules_run(tmp_path, monkeypatch):
    """The segments with findings before the IG rules run are located meanwhile; when they
    are all the report needs, the file is not read again, and the locations are those of a
    late read."""
    from dataclasses import replace

    from validator.output import locations

    result = _early_case(tmp_path, long_name=False)
    assert set(result.findings["rule"]) >= {"ENV154"} and list(result.located) == [0]
    late = finding_locations(replace(result, located={}), show_phi=False)
    monkeypatch.setattr(locations, "locate_wanted_parts",
                        lambda *a, **k: pytest.fail("read again"))
    early = finding_locations(result, show_phi=False)
    assert early.height == 1 and early.equals(late)
    assert early["segment_text"][0].startswith("N4*") and early["segment_text"][0].endswith("*")
    assert early["line"][0] > 1


def test_findings_of_the_last_rules_elsewhere_read_the_file_again(tmp_path):
    """A finding of the IG rules on a segment not located early: the file is read again for
    every segment, and every finding has its location."""
    from dataclasses import replace

    result = _early_case(tmp_path, long_name=True)
    ig = result.findings.filter(pl.col("rule") == "IG200")
    assert ig.height >= 1 and result.located[0][0].tolist() == [12]
    assert 10 in ig["segment_index"].to_list()  # the NM1, located late only
    loc = finding_locations(result, show_phi=True)
    assert set(loc["segment_index"]) == set(result.findings["segment_index"].drop_nulls())
    assert loc["line"].null_count() == 0
    assert loc.equals(finding_locations(replace(result, located={}), show_phi=True))
