"""Hostile bodies from the issue "Hostile input and hostile load": each is refused with a
4xx that names the problem, quickly, and nothing reaches the database."""

import pytest

from beauty import ConfigError, create_app
from conftest import make_config, timed_request

FAST = 0.1  # seconds: every refusal must come back within this


def timed(client, path="/api/products", method="POST", **kwargs):
    return timed_request(client, path, method=method, **kwargs)


def send_json(client, raw, path="/api/products", method="POST"):
    return timed(client, path, method, data=raw, content_type="application/json")


@pytest.fixture
def product_id(client, sql):
    sql("INSERT INTO products (name, price, stock) VALUES ('Target', 1, 1)")
    return sql("SELECT id FROM products")[0][0]


def both_writes(product_id):
    return [("/api/products", "POST"), (f"/api/products/{product_id}", "PUT")]


# (raw JSON body, field the error must name, words the message must contain)
HOSTILE_FIELDS = [
    (b'{"name": "x", "price": 1, "stock": 1e1000000}', "stock", "Stock must be at most 2,147,483,647."),
    (b'{"name": "x", "price": 1, "stock": "' + b"9" * 5000 + b'"}', "stock", "Stock must be at most 40 characters"),
    (b'{"name": "x", "price": 1, "stock": ' + b"9" * 5000 + b"}", "stock", "Stock must be at most 40 characters"),
    (b'{"name": "x", "price": 1e1000000, "stock": 1}', "price", "Price must be at most 99,999,999.99."),
    (b'{"name": "x", "price": ' + b"9" * 5000 + b', "stock": 1}', "price", "Price must be at most 40 characters"),
    (b'{"name": "x", "price": "' + b"1" * 5000 + b'", "stock": 1}', "price", "Price must be at most 40 characters"),
    (b'{"name": "x", "price": 1, "stock": 1e9999999999999999999}', "stock", "Stock must be at most 2,147,483,647."),
    (b'{"name": "x", "price": -1e9999999999999999999, "stock": 1}', "price", "Price must not be negative."),
    (b'{"name": "x", "price": 1e-9999999999999999999, "stock": 1}', "price", "at most 2 decimal places"),
    (b'{"name": "\\ud800", "price": 1, "stock": 1}', "name", "unpaired surrogate"),
    (b'{"name": "a\\u0000b", "price": 1, "stock": 1}', "name", "control characters (found U+0000)"),
    (b'{"name": "a\\u001bb", "price": 1, "stock": 1}', "name", "control characters (found U+001B)"),
]


HOSTILE_IDS = [
    "stock-1e1000000",
    "stock-5000-digit-string",
    "stock-5000-digit-number",
    "price-1e1000000",
    "price-5000-digit-number",
    "price-5000-digit-string",
    "stock-exponent-past-decimal",
    "price-negative-exponent-past-decimal",
    "price-tiny-exponent-past-decimal",
    "name-lone-surrogate",
    "name-nul",
    "name-escape",
]


@pytest.mark.parametrize("raw,field,message", HOSTILE_FIELDS, ids=HOSTILE_IDS)
@pytest.mark.parametrize("write", [0, 1], ids=["post", "put"])
def test_hostile_field_is_refused_quickly_and_named(client, sql, product_id, raw, field, message, write):
    path, method = both_writes(product_id)[write]
    response, elapsed = send_json(client, raw, path, method)
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert list(fields) == [field]
    assert message in fields[field]
    assert elapsed < FAST
    assert sql("SELECT name, price, stock FROM products") == (("Target", 1, 1),)


def test_body_over_the_limit_is_413_json(client, sql):
    raw = b'{"name": "' + b"x" * (17 * 1024) + b'", "price": 1, "stock": 1}'
    response, elapsed = send_json(client, raw)
    assert response.status_code == 413
    assert response.get_json() == {"error": "The request body is larger than the limit of 16 KiB."}
    assert elapsed < FAST
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)


def test_form_over_the_limit_is_a_clear_413_page(client, sql):
    client.get("/")  # compile the templates first: the bound is for the refusal, not a cold start
    response, elapsed = timed(client, "/products", data={"name": "x" * (17 * 1024), "price": "1", "stock": "1"})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Request too large" in page and "limit of 16 KiB" in page
    assert elapsed < FAST
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)


def test_body_limit_is_configurable(db_settings, sql):
    client = create_app(make_config(db_settings, MAX_CONTENT_LENGTH=2048)).test_client()
    response, _ = send_json(client, b'{"name": "' + b"x" * 3000 + b'", "price": 1, "stock": 1}')
    assert response.status_code == 413
    assert response.get_json() == {"error": "The request body is larger than the limit of 2 KiB."}


@pytest.mark.parametrize("opener,closer", [(b"[", b"]"), (b'{"a":', b"}")])
def test_deeply_nested_json_is_400(db_settings, sql, opener, closer):
    # A limit big enough to let 10,000 levels reach the parser: the depth check must hold alone.
    client = create_app(make_config(db_settings, MAX_CONTENT_LENGTH=1024 * 1024)).test_client()
    raw = opener * 10000 + b"1" + closer * 10000
    response, elapsed = send_json(client, raw)
    assert response.status_code == 400
    assert response.get_json() == {"error": "The request body nests arrays or objects more than 32 levels deep."}
    assert elapsed < FAST


def test_nesting_inside_strings_does_not_count(client):
    response, _ = send_json(client, b'{"name": "' + b"[" * 100 + b'", "price": 1, "stock": 1}')
    assert response.status_code == 201


@pytest.mark.parametrize(
    "raw", [b'{"name": "a\xffb", "price": 1, "stock": 1}', b'{"name": "\xed\xa0\x80", "price": 1, "stock": 1}']
)
def test_invalid_utf8_body_is_400(client, sql, raw):
    response, elapsed = send_json(client, raw)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("The request body is not valid UTF-8")
    assert elapsed < FAST
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)


@pytest.mark.parametrize("body", [b"name=%FF%FE&price=1&stock=1", b"name=a\xffb&price=1&stock=1"])
def test_form_with_invalid_utf8_is_400(client, sql, body):
    client.get("/")
    response, elapsed = timed(client, "/products", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "The form data is not valid UTF-8" in response.get_data(as_text=True)
    assert elapsed < FAST
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("stock", "9" * 5000, "Stock must be at most 40 characters long."),
        ("price", "1" * 5000, "Price must be at most 40 characters long."),
        ("name", "a\x00b", "Name must not contain control characters (found U+0000)."),
    ],
)
def test_hostile_form_field_is_422_naming_it(client, sql, field, value, message):
    data = {"name": "Ok", "price": "1", "stock": "1", field: value}
    client.get("/")
    response, elapsed = timed(client, "/products", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert elapsed < FAST
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)


@pytest.mark.parametrize("value", ["abc", "100", "999999999"])
def test_bad_body_limit_setting_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("BEAUTY_SECRET_KEY", "x")
    monkeypatch.setenv("BEAUTY_MAX_CONTENT_LENGTH", value)
    with pytest.raises(ConfigError, match="BEAUTY_MAX_CONTENT_LENGTH"):
        create_app()
