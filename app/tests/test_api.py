"""JSON API: CRUD, status, health and the error contract."""

import json

import pytest


def post(client, body, path="/api/products", method="POST"):
    return client.open(path, method=method, data=json.dumps(body), content_type="application/json")


def test_crud_round_trip(client, sql):
    created = post(client, {"name": "Lip Tint", "price": "89000", "stock": 15})
    assert created.status_code == 201
    product = created.get_json()
    pid = product["id"]
    assert created.headers["Location"].endswith(f"/api/products/{pid}")
    assert product["name"] == "Lip Tint"
    assert product["price"] == "89000.00"
    assert product["price_display"] == "Rp 89.000"
    assert product["stock"] == 15
    assert product["created_at"]

    assert client.get(f"/api/products/{pid}").get_json() == product
    listing = client.get("/api/products").get_json()
    assert [p["id"] for p in listing["products"]] == [pid]

    updated = post(
        client, {"name": "Lip Tint Matte", "price": 92500.75, "stock": "16"}, path=f"/api/products/{pid}", method="PUT"
    )
    assert updated.status_code == 200
    assert updated.get_json()["price"] == "92500.75"
    assert updated.get_json()["price_display"] == "Rp 92.500,75"
    assert sql("SELECT name, stock FROM products") == (("Lip Tint Matte", 16),)

    # Saving the same values again is not "not found".
    again = post(
        client, {"name": "Lip Tint Matte", "price": 92500.75, "stock": 16}, path=f"/api/products/{pid}", method="PUT"
    )
    assert again.status_code == 200

    deleted = client.delete(f"/api/products/{pid}")
    assert deleted.status_code == 204
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)


def test_list_is_newest_first(client, sql):
    # Newest is the last added (highest id), whatever a row's created_at says.
    sql(
        "INSERT INTO products (name, price, stock, created_at) VALUES ('a', 1, 1, '2024-01-01'),"
        " ('b', 1, 1, '2025-01-01'), ('c', 1, 1, '2024-06-01')"
    )
    listing = client.get("/api/products").get_json()
    assert [p["name"] for p in listing["products"]] == ["c", "b", "a"]
    assert listing["next"] is None


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_id_is_404(client, method):
    response = post(client, {"name": "x", "price": 1, "stock": 1}, path="/api/products/424242", method=method)
    assert response.status_code == 404
    assert response.get_json() == {"error": "There is no product with id 424242."}


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert "error" in response.get_json()


@pytest.mark.parametrize("body", ["{not json", '{"name": "a",}', "", "NaN", '{"price": NaN}', "\xff"])
def test_malformed_json_is_400(client, sql, body):
    response = client.post("/api/products", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": "The request body is not valid JSON."}
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null", '[{"name": "a"}]'])
def test_json_that_is_not_an_object_is_400(client, body):
    response = client.post("/api/products", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": "The request body must be a JSON object."}


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_writes_require_json_content_type(client, sql, content_type):
    kwargs = {"data": '{"name": "a", "price": 1, "stock": 1}'}
    if content_type == "application/x-www-form-urlencoded":
        kwargs = {"data": {"name": "a", "price": "1", "stock": "1"}}
    elif content_type:
        kwargs["content_type"] = content_type
    response = client.post("/api/products", **kwargs)
    assert response.status_code == 415
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)


def test_validation_errors_are_422_with_field_messages(client, sql):
    response = post(client, {"name": "", "price": "free", "stock": -1})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "Validation failed."
    assert body["fields"] == {
        "name": "Name is required.",
        "price": "Price must be a number, for example 150000 or 12500.50.",
        "stock": "Stock must not be negative.",
    }
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)


def test_put_with_invalid_input_is_422_and_changes_nothing(client, sql):
    pid = post(client, {"name": "Keep", "price": 1, "stock": 1}).get_json()["id"]
    response = post(client, {"name": "Changed"}, path=f"/api/products/{pid}", method="PUT")
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"price", "stock"}
    assert sql("SELECT name FROM products") == (("Keep",),)


def test_status_reports_node_database_total_and_cluster(client, sql):
    post(client, {"name": "One", "price": 1, "stock": 1})
    status = client.get("/api/status").get_json()
    (expected_node,) = sql("SELECT COALESCE(NULLIF(@@wsrep_node_name, ''), @@hostname)")[0]
    assert status["node"] == expected_node
    assert status["database"] == "connected"
    assert status["total_products"] == 1
    assert status["cluster"] == {"galera": False}


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "connected" and body["node"]
    assert response.headers["Cache-Control"] == "no-store"


def test_api_is_csrf_exempt_but_json_only(db_settings, sql, app):
    from beauty import create_app
    from conftest import make_config

    client = create_app(make_config(db_settings, WTF_CSRF_ENABLED=True)).test_client()
    assert post(client, {"name": "Via API", "price": 1, "stock": 1}).status_code == 201
    assert client.post("/api/products", data={"name": "form", "price": "1", "stock": "1"}).status_code == 415
    assert sql("SELECT name FROM products") == (("Via API",),)
