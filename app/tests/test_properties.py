"""Property-based tests: whatever arrives, the validator and the API answer quickly and
never fail on their side (no exception, no 5xx)."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from beauty.validation import NAME_FORBIDDEN, PRICE_MAX, STOCK_MAX, validate_product
from conftest import timed_request

FAST = 0.1  # seconds, asserted per call; Hypothesis' own deadline only catches runaways
FIELDS = ("name", "price", "stock")

PROPERTY = settings(
    max_examples=250,
    deadline=timedelta(seconds=2),
    database=None,
    # The app and its client are built once per test function and shared by the examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

huge_ints = st.builds(
    lambda sign, digits, tail: sign * (10**digits + tail),
    st.sampled_from([1, -1]),
    st.integers(0, 6000),
    st.integers(0, 9),
)
decimals = st.decimals(allow_nan=True, allow_infinity=True) | st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=60),
    st.integers(-2_000_000, 2_000_000),
)
any_text = st.text(st.characters(), max_size=300)
number_text = st.from_regex(r"\A\s{0,3}[+-]?\d{0,50}(\.\d{0,50})?([eE][+-]?\d{1,9})?\s{0,3}\Z") | st.integers(
    1, 6000
).map(lambda n: "9" * n)
leaves = st.none() | st.booleans() | st.integers() | huge_ints | st.floats() | decimals | any_text | number_text
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
products = st.fixed_dictionaries({}, optional={field: values for field in FIELDS})


@PROPERTY
@given(products)
def test_validator_never_raises_and_is_fast(data):
    timings = []
    for _ in range(2):  # a second try tells slow input from a stall of the machine
        started = time.perf_counter()
        clean, errors = validate_product(data)
        timings.append(time.perf_counter() - started)
        if timings[-1] < FAST:
            break
    assert min(timings) < FAST
    assert set(clean) | set(errors) == set(FIELDS) and not set(clean) & set(errors)
    for field, message in errors.items():
        assert message.startswith(field.capitalize())
    if "name" in clean:
        name = clean["name"]
        assert 0 < len(name) <= 255 and name == name.strip() and not NAME_FORBIDDEN.search(name)
        name.encode("utf-8")  # storable as utf8mb4: no lone surrogates
    if "price" in clean:
        price = clean["price"]
        assert isinstance(price, Decimal) and 0 <= price <= PRICE_MAX and price.as_tuple().exponent == -2
    if "stock" in clean:
        stock = clean["stock"]
        assert type(stock) is int and 0 <= stock <= STOCK_MAX


# JSON documents: plain values through json.dumps, plus number literals json.dumps cannot
# write (thousands of digits, huge exponents) spliced into product-shaped objects.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
number_literals = (
    st.from_regex(r"\A-?(0|[1-9]\d{0,60})(\.\d{1,60})?([eE][+-]?\d{1,12})?\Z")
    | st.integers(1, 6000).map(lambda n: "9" * n)
    | st.integers(1, 6000).map(lambda n: "1e" + "9" * n)
)
plausible = st.integers(0, 10**6).map(str) | st.sampled_from(['"Toner"', '"12500.50"', '" 7 "', "0.29"])
slot = plausible | json_values.map(json.dumps) | number_literals
product_bodies = st.builds(
    lambda name, price, stock: f'{{"name": {name}, "price": {price}, "stock": {stock}}}', slot, slot, slot
)
ascii_or_raw = st.sampled_from([True, False])
json_bodies = st.builds(
    lambda value, ascii_only: json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"),
    json_values,
    ascii_or_raw,
) | product_bodies.map(lambda text: text.encode("utf-8", "surrogatepass"))
raw_bodies = st.binary(max_size=3000) | st.builds(
    lambda garbage: b'{"name": "' + garbage + b'", "price": 1, "stock": 1}', st.binary(max_size=200)
)


@pytest.fixture
def target(client, sql):
    """The two write endpoints, with a product for PUT to change."""
    sql("INSERT INTO products (name, price, stock) VALUES ('Target', 1, 1)")
    (pid,) = sql("SELECT id FROM products")[0]
    client.get("/api/products")  # open the first connection outside the timed requests
    return client, pid


def answer_quickly_without_5xx(client, pid, method, body):
    path = "/api/products" if method == "POST" else f"/api/products/{pid}"
    response, elapsed = timed_request(client, path, method=method, data=body, content_type="application/json")
    event(f"status {response.status_code}")
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.status_code in (200, 201, 400, 413, 422)
    assert elapsed < FAST, f"{method} took {elapsed * 1000:.0f} ms"
    if response.status_code >= 400:
        assert response.get_json()["error"]
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        # Never stored with U+FFFD in place of what was sent.
        assert response.status_code == 400


@PROPERTY
@given(method=st.sampled_from(["POST", "PUT"]), body=json_bodies)
def test_api_answers_any_json_quickly_without_5xx(target, method, body):
    client, pid = target
    answer_quickly_without_5xx(client, pid, method, body)


@PROPERTY
@given(method=st.sampled_from(["POST", "PUT"]), body=raw_bodies)
def test_api_answers_any_bytes_quickly_without_5xx(target, method, body):
    client, pid = target
    answer_quickly_without_5xx(client, pid, method, body)
