"""HTML pages: list, add, edit, delete, status and cluster panels, headers, CSRF."""

import re

import pytest

from beauty import create_app
from beauty.config import ConfigError
from conftest import make_config


def add(client, name="Rose Toner", price="150000", stock="12"):
    return client.post("/products", data={"name": name, "price": price, "stock": stock})


def test_index_lists_products_newest_first(client, sql):
    sql("INSERT INTO products (name, price, stock, created_at) VALUES ('Old Serum', 99000, 3, '2025-07-01 10:00:00')")
    sql(
        "INSERT INTO products (name, price, stock, created_at)"
        " VALUES ('New Cream', 1250000.5, 7, '2025-06-01 09:30:00')"
    )
    page = client.get("/").get_data(as_text=True)
    assert page.index("New Cream") < page.index("Old Serum")
    assert "Rp 1.250.000,50" in page
    assert "Rp 99.000" in page
    assert "7 pcs" in page and "3 pcs" in page
    assert "2025-06-01 09:30:00" in page


def test_index_shows_node_badge_status_and_cluster_panel(client, sql):
    (hostname,) = sql("SELECT COALESCE(NULLIF(@@wsrep_node_name, ''), @@hostname)")[0]
    add(client)
    page = client.get("/").get_data(as_text=True)
    assert "Current Node" in page
    assert re.search(r'id="current-node-name">\s*' + re.escape(hostname), page)
    assert 'id="status-database" class="badge bg-success">Connected' in page
    assert re.search(r'id="status-total">1<', page)
    # The test server is a plain MariaDB, so the cluster panel says so instead of failing.
    assert "not a Galera node" in page
    assert 'id="cluster-not-galera" class="text-muted mb-0"' in page


def test_add_product_redirects_with_flash_and_saves(client, sql):
    response = add(client, name="  Aloe Gel  ", price="45000.50", stock="20")
    assert response.status_code == 302
    assert sql("SELECT name, price, stock FROM products") == (
        ("Aloe Gel", __import__("decimal").Decimal("45000.50"), 20),
    )
    page = client.get("/").get_data(as_text=True)
    assert "Product \u201cAloe Gel\u201d added." in page
    assert "Rp 45.000,50" in page


def test_add_invalid_product_shows_field_errors_and_writes_nothing(client, sql):
    response = add(client, name="   ", price="-1", stock="2.5")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Name is required." in page
    assert "Price must not be negative." in page
    assert "Stock must be a whole number." in page
    assert "was not saved" in page
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)


def test_invalid_form_keeps_what_the_user_typed(client):
    page = add(client, name="Keep Me", price="abc", stock="5").get_data(as_text=True)
    assert 'value="Keep Me"' in page
    assert 'value="abc"' in page


def test_xss_payload_is_shown_as_text(client):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    add(client, name=payload)
    page = client.get("/").get_data(as_text=True)
    assert payload not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    api = client.get("/api/products").get_json()
    assert api["products"][0]["name"] == payload


def test_edit_product(client, sql):
    add(client)
    (pid,) = sql("SELECT id FROM products")[0]
    page = client.get(f"/products/{pid}/edit").get_data(as_text=True)
    assert 'value="Rose Toner"' in page and 'value="150000.00"' in page
    response = client.post(f"/products/{pid}/edit", data={"name": "Rose Toner XL", "price": "175000", "stock": "4"})
    assert response.status_code == 302
    assert sql("SELECT name, price, stock FROM products WHERE id=%s", (pid,))[0][0] == "Rose Toner XL"
    assert "updated" in client.get("/").get_data(as_text=True)


def test_edit_with_invalid_input_changes_nothing(client, sql):
    add(client)
    (pid,) = sql("SELECT id FROM products")[0]
    response = client.post(f"/products/{pid}/edit", data={"name": "x" * 256, "price": "1.234", "stock": "-3"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Name must be at most 255 characters." in page
    assert "Price can have at most 2 decimal places." in page
    assert "Stock must not be negative." in page
    assert sql("SELECT name FROM products WHERE id=%s", (pid,)) == (("Rose Toner",),)


def test_delete_product(client, sql):
    add(client)
    (pid,) = sql("SELECT id FROM products")[0]
    response = client.post(f"/products/{pid}/delete")
    assert response.status_code == 302
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)
    assert f"Product #{pid} deleted." in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "method,path",
    [("GET", "/products/999999/edit"), ("POST", "/products/999999/edit"), ("POST", "/products/999999/delete")],
)
def test_unknown_product_pages_are_404(client, method, path):
    response = client.open(path, method=method, data={"name": "a", "price": "1", "stock": "1"})
    assert response.status_code == 404
    assert "There is no product with id 999999." in response.get_data(as_text=True)


def test_security_headers_and_no_cdn(client):
    response = client.get("/")
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    page = response.get_data(as_text=True)
    assert "<script>" not in page and "onclick" not in page and "style=" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_bootstrap_assets_are_served_locally(client):
    page = client.get("/").get_data(as_text=True)
    for asset in re.findall(r'(?:src|href)="(/bootstrap/static/[^"]+|/static/[^"]+)"', page):
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()
    css = client.get("/bootstrap/static/css/bootstrap.min.css").get_data(as_text=True)
    assert "Bootstrap" in css and "v5." in css
    assert client.get("/bootstrap/static/css/font/fonts/bootstrap-icons.woff2").status_code == 200


def test_session_cookie_flags_and_body_limit(db_settings):
    app = create_app(make_config(db_settings))
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024
    assert app.debug is False
    client = app.test_client()
    client.post("/products", data={"name": "", "price": "", "stock": ""})
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    response = client.post("/products", data={"name": "x" * (20 * 1024), "price": "1", "stock": "1"})
    assert response.status_code == 413


def test_form_post_without_csrf_token_is_refused(db_settings, sql, app):
    csrf_app = create_app(make_config(db_settings, WTF_CSRF_ENABLED=True))
    client = csrf_app.test_client()
    response = client.post("/products", data={"name": "Sneaky", "price": "1", "stock": "1"})
    assert response.status_code == 400
    assert "Form refused" in response.get_data(as_text=True)
    assert client.post("/products/1/delete").status_code == 400
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)


def test_form_post_with_csrf_token_is_accepted(db_settings, sql, app):
    csrf_app = create_app(make_config(db_settings, WTF_CSRF_ENABLED=True))
    client = csrf_app.test_client()
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/products", data={"csrf_token": token, "name": "Honest", "price": "1", "stock": "1"})
    assert response.status_code == 302
    assert sql("SELECT name FROM products") == (("Honest",),)


def test_cluster_panel_links_to_the_dashboard_when_one_is_configured(db_settings, app):
    assert 'id="cluster-dashboard"' not in app.test_client().get("/").get_data(as_text=True)
    linked = create_app(make_config(db_settings, DASHBOARD_URL="http://localhost:9090/consoles/galera.html"))
    page = linked.test_client().get("/").get_data(as_text=True)
    assert 'id="cluster-dashboard"' in page
    assert 'href="http://localhost:9090/consoles/galera.html"' in page


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:text/html,x", "//evil.example/x", "localhost:9090", "http://", "http://a b/", 42],
)
def test_a_dashboard_link_that_is_not_a_web_address_is_refused(db_settings, url):
    with pytest.raises(ConfigError, match="BEAUTY_DASHBOARD_URL"):
        create_app(make_config(db_settings, DASHBOARD_URL=url))
