"""GET /metrics: what the app counts, with bounded labels, read the way Prometheus reads it.

The metrics live for the whole test process (as they do for a gunicorn worker), so each
test compares a scrape after its requests with one before them.
"""

import http.client
import json
import os
import random
import signal
import string
import subprocess
import sys

import pytest
from flask import request
from prometheus_client.parser import text_string_to_metric_families

from beauty import create_app, db
from conftest import free_port, make_config, wait_until

APP_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse(text):
    """{(sample name, sorted labels): value} from a text exposition, and the families' types."""
    samples, types = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples, types


def scrape(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))[0]


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def total(samples, name):
    return sum(v for (sample_name, _), v in samples.items() if sample_name == name)


def series(samples, name):
    return {labels for sample_name, labels in samples if sample_name == name}


def add_product(client, name="Metered"):
    return client.post(
        "/api/products", data=json.dumps({"name": name, "price": 1, "stock": 1}), content_type="application/json"
    )


def test_requests_are_counted_by_endpoint_method_and_status(client):
    before = scrape(client)
    assert client.get("/api/products").status_code == 200
    assert client.get("/api/products").status_code == 200
    assert add_product(client).status_code == 201
    assert client.get("/api/products/999999").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    after = scrape(client)

    requests = "beauty_http_requests_total"
    assert delta(before, after, requests, endpoint="api.list_products", method="GET", status="200") == 2
    assert delta(before, after, requests, endpoint="api.create_product", method="POST", status="201") == 1
    # A missing product is still its route's 404; only a path no route matches is "unmatched".
    assert delta(before, after, requests, endpoint="api.get_product", method="GET", status="404") == 1
    assert delta(before, after, requests, endpoint="unmatched", method="GET", status="404") == 1
    assert not any("999999" in str(labels) or "/no/such" in str(labels) for labels in series(after, requests))


def test_metrics_output_is_prometheus_text_with_conventional_names(client):
    client.get("/api/products")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    samples, types = parse(response.get_data(as_text=True))
    assert types == {
        "beauty_http_requests": "counter",
        "beauty_http_request_duration_seconds": "histogram",
        "beauty_http_server_errors": "counter",
        "beauty_db_retries": "counter",
        "beauty_db_give_ups": "counter",
        "beauty_db_connections_opened": "counter",
        "beauty_db_pool_connections": "gauge",
    }
    assert value(samples, "beauty_http_requests_total", endpoint="api.list_products", method="GET", status="200") >= 1


def test_a_flood_of_random_paths_and_methods_adds_no_series(client):
    def random_path():
        return "/" + "/".join("".join(random.choices(string.ascii_letters + "%20-._~", k=12)) for _ in range(3))

    def random_method():
        # Any token is a method to HTTP; nginx passes them on as well.
        return random.choice(["GET", "POST", "PUT", "DELETE", "".join(random.choices(string.ascii_uppercase, k=7))])

    # One of each label value first, so the series the flood maps to exist before it.
    for method in ("GET", "POST", "PUT", "DELETE", "BREW"):
        client.open(random_path(), method=method)
    scrape(client)  # and a scrape's own series
    before = scrape(client)

    flood = 300
    for _ in range(flood):
        query = "?" + "".join(random.choices(string.ascii_lowercase, k=8))
        assert client.open(random_path() + query, method=random_method()).status_code == 404
    after = scrape(client)

    requests = "beauty_http_requests_total"
    assert series(after, requests) == series(before, requests)
    assert len(after) == len(before)
    counted = sum(
        delta(before, after, requests, endpoint="unmatched", method=method, status="404")
        for method in ("GET", "POST", "PUT", "DELETE", "other")
    )
    assert counted == flood
    assert delta(before, after, "beauty_http_request_duration_seconds_count", endpoint="unmatched") == flood


def test_latency_histogram_counts_every_request_in_its_bucket(app, client, sql):
    @app.before_request
    def slow_database():
        if request.endpoint == "api.list_products":
            sql("DO SLEEP(0.3)")

    buckets = "beauty_http_request_duration_seconds_bucket"
    before = scrape(client)
    for _ in range(3):
        assert client.get("/api/status").status_code == 200
    after = scrape(client)
    assert delta(before, after, "beauty_http_request_duration_seconds_count", endpoint="api.status") == 3
    assert delta(before, after, buckets, endpoint="api.status", le="+Inf") == 3
    assert delta(before, after, "beauty_http_request_duration_seconds_sum", endpoint="api.status") > 0
    counts = [delta(before, after, buckets, endpoint="api.status", le=le) for le in ("0.005", "0.1", "1.0", "10.0")]
    assert counts == sorted(counts)

    # A request the database really holds up for 0.3 s lands above the 0.25 s bucket.
    before = scrape(client)
    assert client.get("/api/products").status_code == 200
    after = scrape(client)
    assert delta(before, after, buckets, endpoint="api.list_products", le="0.25") == 0
    assert delta(before, after, buckets, endpoint="api.list_products", le="+Inf") == 1
    assert delta(before, after, "beauty_http_request_duration_seconds_sum", endpoint="api.list_products") >= 0.3


@pytest.fixture
def offline_client(db_settings, closed_port):
    return create_app(make_config(dict(db_settings, DB_HOST="127.0.0.1", DB_PORT=closed_port))).test_client()


def test_unreachable_database_counts_a_retry_a_give_up_and_a_server_error(offline_client):
    before = scrape(offline_client)
    assert offline_client.get("/api/products").status_code == 503
    after = scrape(offline_client)
    assert delta(before, after, "beauty_db_retries_total", operation="read", reason="connect_failed") == 1
    assert delta(before, after, "beauty_db_give_ups_total", operation="read", reason="connect_failed") == 1
    assert delta(before, after, "beauty_http_server_errors_total", endpoint="api.list_products") == 1
    status = dict(endpoint="api.list_products", method="GET", status="503")
    assert delta(before, after, "beauty_http_requests_total", **status) == 1


def test_read_on_a_killed_connection_counts_one_retry(app, client, sql):
    sql("INSERT INTO products (name, price, stock) VALUES ('Still Listed', 1, 1)")

    @app.before_request
    def kill_connection_after_it_is_opened():
        sql(f"KILL {int(db.get_db().thread_id())}")

    before = scrape(client)
    assert client.get("/api/products").status_code == 200
    after = scrape(client)
    assert delta(before, after, "beauty_db_retries_total", operation="read", reason="lost_connection") == 1
    assert total(after, "beauty_db_give_ups_total") == total(before, "beauty_db_give_ups_total")


def test_write_killed_mid_transaction_counts_one_retry(app, client, sql):
    attempts = []

    def work(cur):
        attempts.append(cur.connection.thread_id())
        if len(attempts) == 1:
            sql(f"KILL {int(cur.connection.thread_id())}")
        cur.execute("INSERT INTO products (name, price, stock) VALUES ('Retried', 1, 1)")
        return True

    before = scrape(client)
    with app.app_context():
        assert db.run_write(work) is True
    after = scrape(client)
    assert len(attempts) == 2
    assert delta(before, after, "beauty_db_retries_total", operation="write", reason="lost_connection") == 1
    assert sql("SELECT COUNT(*) FROM products WHERE name = 'Retried'") == ((1,),)


def test_write_that_fails_again_counts_a_retry_and_a_give_up(app, sql, monkeypatch):
    real_connect = db.connect

    def connect_then_lose_it():
        conn = real_connect()
        sql(f"KILL {int(conn.thread_id())}")
        return conn

    client = app.test_client()
    before = scrape(client)
    monkeypatch.setattr(db, "connect", connect_then_lose_it)
    assert add_product(client, "Never").status_code == 503
    monkeypatch.setattr(db, "connect", real_connect)
    after = scrape(client)
    assert delta(before, after, "beauty_db_retries_total", operation="write", reason="lost_connection") == 1
    assert delta(before, after, "beauty_db_give_ups_total", operation="write", reason="lost_connection") == 1
    assert delta(before, after, "beauty_http_server_errors_total", endpoint="api.create_product") == 1


@pytest.mark.parametrize(
    "code,reason",
    [(2013, "lost_connection"), (2006, "lost_connection"), (2003, "connect_failed"), (1047, "node_leaving")]
    + [(1927, "node_leaving"), (1213, "deadlock"), (1045, "other"), (None, "other")],
)
def test_failure_reasons_are_a_fixed_set(code, reason):
    assert db.failure_reason(code) == reason


def test_pool_connections_gauge_follows_the_pool(app, client):
    before = scrape(client)
    assert client.get("/api/products").status_code == 200
    after = scrape(client)
    assert value(after, "beauty_db_pool_connections") == app.extensions[db.POOL].open == 1
    assert delta(before, after, "beauty_db_connections_opened_total") == 1


# --- gunicorn with several workers (multiprocess mode) --------------------------------------


def get(port, path):
    """One request on its own connection, so gunicorn may give it to any worker."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def parent_of(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


def answers(port, path):
    try:
        return get(port, path)[0] == 200
    except OSError:
        return False


@pytest.fixture
def gunicorn(app, db_settings, tmp_path):
    """The app under gunicorn as the demo_app role runs it: two gthread workers, the
    config file with the child_exit hook, and a fresh PROMETHEUS_MULTIPROC_DIR.
    (``app`` creates the schema.)"""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BEAUTY_", "PROMETHEUS_"))}
    env.update(
        PYTHONPATH=APP_DIR,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        BEAUTY_SECRET_KEY="gunicorn-test",
        BEAUTY_DB_HOST=db_settings["DB_HOST"],
        BEAUTY_DB_PORT=str(db_settings["DB_PORT"]),
        BEAUTY_DB_USER=db_settings["DB_USER"],
        BEAUTY_DB_PASSWORD=db_settings["DB_PASSWORD"],
        BEAUTY_DB_NAME=db_settings["DB_NAME"],
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", os.path.join(APP_DIR, "gunicorn.conf.py")]
        + ["--workers", "2", "--worker-class", "gthread", "--threads", "2", "--bind", f"127.0.0.1:{port}"]
        + ["beauty:create_app()"],
        cwd=APP_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: process.poll() is not None or answers(port, "/healthz"), 30, "gunicorn to answer")
        assert process.poll() is None, "gunicorn exited"
        yield process, port, metrics_dir
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_workers_add_up_and_a_dead_workers_gauge_is_dropped(gunicorn):
    master, port, metrics_dir = gunicorn
    for _ in range(12):
        assert get(port, "/api/products")[0] == 200
    samples = parse(get(port, "/metrics")[1])[0]
    listed = dict(endpoint="api.list_products", method="GET", status="200")
    assert value(samples, "beauty_http_requests_total", **listed) == 12
    assert value(samples, "beauty_http_request_duration_seconds_count", endpoint="api.list_products") == 12

    def gauge_pids():
        names = os.listdir(metrics_dir)
        return {int(name[: -len(".db")].rsplit("_", 1)[1]) for name in names if name.startswith("gauge_livesum_")}

    # Only workers write values: the master never loads the app.
    worker = min(gauge_pids())
    assert worker != master.pid and parent_of(worker) == master.pid
    os.kill(worker, signal.SIGTERM)
    # gunicorn's child_exit hook removes the dead worker's live gauge file.
    wait_until(lambda: worker not in gauge_pids(), 20, f"worker {worker}'s gauge file to go")
    samples = parse(get(port, "/metrics")[1])[0]
    assert value(samples, "beauty_http_requests_total", **listed) == 12
