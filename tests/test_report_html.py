"""The HTML report: self-contained, escaped, PHI-masked, with the data the page renders."""

from __future__ import annotations

import base64
import json
import re
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from tests.edi_builder import PhiClaim, phi_edi
from tests.helpers import REPO, report_files
from tests.report_helpers import XSS_IMG, XSS_SCRIPT, run, with_kp, write_batch
from validator.cli import main
from validator.output import html_report, phi
from validator.output.html_report import render, script_json

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> list[Path]:
    return write_batch(tmp_path_factory.mktemp("batch"))


@pytest.fixture(scope="module")
def result(batch):
    return run(batch)


def data_of(page: str) -> dict:
    """The report's embedded data, decoded as the page's script does."""
    m = re.search(r'<script type="([^"]+)" id="report-data"( data-encoding="([^"]+)")?>(.*?)</script>',
                  page, re.S)
    assert m, "no data block"
    body = m.group(4)
    if m.group(3) == "deflate-base64":
        body = zlib.decompress(base64.b64decode(body)).decode("utf-8")
    else:
        assert m.group(1) == "application/json"
    return json.loads(body)


def claim(data: dict, claim_id: str) -> dict:
    c = data["c"]
    i = c["cols"]["id"].index(claim_id)
    coded = set(c["coded"])
    return {k: (c["CS"][v[i]] if v[i] >= 0 else None) if k in coded else v[i]
            for k, v in c["cols"].items()}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def test_self_contained(result):
    page = render(result)
    p = _Tags()
    p.feed(page)
    tags = {t for t, _ in p.tags}
    assert not tags & {"link", "img", "iframe", "object", "embed", "base"}
    for tag, attrs in p.tags:
        for name in ("src", "href", "action", "srcset", "xlink:href"):
            v = attrs.get(name)
            assert v is None or v.startswith("#"), (tag, name, v)
    assert not re.search(r"https?://", page.replace("http://www.w3.org/2000/svg", ""))
    assert "@import" not in page and "url(" not in page
    # A strict CSP forbids any request; the one script is allowed by its hash.
    csp = next(a["content"] for t, a in p.tags if a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp
    import hashlib

    assert [a.get("type") for t, a in p.tags if t == "script"] == ["application/json", None]
    js = page.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp


def test_header_and_summary(result, batch):
    page = render(result)
    from validator import __version__

    assert f"claims-validator {__version__}" in page
    assert "kp-cigna" in page and result.ruleset.version in page
    for p in batch:
        assert str(p) in page  # inputs and the file table
    assert "Unreadable files" in page and "no ISA segment found" in page
    assert 'class="chart"' in page and 'data-rule="ENV151"' in page
    assert "Findings by file" in page
    # Pass rate: 1 of 6 claims without errors.
    assert "16.7%" in page
    # Glossary: each rule that appears, with what/why/fix; none that does not appear.
    for code in ("ENV151", "ENV131", "ENV101", "FILE001"):
        assert f'id="rule-{code}"' in page
    assert 'id="rule-ENV150"' not in page
    assert "How to fix" in page and "What it checks" in page and "Why it matters" in page
    assert "Contains PHI" not in page


def test_findings_data_decodes_to_findings(result):
    data = data_of(render(result))
    f = data["f"]
    n = len(f["rule"])
    assert n == result.findings.height
    rules = [data["rules"]["code"][i] for i in f["rule"]]
    assert sorted(rules) == sorted(result.findings["rule"].to_list())
    msgs = {data["S"][i] for i in f["msg"]}
    assert "unknown segment ID ZZZ" in msgs
    # Every column has one entry per finding; claims referenced exist.
    for col in f.values():
        assert len(col) == n
    ids = data["c"]["cols"]["id"]
    claimed = {ids[i] for i in f["claim"] if i >= 0}
    assert claimed == {"BAD0001", "BAD0002", "SEBAD02", XSS_SCRIPT}
    sev = {data["sev"][s] for s in f["sev"]}
    assert sev == {"error", "warning"}


def test_injection_is_escaped_everywhere(result):
    page = render(result, show_phi=True)
    for payload in (XSS_SCRIPT, XSS_IMG, "<img", "<script>alert"):
        assert payload not in page
    # Only the tool's own two script elements exist.
    assert page.count("<script") == 2 and page.count("</script>") == 2
    block = page.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block and "&" not in block
    data = data_of(page)
    assert XSS_SCRIPT in data["c"]["cols"]["id"]
    c = claim(data, XSS_SCRIPT)
    assert c["patient"] == f"{XSS_SCRIPT}, {XSS_IMG}"
    assert c["payer"] == XSS_IMG


def test_script_json_cannot_break_out():
    out = script_json({"a": "</script><!-- \u2028\u2029 & <b>", "n": [1, 2]})
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in out
    assert json.loads(out)["a"] == "</script><!-- \u2028\u2029 & <b>"


def test_phi_masked_by_default(result):
    page = render(result)
    for secret in ("DOEFIELD", "JONATHAN", "SAMPLEMAN", "ROBERTA", "MEMBERID777", "XQ9876543210",
                   "2010-05-15", "1961-03-14", "20100515", "19610314"):
        assert secret not in page, secret
    data = data_of(page)
    assert data["phi"] is False
    c = claim(data, "BAD0001")
    assert c["patient"] == "J. D."
    assert c["subscriber"] == "R. S."
    assert c["member"] == "***D777"
    assert c["birth"] == "2010-**-**"
    assert claim(data, "SEBAD02")["env"] == "ENV101, ENV131"  # its file's envelope findings
    assert c["env"] is None
    own = claim(data, "BAD0002")  # subscriber is the patient
    assert own["patient"] == "R. S." and own["birth"] == "1961-**-**"
    assert "are masked" in page


def test_show_phi_opts_in_and_says_so(result):
    page = render(result, show_phi=True)
    assert "Contains PHI" in page and "--show-phi" in page
    c = claim(data_of(page), "BAD0001")
    assert c["patient"] == "DOEFIELD, JONATHAN"
    assert c["member"] == "MEMBERID777" and c["birth"] == "2010-05-15"


def test_kp_panel_data_when_present(result):
    data = data_of(render(with_kp(result)))
    (panel,) = data["c"]["panels"]
    assert panel["title"] == "Kaiser Permanente member" and panel["flag"] == "kp.member"
    assert [f["name"] for f in panel["fields"]][:3] == ["source", "product", "region"]
    assert [f["label"] for f in panel["fields"]][:3] == ["Identified by", "Product", "Region"]
    assert panel["fields"][-1] == {"name": "phone", "label": "Eligibility & benefits", "col": "kp.phone"}
    assert panel["absent"] == ["Kaiser Permanente", "not a KP member"]
    assert panel["extras"] == {"phone": "888.831.0761"}  # [kp] phone of the ruleset
    c = claim(data, "BAD0001")
    assert c["kp.member"] is True and c["kp.product"] == "PPO" and c["kp.region"] == "NCAL"
    assert c["kp.expected_payer_id"] == "62308"
    assert c["kp.phone"] == "888.831.0761"
    assert "Chattanooga" in c["kp.expected_payer_address"]
    assert c["kp.source"] == "payer name" and c["kp.in_kp_state"] == "no"
    assert c["kp.routed"] == "yes: Cigna PPO network"
    assert claim(data, "BAD0002")["kp.member"] is False


def test_kp_member_claims_without_findings_are_included(result):
    # CLEAN001 has no finding; as a KP member its panel must still be reachable.
    res = with_kp(result)
    import polars as pl

    claims = res.claims.with_columns(
        kp=pl.when(pl.col("claim_id") == "CLEAN001").then(
            pl.col("kp").struct.with_fields(member=pl.lit(True))).otherwise(pl.col("kp")))
    res2 = type(res)(res.batch, res.findings, claims, res.ruleset, res.inputs, res.started)
    ids = data_of(render(res2))["c"]["cols"]["id"]
    assert "CLEAN001" in ids


def test_kp_absent_degrades(result):
    res = type(result)(result.batch, result.findings, result.claims.drop("kp", strict=False),
                       result.ruleset, result.inputs, result.started)
    data = data_of(render(res))
    assert data["c"]["panels"] == []
    assert not any(k.startswith("kp.") for k in data["c"]["cols"])


def test_any_registered_panel_renders_generically(result):
    """A plugin's panel on another struct column: fields as display text in label order,
    overrides, extras for missing values, and the claims its flag marks on the page."""
    import dataclasses

    import polars as pl

    from validator.rules.plugin import Panel
    from validator.rules.registry import discover

    panel = Panel(column="acme", title="Acme plan", labels={"plan": "Plan", "contact": "Call"},
                  flag="enrolled", absent=("Acme", "not enrolled"),
                  display=lambda s: {"plan": s.struct.field("plan").str.to_uppercase()},
                  extras=lambda rs: {"contact": "555-0100"})
    registry = dataclasses.replace(discover(), panels={"acme": panel})
    on = pl.col("claim_id").is_in(["BAD0001", "CLEAN001"])
    acme = pl.struct(enrolled=on, plan=pl.when(on).then(pl.lit("gold")),
                     tags=pl.lit(["a", "b"]), visits=pl.lit(3), active=on,
                     meta=pl.struct(x=pl.lit(1)))
    res = dataclasses.replace(result, claims=result.claims.with_columns(acme=acme),
                              registry=registry)
    data = data_of(render(res))
    (desc,) = data["c"]["panels"]
    assert desc["flag"] == "acme.enrolled" and desc["absent"] == ["Acme", "not enrolled"]
    assert [(f["name"], f["label"], f["col"]) for f in desc["fields"]] == [
        ("plan", "Plan", "acme.plan"), ("contact", "Call", None), ("tags", "tags", "acme.tags"),
        ("visits", "visits", "acme.visits"), ("active", "active", "acme.active"),
        ("meta", "meta", "acme.meta")]
    assert desc["extras"] == {"contact": "555-0100"}
    c = claim(data, "CLEAN001")  # no finding, but flagged
    assert c["acme.enrolled"] is True and c["acme.plan"] == "GOLD" and c["acme.tags"] == "a, b"
    assert c["acme.visits"] == "3" and c["acme.active"] == "yes" and c["acme.meta"] == '{"x":1}'
    other = claim(data, "BAD0002")
    assert other["acme.enrolled"] is False and other["acme.plan"] is None
    assert other["acme.active"] == "no"
    assert "acme.plan" in data["c"]["coded"] and not any(k.startswith("kp.") for k in data["c"]["cols"])


def test_large_payload_is_compressed(result, monkeypatch):
    plain = render(result)
    assert 'type="application/json" id="report-data">' in plain
    monkeypatch.setattr(html_report, "COMPRESS_ABOVE", 100)
    packed = render(result)
    assert 'type="application/octet-stream" id="report-data" data-encoding="deflate-base64"' in packed
    block = packed.split('data-encoding="deflate-base64">', 1)[1].split("</script>", 1)[0]
    assert re.fullmatch(r"[A-Za-z0-9+/=]+", block)
    assert data_of(packed) == data_of(plain)


def test_page_data_built_a_slice_at_a_time(result, monkeypatch):
    """The page's findings, claims and lookup tables are built from slices of findings and
    claims (a run in units reads them from disk): the same data whatever the slice."""
    whole = data_of(render(result))
    assert len(whole["f"]["rule"]) > 5
    assert len(whole["c"]["cols"]["id"]) > 3
    for rows in (1, 3):
        monkeypatch.setattr(html_report, "FINDINGS_SLICE", rows)
        monkeypatch.setattr(html_report, "CLAIMS_SLICE", rows)
        monkeypatch.setattr(html_report, "LIST_SLICE", rows)
        assert data_of(render(result)) == whole


def test_script_json_in_pieces(monkeypatch):
    """Series are written a slice of values at a time: the same text as at once."""
    data = {"s": pl.Series(["a", None, "é\u2028", "</b>"]), "f": pl.Series([1.5, None, 2.0]),
            "i": pl.Series([3, None, 4]), "e": pl.Series([], dtype=pl.String), "x": [1, "<"]}
    whole = script_json(data)
    assert json.loads(whole)["s"] == ["a", None, "é\u2028", "</b>"]
    monkeypatch.setattr(html_report, "LIST_SLICE", 1)
    assert script_json(data) == whole


def test_no_findings_report(tmp_path):
    p = tmp_path / "ok.837"
    p.write_text(phi_edi([PhiClaim("OK1")]))
    page = render(run([p]))
    data = data_of(page)
    assert data["f"]["rule"] == [] and "100.0%" in page
    assert "No rule raised a finding" in page


def test_phi_helpers():
    assert phi.mask_id("ABC123456") == "***3456"
    assert phi.mask_id("1234") == "***" and phi.mask_id(None) is None
    assert phi.mask_name("smith") == "S." and phi.mask_name(None) is None


def test_cli_default_writes_html_into_report_dir(batch, tmp_path):
    out = tmp_path / "reports"
    r = CliRunner().invoke(main, ["check", *map(str, batch), "--no-ig", "--report-dir", str(out)])
    assert r.exit_code == 1, r.output
    files = report_files(out)
    assert len(files) == 1 and re.fullmatch(r"claims-report-\d{8}-\d{6}Z\.html", files[0].name)
    err = r.stderr if hasattr(r, "stderr") else r.output
    assert f"report: {files[0]}" in err
    assert "6 claims" in err and "top rules: ENV151 (4)" in err
    assert files[0].read_text().startswith("<!DOCTYPE html>")


def test_cli_report_path_show_phi_and_formats(batch, tmp_path):
    target = tmp_path / "x" / "r.html"
    r = CliRunner().invoke(main, ["check", *map(str, batch), "--no-ig", "--show-phi", "-q",
                                  "--report", str(target)])
    assert r.exit_code == 1 and target.is_file()
    assert "Contains PHI" in target.read_text()
    out = tmp_path / "multi"
    r = CliRunner().invoke(main, ["check", *map(str, batch), "--no-ig", "-q", "--format",
                                  "html,csv", "--format", "parquet,junit", "--report-dir", str(out),
                                  "--fail-on", "never"])
    assert r.exit_code == 0
    assert [p.suffix for p in report_files(out)] == [".csv", ".html", ".parquet", ".xml"]


def test_cli_clean_batch_exit_zero(tmp_path):
    p = tmp_path / "ok.837"
    p.write_text(phi_edi([PhiClaim("OK1")]))
    r = CliRunner().invoke(main, ["check", str(p), "--no-ig", "--report-dir", str(tmp_path / "r")])
    assert r.exit_code == 0
    assert [p.suffix for p in report_files(tmp_path / "r")] == [".html"]


def test_module_entry_point(batch, tmp_path):
    import subprocess

    out = tmp_path / "rep"
    proc = subprocess.run([sys.executable, "-m", "validator", "check", *map(str, batch), "--no-ig",
                           "--report-dir", str(out)], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert "report: " in proc.stderr and "Traceback" not in proc.stderr
    assert [p.suffix for p in report_files(out)] == [".html"]


def test_claim_without_clm01_and_extra_finding_columns(tmp_path):
    """An empty CLM01 and rule-specific extra columns (e.g. an IG ``loop`` list) render."""
    import polars as pl

    p = tmp_path / "noid.837"
    p.write_text(phi_edi([PhiClaim("", unknown_segment=True)]))
    res = run([p])
    res.findings = res.findings.with_columns(loop=pl.lit(["2300", "2400"]))
    data = data_of(render(res))
    assert data["c"]["cols"]["id"] == [None]
    assert data["f"]["claim"] == [0]
    from validator.output.flat import findings_table

    assert findings_table(res)["loop"].to_list() == ["2300|2400"]


def test_glossary_shows_the_severity_of_this_run():
    """A ruleset may raise a rule's severity (acme-billing: KP101 is an error there): the
    glossary card says what the findings say, not the registry default."""
    from validator.engine import Selection, check
    from validator.output.html_report import _glossary
    from validator.rules.api import RunOptions
    from validator.rules.registry import discover
    from validator.ruleset.load import load

    registry = discover()
    rs = load(str(REPO / "rulesets" / "examples" / "acme-billing.toml"), registry)
    kp = REPO / "sample_edi" / "kp-837p-scenarios.edi"
    res = check([kp], rs, Selection.build(rs, select=["KP101"]), RunOptions(ig=False),
                registry=registry)
    assert set(res.findings["severity"]) == {"error"}
    assert [(g["code"], g["severity"]) for g in _glossary(res)] == [("KP101", "error")]
