"""The HTML report in a real browser: headless Debian Chromium driven by Playwright.

Skips cleanly when Playwright or /usr/bin/chromium is missing (``.ci/run`` installs them).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.report_helpers import XSS_IMG, XSS_SCRIPT, run, with_kp, write_batch
from validator.output.writers import WRITERS
from validator.rules.api import RunOptions

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).is_file():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("browser")
    result = with_kp(run(write_batch(folder / "edi")))
    out = {}
    for name, show in (("masked", False), ("phi", True)):
        out[name] = folder / f"{name}.html"
        WRITERS["html"].write(result, out[name], RunOptions(show_phi=show))
    return out


class Page:
    """A page with console errors, page errors, non-file requests and alerts recorded."""

    def __init__(self, browser, path: Path):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: r.url.startswith("file:") or self.requests.append(r.url))
        self.page.add_init_script("window.__alerts = []; window.alert = window.confirm = "
                                  "window.prompt = function (m) { window.__alerts.push(String(m)); };")
        t0 = time.perf_counter()
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("html[data-ready]", timeout=60_000)
        self.ready_s = time.perf_counter() - t0
        assert self.page.get_attribute("html", "data-ready") == "1", self.page.text_content("#count")

    def rule_codes(self) -> list[str]:
        return self.page.eval_on_selector_all("#fbody tr .rc", "els => els.map(e => e.textContent)")

    def count(self) -> str:
        return self.page.text_content("#count") or ""

    def close(self):
        self.page.close()


def _select_rule(pg: Page, code: str) -> None:
    value = pg.page.eval_on_selector_all(
        "#f-rule option", "(os, c) => os.find(o => o.textContent.startsWith(c + ' ')).value", code)
    pg.page.select_option("#f-rule", value)


def test_loads_clean_and_filters_by_rule(browser, reports, tmp_path):
    pg = Page(browser, reports["masked"])
    try:
        assert pg.errors == [] and pg.requests == []
        assert sorted(pg.rule_codes()) == sorted(["ENV151"] * 4 + ["ENV131", "ENV101", "FILE001"])
        for code, n in (("ENV151", 4), ("FILE001", 1), ("ENV131", 1)):
            _select_rule(pg, code)
            assert pg.rule_codes() == [code] * n
            assert pg.count().startswith(f"1–{n} of {n} findings")
        # Severity filter: warnings only.
        _select_rule(pg, "ENV151")
        pg.page.select_option("#f-rule", "-1")
        pg.page.uncheck("#f-sev input[value='0']")
        assert pg.rule_codes() == ["ENV101"]
        pg.page.check("#f-sev input[value='0']")
        # Free text (debounced) and sort by claim ID.
        pg.page.fill("#f-q", "SE01")
        sync_api.expect(pg.page.locator("#fbody tr")).to_have_count(1)
        assert pg.rule_codes() == ["ENV131"]
        pg.page.click("#f-reset")
        pg.page.click("th[data-sort=claim]")
        ids = pg.page.eval_on_selector_all("#fbody tr .c-claim", "els => els.map(e => e.textContent)")
        with_id = [i for i in ids if i != "—"]
        assert with_id == sorted(with_id)
        assert pg.page.get_attribute("th[data-sort=claim]", "aria-sort") == "ascending"
        # A chart bar filters too.
        pg.page.click("svg.chart g[data-rule='FILE001']")
        assert pg.rule_codes() == ["FILE001"]
        pg.page.screenshot(path=str(tmp_path / "report-table.png"), full_page=True)
        assert pg.errors == [] and pg.requests == []
    finally:
        pg.close()


def test_where_cell_shows_line_and_masked_segment(browser, reports):
    pg = Page(browser, reports["masked"])
    try:
        _select_rule(pg, "ENV151")
        cells = pg.page.eval_on_selector_all("#fbody tr .c-seg", "els => els.map(e => e.innerText)")
        assert cells and all("line " in c and "ZZZ*1" in c for c in cells), cells
        assert pg.page.locator("#fbody .segtext").count() == len(cells)
        _select_rule(pg, "FILE001")  # an unreadable file: no segment, no place
        assert pg.page.locator("#fbody .segtext").count() == 0
        pg.page.select_option("#f-rule", "-1")
        pg.page.click("#tab-claims")
        pg.page.wait_for_selector(".claimcard .segtext")
        assert "line " in pg.page.inner_text(".claimcard .flist .loc")
        assert pg.errors == []
    finally:
        pg.close()


def test_phi_masked_and_kp_panel(browser, reports, tmp_path):
    pg = Page(browser, reports["masked"])
    try:
        pg.page.click("#tab-claims")
        pg.page.wait_for_selector(".claimcard")
        text = pg.page.inner_text("body")
        for secret in ("DOEFIELD", "JONATHAN", "SAMPLEMAN", "ROBERTA", "MEMBERID777", "2010-05-15"):
            assert secret not in text
        card = pg.page.locator(".claimcard", has_text="BAD0001").first
        ctext = card.inner_text()
        assert "J. D." in ctext and "***D777" in ctext and "2010-**-**" in ctext
        # KP panel of the KP claim: product, region, funding, payer, address, appeals, phone.
        for want in ("Kaiser Permanente member", "PPO", "NCAL", "insured", "62308",
                     "Chattanooga, TN 37422-8061", "Call the number on the denial notice",
                     "888.831.0761", "payer name", "Care given in", "Inside a KP state",
                     "Route applies", "yes: Cigna PPO network"):
            assert want.lower() in ctext.lower(), want
        other = pg.page.locator(".claimcard", has_text="BAD0002").first
        assert "not a KP member" in other.inner_text() and other.locator(".panelbox").count() == 0
        # Claim dialog from the table.
        pg.page.click("#tab-table")
        pg.page.click("#fbody .linkbtn >> text=BAD0001")
        assert pg.page.is_visible("#claimdlg")
        assert "***D777" in pg.page.inner_text("#claimdlg")
        pg.page.screenshot(path=str(tmp_path / "report-claim.png"))
        assert pg.errors == [] and pg.requests == []
    finally:
        pg.close()


def test_injection_sample_does_not_execute(browser, reports, tmp_path):
    pg = Page(browser, reports["phi"])
    try:
        assert pg.page.is_visible("#phi-notice") and "Contains PHI" in pg.page.inner_text("#phi-notice")
        pg.page.fill("#f-q", "alert(1)")
        sync_api.expect(pg.page.locator("#fbody tr")).to_have_count(1)
        cell = pg.page.locator("#fbody .linkbtn").first
        assert cell.text_content() == XSS_SCRIPT  # shown as text
        cell.click()
        dlg = pg.page.inner_text("#claimdlg")
        assert XSS_SCRIPT in dlg and XSS_IMG in dlg
        pg.page.keyboard.press("Escape")
        pg.page.click("#tab-claims")
        assert XSS_IMG in pg.page.inner_text("#view-claims")
        pg.page.wait_for_timeout(300)  # an onerror handler would have fired by now
        assert pg.page.evaluate("window.__alerts") == []
        assert pg.page.evaluate("document.images.length") == 0
        # Exactly the report's own two script elements, no injected ones.
        assert pg.page.evaluate("document.scripts.length") == 2
        pg.page.screenshot(path=str(tmp_path / "report-injection.png"), full_page=True)
        assert pg.errors == [] and pg.requests == []
    finally:
        pg.close()


def test_print_lists_every_filtered_finding(browser, reports, tmp_path):
    pg = Page(browser, reports["masked"])
    try:
        pg.page.select_option("#pagesize", "50")
        pg.page.emulate_media(media="print")
        pg.page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        assert pg.page.is_hidden(".controls") and pg.page.is_hidden("#pager")
        assert len(pg.rule_codes()) == 7
        assert pg.page.evaluate(
            "getComputedStyle(document.querySelector('#fbody tr')).display") == "block"
        pdf = tmp_path / "report.pdf"
        pg.page.pdf(path=str(pdf))
        assert pdf.stat().st_size > 10_000
    finally:
        pg.close()


@pytest.mark.slow
def test_100k_findings_render_and_filter(browser, tmp_path):
    from tests.report_helpers import large_result

    result = large_result(100_000)
    total = result.findings.height
    path = tmp_path / "large.html"
    WRITERS["html"].write(result, path, RunOptions())
    pg = Page(browser, path)  # waits for the first page of rows
    try:
        print(f"\n100k-findings report: first render {pg.ready_s:.2f} s "
              f"({path.stat().st_size / 1e6:.2f} MB)")
        assert pg.ready_s < 20
        assert pg.errors == [] and pg.requests == []
        assert len(pg.rule_codes()) == 100
        assert pg.count() == f"1–100 of {total:,} findings"
        t0 = time.perf_counter()
        _select_rule(pg, "ENV131")
        assert pg.rule_codes() == ["ENV131"]
        _select_rule(pg, "ENV151")
        assert pg.count().endswith(f"of 100,000 findings (of {total:,})")
        pg.page.click("th[data-sort=msg]")
        pg.page.click("#pager [data-page=last]")
        assert pg.page.text_content("#pageinfo") == "Page 1,000 of 1,000"
        pg.page.click("#tab-claims")
        assert pg.page.locator(".claimcard").count() == 20
        # Printing the grouped view: whole claim cards up to 5,000 findings, not 5,000 cards.
        pg.page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        printed = pg.page.locator(".claimcard li").count()
        assert 5_000 <= printed < 5_100
        assert f"with {printed:,} of 100,000 findings" in pg.page.text_content("#print-note")
        pg.page.evaluate("window.dispatchEvent(new Event('afterprint'))")
        interact = time.perf_counter() - t0
        print(f"filter + sort + page + grouped view: {interact:.2f} s")
        assert interact < 20
        pg.page.screenshot(path=str(tmp_path / "report-100k.png"))
    finally:
        pg.close()
