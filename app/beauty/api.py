"""JSON API and the health endpoint. CSRF-exempt, so writes demand a JSON content type:
a cross-site HTML form cannot send one without a CORS preflight, which this app never grants."""

import json

from flask import Blueprint, current_app, jsonify, request, url_for

from . import products
from .bodies import BodyError, parse_json_object
from .db import DatabaseUnavailable
from .validation import PageError, page_args, validate_product

bp = Blueprint("api", __name__)


class ApiError(Exception):
    def __init__(self, status, message, fields=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields


@bp.errorhandler(ApiError)
def api_error(exc):
    body = {"error": exc.message}
    if exc.fields:
        body["fields"] = exc.fields
    return jsonify(body), exc.status


def _json_body():
    if not request.is_json:
        raise ApiError(415, "Send the body as JSON with Content-Type: application/json.")
    try:
        # Raw bytes: Werkzeug's as_text would turn invalid UTF-8 into U+FFFD silently.
        return parse_json_object(request.get_data())
    except BodyError as exc:
        raise ApiError(400, str(exc)) from None


def _validated(data):
    clean, errors = validate_product(data)
    if errors:
        raise ApiError(422, "Validation failed.", fields=errors)
    return clean


def _not_found(product_id):
    return ApiError(404, f"There is no product with id {product_id}.")


LIST_CACHE = "beauty.list_cache"


def _page_json(limit, before):
    rows, more = products.list_products(limit, before)
    older = url_for("api.list_products", limit=limit, before=rows[-1]["id"]) if more else None
    return json.dumps({"products": [products.to_json(row) for row in rows], "next": older}).encode()


@bp.get("/api/products")
def list_products():
    """A page of products, newest first; ``next`` is the URL of the older ones, or null."""
    try:
        limit, before = page_args(request.args, current_app.config["PRODUCTS_PAGE_SIZE"])
    except PageError as exc:
        raise ApiError(400, str(exc)) from None
    # Only the newest page, the one every open page polls, is cached (products.recent).
    if before is None and limit == current_app.config["PRODUCTS_PAGE_SIZE"]:
        body = products.recent(LIST_CACHE, lambda: _page_json(limit, None))
    else:
        body = _page_json(limit, before)
    return current_app.response_class(body, mimetype="application/json")


@bp.post("/api/products")
def create_product():
    row = products.create_product(**_validated(_json_body()))
    response = jsonify(products.to_json(row))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_product", product_id=row["id"])
    return response


@bp.get("/api/products/<int:product_id>")
def get_product(product_id):
    row = products.get_product(product_id)
    if row is None:
        raise _not_found(product_id)
    return jsonify(products.to_json(row))


@bp.put("/api/products/<int:product_id>")
def update_product(product_id):
    row = products.update_product(product_id, **_validated(_json_body()))
    if row is None:
        raise _not_found(product_id)
    return jsonify(products.to_json(row))


@bp.delete("/api/products/<int:product_id>")
def delete_product(product_id):
    if not products.delete_product(product_id):
        raise _not_found(product_id)
    return "", 204


@bp.get("/api/status")
def status():
    return jsonify(products.snapshot())


@bp.get("/healthz")
def healthz():
    try:
        products.check_database()
        node = products.node_name()
    except DatabaseUnavailable as exc:
        return jsonify(status="unavailable", database="unavailable", message=exc.message), 503
    return jsonify(status="ok", database="connected", node=node)
