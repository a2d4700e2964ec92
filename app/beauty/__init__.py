"""Beauty Products: a Flask demo app for a MariaDB Galera cluster behind HAProxy."""

import logging

from flask import Flask, jsonify, render_template, request
from flask_bootstrap import Bootstrap5
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import db, metrics
from .bodies import check_form_encoding, too_large_message
from .config import ConfigError, load_config
from .products import format_rupiah, format_timestamp

__all__ = ["ConfigError", "create_app"]

csrf = CSRFProtect()
bootstrap = Bootstrap5()

# img-src allows data: because Bootstrap's CSS draws its close button and form
# controls with inline SVG data URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

log = logging.getLogger(__name__)


def wants_json():
    return request.path.startswith("/api/") or request.path == "/healthz"


def create_app(test_config=None):
    app = Flask(__name__)
    load_config(app, test_config)

    # First, so its timer starts before the other hooks and it sees the final status.
    metrics.init_app(app)
    db.init_app(app)
    # Before CSRFProtect, which parses the form this check must see first.
    app.before_request(check_form_encoding)
    csrf.init_app(app)
    bootstrap.init_app(app)

    from . import api, pages

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)

    app.add_template_filter(format_rupiah, "rupiah")
    app.add_template_filter(format_timestamp, "timestamp")

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if wants_json():
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(db.DatabaseUnavailable)
    def database_unavailable(exc):
        if wants_json():
            response = jsonify(error="database unavailable", database="unavailable", message=exc.message)
        else:
            response = app.make_response((render_template("errors/503.html", message=exc.message), 503))
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        message = "The form has expired or was not sent by this site. Reload the page and try again."
        return render_template("errors/error.html", code=400, title="Form refused", message=message), 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc):
        message = too_large_message()
        if wants_json():
            return jsonify(error=message), 413
        message += " Shorten the text you entered and try again."
        return render_template("errors/error.html", code=413, title="Request too large", message=message), 413

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if wants_json():
            return jsonify(error=exc.description or exc.name), exc.code
        return (
            render_template("errors/error.html", code=exc.code, title=exc.name, message=exc.description),
            exc.code,
        )

    @app.errorhandler(Exception)
    def unexpected_error(exc):
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.mark_failed()
        if wants_json():
            return jsonify(error="internal error"), 500
        message = "Something went wrong on our side. The error has been logged."
        return render_template("errors/error.html", code=500, title="Internal error", message=message), 500

    return app
