"""The product list's pages in a real browser (Debian's Chromium through Playwright).

Not in test_browser.py: that module also runs against the deployed lab (BEAUTY_BASE_URL,
molecule/default's test_40), and this one needs an app of its own (pages of two products, an
emptied table)."""

import pytest
from test_browser import REFRESH_SECONDS, SEEN_WITHIN_MS, open_page, serve

from conftest import make_config


@pytest.fixture
def two_per_page(db_settings, sql):
    """The app with pages of two products, on an emptied table: this test owns the list."""
    from beauty import create_app

    app = create_app(
        make_config(
            db_settings, TESTING=False, REFRESH_SECONDS=REFRESH_SECONDS, PRODUCTS_PAGE_SIZE=2, LIST_CACHE_SECONDS=0
        )
    )
    with serve(app) as url:
        sql("DELETE FROM products")
        yield url


def add_rows(sql, *names):
    for name in names:
        sql("INSERT INTO products (name, price, stock) VALUES (%s, 1, 1)", (name,))
    return [sql("SELECT id FROM products WHERE name = %s", (name,))[0][0] for name in names]


def test_the_older_products_link_follows_the_live_list(browser, two_per_page, sql):
    """A first page that fills up while it is open gets its "Older products" link from the
    live refresh, and loses it when the older products are gone (it kept neither before)."""
    problems = []
    first, second = add_rows(sql, "pager-a", "pager-b")
    ctx, page = open_page(browser, two_per_page, problems)
    try:
        page.evaluate("window.__notReloaded = true")
        assert page.locator("#page-older").count() == 0
        (third,) = add_rows(sql, "pager-c")
        older = page.locator("#page-older")
        older.wait_for(state="visible", timeout=SEEN_WITHIN_MS)
        # The newest page shows c and b; the link leads to what is older than b.
        assert older.get_attribute("href") == f"/?before={second}"
        assert page.evaluate("window.__notReloaded") is True
        older.click()
        page.wait_for_url(f"**/?before={second}")
        assert page.locator("#products-body td.product-name").all_inner_texts() == ["pager-a"]
        page.go_back()
        sql("DELETE FROM products WHERE id = %s", (first,))
        page.locator("#page-older").wait_for(state="detached", timeout=SEEN_WITHIN_MS)
        assert page.locator("#products-pages").count() == 0
        assert third > second > first
    finally:
        ctx.close()
    assert not problems, problems
