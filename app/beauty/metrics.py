"""The app's own Prometheus metrics, served at GET /metrics.

Under gunicorn every worker is its own process, so with PROMETHEUS_MULTIPROC_DIR set (the
systemd unit does) each worker writes its values to files there and a scrape adds them
up; gunicorn.conf.py drops a dead worker's gauges. Without it (tests, `flask run`)
the values live in this process only.

Every label has a small, fixed set of values, so no client can grow the series: the
endpoint is the Flask endpoint name (one per route), a path that matches no route is
"unmatched", and a method outside HTTP's usual ones is "other".
"""

import os
import time

from flask import Blueprint, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from .config import ConfigError

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# app.extensions key of the registry a scrape reads.
EXPOSITION = "beauty.metrics_registry"

# A *_created series per counter would double what a scrape reads and Prometheus stores;
# multiprocess mode never writes them, so single-process mode now matches it.
disable_created_metrics()

# The app's metrics only: no process_* or python_* collectors, which multiprocess mode
# cannot add up across workers anyway.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "beauty_http_requests_total",
    "HTTP requests answered, by Flask endpoint, method and status code.",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
# From a few milliseconds (a cached page) to the 10 s database read timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY = Histogram(
    "beauty_http_request_duration_seconds",
    "Time from the start of a request's handling until its response was ready, by Flask endpoint.",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SERVER_ERRORS = Counter(
    "beauty_http_server_errors_total",
    "Responses with a 5xx status, by Flask endpoint.",
    ["endpoint"],
    registry=REGISTRY,
)
DB_RETRIES = Counter(
    "beauty_db_retries_total",
    "Database reads, writes and COMMITs run again on a new connection after a failover-type error.",
    ["operation", "reason"],
    registry=REGISTRY,
)
DB_GIVE_UPS = Counter(
    "beauty_db_give_ups_total",
    "Database reads, writes and COMMITs abandoned with a 503: the retry failed as well, or the "
    "error was not safe to retry (operation commit, reason lost_connection: the change may be saved).",
    ["operation", "reason"],
    registry=REGISTRY,
)
DB_CONNECTIONS_OPENED = Counter(
    "beauty_db_connections_opened_total",
    "Database connections opened (pool refills, retries, replacements after a failover).",
    registry=REGISTRY,
)
DB_POOL_CONNECTIONS = Gauge(
    "beauty_db_pool_connections",
    "Database connections the live workers' pools hold open, idle or in use.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)

bp = Blueprint("metrics", __name__)


def multiprocess_dir():
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


def _exposition_registry():
    path = multiprocess_dir()
    if path is None:
        return REGISTRY
    if not os.path.isdir(path):
        raise ConfigError(f"{MULTIPROC_DIR_VARIABLE} points at {path}, which is not a directory")
    # A registry of its own: the metrics above also sit in REGISTRY, and would count twice.
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path)
    return registry


def endpoint_label():
    # url_rule is None when routing failed (404, 405, a slash redirect): the raw path
    # must never become a label value.
    return request.url_rule.endpoint if request.url_rule is not None else UNMATCHED


def _start_timer():
    g.metrics_started = time.perf_counter()


def _observe(response):
    endpoint = endpoint_label()
    method = request.method if request.method in METHODS else "other"
    status = response.status_code
    REQUESTS.labels(endpoint, method, str(status)).inc()
    started = g.get("metrics_started")
    if started is not None:
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)
    if status >= 500:
        SERVER_ERRORS.labels(endpoint).inc()
    return response


@bp.get("/metrics")
def metrics():
    body = generate_latest(current_app.extensions[EXPOSITION])
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}


def init_app(app):
    """Count every request; call before the other before_request hooks, so the timer starts first."""
    app.extensions[EXPOSITION] = _exposition_registry()
    app.before_request(_start_timer)
    # after_request also runs for responses made by error handlers, 500s included.
    app.after_request(_observe)
    app.register_blueprint(bp)
