"""The web page in headless Chromium (Debian's /usr/bin/chromium, driven by playwright; no browser
download): the credit officer scores the example application and sees the decision, reasons chart
and collateral table; the fund manager uploads a pool CSV and sees the tranche table and plot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from servicekit import Server, serving_pins  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = [
    pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("service"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium (run .ci/system-deps)"),
]


@pytest.fixture(scope="module")
def ui_server(trained, tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("ui"), trained["uri"], trained["home"], serving_pins()).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def page(ui_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pg = browser.new_page(viewport={"width": 1300, "height": 900})
        external = []
        pg.on("request", lambda r: external.append(r.url) if not r.url.startswith(ui_server.url) else None)
        pg.external_requests = external
        yield pg
        browser.close()


def _key(page, key):
    page.fill("#api-key", key)
    page.dispatch_event("#api-key", "change")


def test_credit_officer_scores_the_example(page, ui_server, tmp_path):
    page.goto(ui_server.url + "/ui")
    _key(page, ui_server.keys["credit_officer"])
    page.click("#load-example")
    page.wait_for_function("document.getElementById('application').value.includes('firm_id')")
    page.click("#score")
    page.wait_for_selector("#decision:not([hidden])", timeout=60000)
    verdict = page.inner_text("#verdict")
    assert "GRADE" in verdict.upper()
    assert "Probability of default" in page.inner_text("#figures")
    assert page.locator("#collateral tr").count() == 1 + 2  # header + the example's two patents
    assert page.inner_text("#counterfactual").startswith("Counterfactual")
    assert page.locator("#reasons-chart rect.reason-bar, #reasons-chart text").count() >= 1
    page.screenshot(path=str(tmp_path / "officer.png"), full_page=True)
    assert page.external_requests == []


def test_credit_officer_sees_errors_for_bad_input(page, ui_server):
    page.goto(ui_server.url + "/ui")
    _key(page, ui_server.keys["credit_officer"])
    page.click("#load-example")
    page.wait_for_function("document.getElementById('application').value.includes('firm_id')")
    page.fill("#amount", "-5")
    page.dispatch_event("#amount", "change")
    page.click("#score")
    page.wait_for_selector("#officer-error:not([hidden])", timeout=30000)
    assert "loan.amount" in page.inner_text("#officer-error")


def test_fund_manager_sizes_tranches_from_a_csv(page, ui_server, tmp_path):
    import numpy as np

    rng = np.random.default_rng(2)
    csv = tmp_path / "pool.csv"
    csv.write_text("loan_id,exposure_at_default,probability_of_default,loss_given_default,sector\n" + "\n".join(
        f"L{i:06d},{rng.uniform(1e6, 5e6):.0f},{rng.uniform(0.01, 0.08):.4f},{rng.uniform(0.4, 0.8):.3f},ai_software"
        for i in range(50)))
    page.goto(ui_server.url + "/ui")
    page.click("#tab-fund")
    _key(page, ui_server.keys["fund_manager"])
    page.set_input_files("#pool-file", str(csv))
    page.wait_for_function("document.getElementById('pool-text').value.includes('L000049')")
    page.click("#size")
    page.wait_for_selector("#tranche-result:not([hidden])", timeout=60000)
    table = page.inner_text("#tranche-table")
    assert "senior" in table and "first_loss" in table
    assert page.locator("#loss-chart polyline.loss-line").count() == 1
    page.screenshot(path=str(tmp_path / "fund.png"), full_page=True)
    assert page.external_requests == []
