"""HTML pages: product list with status, add, edit and delete."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from . import products
from .validation import PageError, page_args, validate_product

bp = Blueprint("pages", __name__)


def _render_index(form=None, errors=None, status=200):
    try:
        limit, before = page_args(request.args, current_app.config["PRODUCTS_PAGE_SIZE"])
    except PageError as exc:
        abort(400, description=str(exc))
    rows, more = products.list_products(limit, before)
    # A first page that holds every product has counted them already.
    state = products.snapshot(total=(len(rows), False) if before is None and not more else None)
    return (
        render_template(
            "index.html",
            products=rows,
            page={"limit": limit, "before": before, "older": rows[-1]["id"] if more else None},
            state=state,
            form=form or {},
            errors=errors or {},
        ),
        status,
    )


@bp.get("/")
def index():
    return _render_index()


@bp.post("/products")
def add_product():
    clean, errors = validate_product(request.form)
    if errors:
        flash("The product was not saved: please correct the fields marked below.", "danger")
        return _render_index(form=request.form, errors=errors, status=422)
    row = products.create_product(**clean)
    flash(f"Product \u201c{row['name']}\u201d added.", "success")
    return redirect(url_for("pages.index"))


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
def edit_product(product_id):
    current = products.get_product(product_id)
    if current is None:
        abort(404, description=f"There is no product with id {product_id}.")
    state = products.snapshot()
    if request.method == "GET":
        form = {"name": current["name"], "price": f"{current['price']:.2f}", "stock": current["stock"]}
        return render_template("edit.html", product=current, form=form, errors={}, state=state)

    clean, errors = validate_product(request.form)
    if errors:
        return (
            render_template("edit.html", product=current, form=request.form, errors=errors, state=state),
            422,
        )
    row = products.update_product(product_id, **clean)
    if row is None:
        abort(404, description=f"There is no product with id {product_id}.")
    flash(f"Product \u201c{row['name']}\u201d updated.", "success")
    return redirect(url_for("pages.index"))


@bp.post("/products/<int:product_id>/delete")
def delete_product(product_id):
    if not products.delete_product(product_id):
        abort(404, description=f"There is no product with id {product_id}.")
    flash(f"Product #{product_id} deleted.", "success")
    return redirect(url_for("pages.index"))
