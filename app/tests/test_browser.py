"""The app in a real browser (Debian's Chromium through Playwright).

By default the test serves the app itself on a free loopback port against the test
MariaDB. Set BEAUTY_BASE_URL (e.g. http://127.0.0.1:5000) to drive a deployed app
instead; the test then only adds, edits and deletes its own uniquely named product.
"""

import contextlib
import os
import pathlib
import threading
import time
import uuid

import pytest
from werkzeug.serving import make_server

from conftest import make_config

playwright_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "artifacts"
REFRESH_SECONDS = 3
# One refresh period plus the time the two fetches take.
SEEN_WITHIN_MS = (REFRESH_SECONDS + 1.5) * 1000


@pytest.fixture(scope="module")
def base_url(request):
    external = os.environ.get("BEAUTY_BASE_URL")
    if external:
        yield external.rstrip("/")
        return
    from beauty import create_app

    db_settings = request.getfixturevalue("db_settings")
    app = create_app(make_config(db_settings, TESTING=False, WTF_CSRF_ENABLED=True, REFRESH_SECONDS=REFRESH_SECONDS))
    with serve(app) as url:
        yield url


@contextlib.contextmanager
def serve(app):
    """The app on a free loopback port, in a thread, its schema in place: yields its URL."""
    with app.app_context():
        from beauty.db import init_schema

        init_schema()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def open_page(browser, base_url, problems):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(base_url + "/")
    return context, page


def row_for(page, name):
    return page.locator("#products-body tr", has=page.locator("td.product-name", has_text=name))


def test_add_edit_delete_seen_live_by_a_second_browser(browser, base_url):
    problems = []
    name = f"Browser Serum {uuid.uuid4().hex[:8]}"
    renamed = name + " v2"
    ctx1, page1 = open_page(browser, base_url, problems)
    ctx2, page2 = open_page(browser, base_url, problems)
    try:
        # Page 2 keeps a half-typed form and a marker that a reload would lose.
        page2.evaluate("window.__notReloaded = true")
        page2.fill("#add-form #name", "half typed")

        page1.fill("#add-form #name", name)
        page1.fill("#add-form #price", "150000")
        page1.fill("#add-form #stock", "12")
        page1.click("#add-form button[type=submit]")
        page1.wait_for_url(base_url + "/")
        row = row_for(page1, name)
        playwright_api.expect(row).to_have_count(1)
        playwright_api.expect(row).to_contain_text("Rp 150.000")
        playwright_api.expect(row).to_contain_text("12 pcs")
        playwright_api.expect(page1.locator(".alert-success")).to_contain_text(name)
        node = page1.locator("#current-node-name").inner_text().strip()
        assert node and node != "unknown"
        assert page1.locator("#status-database").inner_text() == "Connected"

        ARTIFACTS.mkdir(exist_ok=True)
        page1.screenshot(path=str(ARTIFACTS / "beauty-app.png"), full_page=True)

        # The second browser sees the new product through the live refresh, without a reload.
        started = time.monotonic()
        row_for(page2, name).wait_for(state="visible", timeout=SEEN_WITHIN_MS)
        assert time.monotonic() - started <= SEEN_WITHIN_MS / 1000
        assert page2.evaluate("window.__notReloaded") is True
        assert page2.input_value("#add-form #name") == "half typed"
        playwright_api.expect(row_for(page2, name)).to_contain_text("Rp 150.000")
        assert page2.locator("#current-node-name").inner_text().strip()

        # Edit through the row's link.
        row.get_by_role("link", name="Edit").click()
        page1.wait_for_url("**/edit")
        page1.fill("#edit-form #name", renamed)
        page1.fill("#edit-form #price", "175000.50")
        page1.click("#edit-form button[type=submit]")
        page1.wait_for_url(base_url + "/")
        playwright_api.expect(row_for(page1, renamed)).to_contain_text("Rp 175.000,50")
        row_for(page2, renamed).wait_for(state="visible", timeout=SEEN_WITHIN_MS)

        # Delete through the row's button (confirmed in the dialog); both pages lose the row.
        page1.once("dialog", lambda dialog: dialog.accept())
        row_for(page1, renamed).get_by_role("button", name="Delete").click()
        page1.wait_for_url(base_url + "/")
        playwright_api.expect(row_for(page1, renamed)).to_have_count(0)
        playwright_api.expect(page1.locator(".alert-success")).to_contain_text("deleted")
        row_for(page2, renamed).wait_for(state="detached", timeout=SEEN_WITHIN_MS)
        assert page2.evaluate("window.__notReloaded") is True
        assert page2.input_value("#add-form #name") == "half typed"
    finally:
        ctx1.close()
        ctx2.close()
    assert not problems, problems


def test_markup_in_a_name_stays_text_after_a_live_refresh(browser, base_url):
    problems = []
    payload = f'<img src=x onerror="window.__xss=1">{uuid.uuid4().hex[:6]}'
    ctx1, page1 = open_page(browser, base_url, problems)
    ctx2, page2 = open_page(browser, base_url, problems)
    try:
        page1.fill("#add-form #name", payload)
        page1.fill("#add-form #price", "1")
        page1.fill("#add-form #stock", "1")
        page1.click("#add-form button[type=submit]")
        page1.wait_for_url(base_url + "/")
        row_for(page2, payload).wait_for(state="visible", timeout=SEEN_WITHIN_MS)
        assert page2.locator("#products-body img").count() == 0
        assert page1.locator("#products-body img").count() == 0
        assert page1.evaluate("window.__xss") is None and page2.evaluate("window.__xss") is None
        page1.once("dialog", lambda dialog: dialog.accept())
        row_for(page1, payload).get_by_role("button", name="Delete").click()
        page1.wait_for_url(base_url + "/")
        playwright_api.expect(row_for(page1, payload)).to_have_count(0)
    finally:
        ctx1.close()
        ctx2.close()
    assert not problems, problems
