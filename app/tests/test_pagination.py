"""The list stays bounded however many products clients add: pages of at most
PRODUCTS_PAGE_SIZE (or ?limit=, at most 200) found through the primary key, a status
count that stops at COUNT_LIMIT, and query parameters refused by name when they are
not small ASCII whole numbers."""

import re
import time

import pytest

from beauty import create_app, products
from beauty.config import ConfigError
from conftest import make_config


def fill(sql, count):
    # One statement: the test is about reading many rows, not about writing them.
    values = ", ".join(f"('p{i}', 1, {i})" for i in range(count))
    sql(f"INSERT INTO products (name, price, stock) VALUES {values}")


def test_api_pages_cover_every_product_once_newest_first(client, sql):
    fill(sql, 120)
    seen, url, pages = [], "/api/products?limit=50", 0
    while url:
        body = client.get(url).get_json()
        assert len(body["products"]) <= 50
        seen += [p["id"] for p in body["products"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    ids = [row[0] for row in sql("SELECT id FROM products ORDER BY id DESC")]
    assert seen == ids


def test_api_default_page_is_the_configured_size(client, sql):
    fill(sql, 60)
    body = client.get("/api/products").get_json()
    assert len(body["products"]) == 50
    assert body["next"].startswith("/api/products?")


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=1e1000000", "limit"),
        ("limit=" + "9" * 5000, "limit"),
        ("limit=%D9%A1%D9%A2", "limit"),  # Arabic-Indic digits: str.isdigit() says yes
        ("limit=%C2%B2", "limit"),  # superscript two
        ("limit=%ED%A0%80", "limit"),  # a lone surrogate's bytes: not UTF-8
        ("limit=1&limit=2", "limit"),
        ("before=0", "before"),
        ("before=2147483648", "before"),
        ("before=abc", "before"),
        ("before=", "before"),
    ],
)
def test_bad_page_parameters_are_refused_by_name(client, query, name):
    started = time.monotonic()
    api = client.get(f"/api/products?{query}")
    page = client.get(f"/?{query}")
    assert time.monotonic() - started < 1
    assert api.status_code == 400
    assert f"Query parameter '{name}'" in api.get_json()["error"]
    assert page.status_code == 400
    assert f"Query parameter &#39;{name}&#39;" in page.get_data(as_text=True)


def test_index_shows_one_page_and_links_the_older_ones(client, sql):
    fill(sql, 55)
    page = client.get("/").get_data(as_text=True)
    assert page.count("data-product-id=") == 50
    older = re.search(r'id="page-older" href="([^"]+)"', page)
    assert older, "no link to the older products"
    assert 'id="status-total">55<' in page
    rest = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert rest.count("data-product-id=") == 5
    assert 'id="page-newest"' in rest and 'id="page-older"' not in rest


def test_small_list_has_no_page_links(client, sql):
    fill(sql, 3)
    page = client.get("/").get_data(as_text=True)
    assert page.count("data-product-id=") == 3
    assert "products-pages" not in page


def test_count_stops_at_its_limit(client, sql, monkeypatch):
    monkeypatch.setattr(products, "COUNT_LIMIT", 5)
    monkeypatch.setitem(client.application.config, "LIST_CACHE_SECONDS", 0)
    fill(sql, 7)
    status = client.get("/api/status").get_json()
    assert (status["total_products"], status["total_products_more"]) == (5, True)
    page = client.get("/?limit=2").get_data(as_text=True)
    assert 'id="status-total">5+<' in page


@pytest.mark.parametrize("size", [0, 201, True, "ten"])
def test_page_size_setting_is_checked(db_settings, size):
    with pytest.raises(ConfigError, match="BEAUTY_PRODUCTS_PAGE_SIZE"):
        create_app(make_config(db_settings, PRODUCTS_PAGE_SIZE=size))


def test_the_count_is_cached_for_strangers_but_fresh_for_a_writer(client, sql, db_settings):
    fill(sql, 60)
    stranger = client.application.test_client()
    started = time.monotonic()
    assert stranger.get("/api/status").get_json()["total_products"] == 60
    sql("INSERT INTO products (name, price, stock) VALUES ('behind the cache', 1, 1)")
    seen = stranger.get("/api/status").get_json()["total_products"]
    if time.monotonic() - started < 0.9:
        assert seen == 60, "the count was read again within the cache's second"
    client.post("/api/products", json={"name": "mine", "price": "1", "stock": 1})
    assert client.get("/api/status").get_json()["total_products"] == 62
    time.sleep(1.05)
    assert stranger.get("/api/status").get_json()["total_products"] == 62
