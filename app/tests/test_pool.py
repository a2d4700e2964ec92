"""The connection pool and the cluster-panel cache, against the real server."""

import threading
import time

import MySQLdb
import pytest
from flask import jsonify

from beauty import db
from beauty.products import CLUSTER_CACHE, FreshCache
from conftest import recording_app, wait_until


def pooled_app(db_settings, **config):
    """An app and the list of thread ids (server connection ids) its requests ran on."""
    return recording_app(db_settings, lambda conn: conn.thread_id(), **config)


def is_open(sql, thread_id):
    return sql("SELECT COUNT(*) FROM information_schema.processlist WHERE id = %s", (thread_id,)) == ((1,),)


def test_a_clean_request_gives_its_connection_back_for_the_next(app, db_settings, sql):
    app, used = pooled_app(db_settings, DB_POOL_SIZE=1)
    client = app.test_client()
    assert client.get("/api/products").status_code == 200
    assert client.get("/").status_code == 200
    assert len(used) == 2 and used[0] == used[1]
    assert is_open(sql, used[0])


def test_size_zero_opens_and_closes_one_per_request(app, db_settings, sql):
    app, used = pooled_app(db_settings, DB_POOL_SIZE=0)
    client = app.test_client()
    client.get("/api/products")
    client.get("/api/products")
    assert used[0] != used[1]
    wait_until(lambda: not is_open(sql, used[0]), 5, "the connection to close")


def test_one_clients_requests_rotate_over_the_pools_connections(app, db_settings):
    """HAProxy picks a member per TCP connection: a single client's page loads only show
    different nodes if consecutive requests run on different connections."""
    app, used = pooled_app(db_settings, DB_POOL_SIZE=3)
    client = app.test_client()
    for _ in range(7):
        assert client.get("/api/products").status_code == 200
    assert len(set(used[:3])) == 3
    assert used[3:6] == used[:3] and used[6] == used[0]


def test_the_node_badge_is_the_member_behind_the_requests_connection(app, db_settings, sql):
    app, used = pooled_app(db_settings, DB_POOL_SIZE=2)
    hostname = sql("SELECT @@hostname")[0][0]
    for _ in range(2):
        body = app.test_client().get("/api/status").get_json()
        assert body["node"] == hostname and body["db_tls_cipher"] is None


def test_a_connection_that_saw_an_error_is_closed_not_reused(app, db_settings, sql):
    app, used = pooled_app(db_settings, DB_POOL_SIZE=1)

    @app.get("/test/bad-sql")
    def bad_sql():
        try:
            db.raw_query("SELECT no_such_column FROM products")
        except MySQLdb.Error:
            return jsonify(handled=True)
        return jsonify(handled=False)

    client = app.test_client()
    assert client.get("/test/bad-sql").get_json() == {"handled": True}
    client.get("/api/products")
    assert used[0] != used[1]
    wait_until(lambda: not is_open(sql, used[0]), 5, "the failed connection to close")


def test_a_request_that_raised_closes_its_connection(app, db_settings, sql):
    app, used = pooled_app(db_settings, DB_POOL_SIZE=1)
    seen = []

    @app.get("/test/boom")
    def boom():
        seen.append(db.get_db().thread_id())
        raise RuntimeError("boom")

    client = app.test_client()
    assert client.get("/test/boom").status_code == 500
    client.get("/api/products")
    assert used[-1] != seen[0]
    wait_until(lambda: not is_open(sql, seen[0]), 5, "the connection to close")


def test_no_transaction_outlives_its_request(app, db_settings, sql):
    app, used = pooled_app(db_settings, DB_POOL_SIZE=1)

    @app.get("/test/uncommitted")
    def uncommitted():
        db.get_db().cursor().execute("INSERT INTO products (name, price, stock) VALUES ('Leaked', 1, 1)")
        return jsonify(ok=True)

    client = app.test_client()
    assert client.get("/test/uncommitted").status_code == 200
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)
    # The same pooled connection, so a read snapshot left open would hide this row.
    sql("INSERT INTO products (name, price, stock) VALUES ('Seen', 1, 1)")
    names = [p["name"] for p in client.get("/api/products").get_json()["products"]]
    assert names == ["Seen"] and used[1] == used[0]


def test_a_read_snapshot_does_not_hide_newer_rows_from_the_next_request(app, db_settings, sql):
    app, used = pooled_app(db_settings, DB_POOL_SIZE=1)
    client = app.test_client()
    assert client.get("/api/products").get_json()["products"] == []
    sql("INSERT INTO products (name, price, stock) VALUES ('Fresh', 1, 1)")
    assert [p["name"] for p in client.get("/api/products").get_json()["products"]] == ["Fresh"]
    assert used[0] == used[1]


def test_after_a_lost_connection_the_other_idle_ones_are_dropped_too(app, db_settings, sql):
    """A member going away kills every session through it; the read is retried on a new
    connection and the pool does not hand out the other, probably dead, idle ones."""
    app, used = pooled_app(db_settings, DB_POOL_SIZE=3)
    client = app.test_client()
    for _ in range(3):
        client.get("/api/products")
    pooled = list(used)
    for thread_id in pooled:
        sql(f"KILL {int(thread_id)}")
    used.clear()
    response = client.get("/api/products")
    assert response.status_code == 200
    assert used[0] not in pooled
    assert app.extensions[db.POOL].open == 1
    for _ in range(3):
        assert client.get("/api/products").status_code == 200
    assert not set(used) & set(pooled)


def test_a_write_on_a_dead_pooled_connection_is_retried_once_and_saved_once(app, db_settings, sql):
    app, used = pooled_app(db_settings, DB_POOL_SIZE=1)
    client = app.test_client()
    client.get("/api/products")
    sql(f"KILL {int(used[0])}")
    response = client.post("/api/products", json={"name": "Once", "price": 1, "stock": 1})
    assert response.status_code == 201
    assert sql("SELECT COUNT(*) FROM products WHERE name = 'Once'") == ((1,),)


def test_a_dead_pooled_connection_does_not_use_up_the_writes_one_retry(app, db_settings, sql, monkeypatch):
    """Idle connections die with their member; the write's retry is for the write itself."""
    app, used = pooled_app(db_settings, DB_POOL_SIZE=1)
    client = app.test_client()
    client.get("/api/products")
    sql(f"KILL {int(used[0])}")
    opened = []
    real_connect = db.connect

    def first_new_one_dies():
        conn = real_connect()
        opened.append(conn.thread_id())
        if len(opened) == 1:
            sql(f"KILL {int(conn.thread_id())}")
        return conn

    monkeypatch.setattr(db, "connect", first_new_one_dies)
    response = client.post("/api/products", json={"name": "Still Once", "price": 1, "stock": 1})
    assert response.status_code == 201
    assert len(opened) == 2
    assert sql("SELECT COUNT(*) FROM products WHERE name = 'Still Once'") == ((1,),)


def test_a_connection_past_its_age_is_replaced(app, db_settings, sql):
    app, used = pooled_app(db_settings, DB_POOL_SIZE=1, DB_POOL_MAX_AGE=0.2)
    client = app.test_client()
    client.get("/api/products")
    time.sleep(0.3)
    client.get("/api/products")
    assert used[0] != used[1]
    wait_until(lambda: not is_open(sql, used[0]), 5, "the old connection to close")


def test_concurrent_requests_stay_within_the_pool_size(app, db_settings, sql):
    app, used = pooled_app(db_settings, DB_POOL_SIZE=4)
    errors = []

    def client_loop():
        client = app.test_client()
        for _ in range(15):
            if client.get("/").status_code != 200:
                errors.append(1)

    threads = [threading.Thread(target=client_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(set(used)) <= 4 and app.extensions[db.POOL].open <= 4


def test_healthz_still_asks_the_database(app, db_settings, sql):
    app, used = pooled_app(db_settings, DB_POOL_SIZE=1)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    sql(f"KILL {int(used[0])}")
    # The dead pooled connection is noticed and replaced within the request.
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert used[1] != used[0]


# --- the cluster panel's cache ---------------------------------------------------------


def test_the_cluster_panel_is_read_at_most_once_a_second(app, db_settings):
    app, _ = pooled_app(db_settings, CLUSTER_CACHE_SECONDS=1.0)
    client = app.test_client()
    started = time.monotonic()
    for _ in range(10):
        assert client.get("/").status_code == 200
    cache = app.extensions[CLUSTER_CACHE]
    if time.monotonic() - started < 1.0:
        assert cache.reads == 1
    time.sleep(1.05)
    before = cache.reads
    client.get("/api/status")
    assert cache.reads == before + 1


def test_the_cluster_cache_refreshes_once_while_many_wait():
    cache = FreshCache(max_age=0.5)
    reads = []

    def slow_read():
        reads.append(time.monotonic())
        time.sleep(0.2)
        return {"galera": True, "n": len(reads)}

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(slow_read))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(reads) == 1 and results == [{"galera": True, "n": 1}] * 8


def test_the_cluster_cache_never_serves_a_value_older_than_its_bound():
    cache = FreshCache(max_age=0.3)
    stamps = []

    def read():
        stamps.append(time.monotonic())
        return stamps[-1]

    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        value = cache.get(read)
        assert time.monotonic() - value < 0.3
        time.sleep(0.01)
    assert 3 <= len(stamps) <= 5


def test_a_failed_refresh_is_not_cached():
    cache = FreshCache(max_age=10)

    def broken():
        raise db.DatabaseUnavailable()

    with pytest.raises(db.DatabaseUnavailable):
        cache.get(broken)
    assert cache.get(lambda: {"galera": False}) == {"galera": False}


def test_a_member_that_comes_back_is_in_the_rotation_again_quickly(app, db_settings, sql, monkeypatch):
    """HAProxy picks the member per TCP connection; here the test plays HAProxy by naming the
    member each new connection reached (the connections themselves are real)."""
    app, _ = pooled_app(db_settings, DB_POOL_SIZE=3)
    members = ["node1", "node2", "node3"]
    up = list(members)
    opened = []
    real_describe = db.describe

    def routed_describe(conn):
        real_describe(conn)
        conn.pool_state.node = up[len(opened) % len(up)]
        opened.append(conn)

    monkeypatch.setattr(db, "describe", routed_describe)
    client = app.test_client()

    def badges(count, pause=0.0):
        names = []
        for _ in range(count):
            names.append(client.get("/api/status").get_json()["node"])
            time.sleep(pause)
        return names

    assert set(badges(3)) == set(members)
    # node3 goes down: its session dies, and new connections only reach node1 and node2.
    up[:] = ["node1", "node2"]
    victim = next(c for c in opened if c.pool_state.node == "node3")
    sql(f"KILL {int(victim.thread_id())}")
    assert "node3" not in badges(12)
    # node3 is back: within about a second of requests it serves again.
    up[:] = ["node3"]
    assert "node3" in badges(12, pause=0.1)
    pool = app.extensions[db.POOL]
    assert pool.open <= 3
