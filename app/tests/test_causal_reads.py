"""Read-your-writes: after a client's write its reads run with wsrep_sync_wait = 1.

The test server is one plain MariaDB (Debian's build has wsrep compiled in, provider
none), which accepts the session variable, so each test reads back the value the
request's own connection really had when the response was made.
"""

import json
import logging
import time

import pytest
from itsdangerous import Signer

from beauty import ConfigError, create_app, db
from conftest import recording_app


def _session_sync_wait(conn):
    cur = conn.cursor()
    cur.execute("SELECT @@session.wsrep_sync_wait")
    value = cur.fetchone()[0]
    cur.close()
    return value


def probed_app(db_settings, **config):
    """An app and a list that gets, per request with a connection, its @@session.wsrep_sync_wait."""
    return recording_app(db_settings, _session_sync_wait, **config)


def add(client):
    response = client.post(
        "/api/products", data=json.dumps({"name": "Causal", "price": 1, "stock": 1}), content_type="application/json"
    )
    assert response.status_code == 201
    return response


@pytest.fixture
def causal(db_settings, app):
    return probed_app(db_settings)


def test_local_server_accepts_the_setting(sql):
    # What the design relies on: no Galera provider, yet the variable is settable.
    assert sql("SELECT @@global.wsrep_on") == ((0,),)
    sql("SET SESSION wsrep_sync_wait = 1")
    assert sql("SELECT @@session.wsrep_sync_wait") == ((1,),)


def test_reads_are_causal_only_after_this_clients_write(causal):
    app, seen = causal
    client, stranger = app.test_client(), app.test_client()
    client.get("/api/products")
    assert seen == [0]
    response = add(client)
    cookie = client.get_cookie(db.CAUSAL_COOKIE)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert "Max-Age=5" in response.headers["Set-Cookie"]
    seen.clear()
    client.get("/api/products")
    client.get("/")
    stranger.get("/api/products")
    assert seen == [1, 1, 0]


@pytest.mark.parametrize("write", ["form-add", "form-edit", "form-delete", "api-put", "api-delete"])
def test_every_kind_of_write_makes_the_next_read_causal(causal, sql, write):
    app, seen = causal
    sql("INSERT INTO products (name, price, stock) VALUES ('Target', 1, 1)")
    (pid,) = sql("SELECT id FROM products")[0]
    client = app.test_client()
    body = {"name": "Changed", "price": "2", "stock": "2"}
    if write == "form-add":
        response = client.post("/products", data=body)
    elif write == "form-edit":
        response = client.post(f"/products/{pid}/edit", data=body)
    elif write == "form-delete":
        response = client.post(f"/products/{pid}/delete")
    elif write == "api-put":
        response = client.put(f"/api/products/{pid}", data=json.dumps(body), content_type="application/json")
    else:
        response = client.delete(f"/api/products/{pid}")
    assert response.status_code in (200, 204, 302)
    seen.clear()
    client.get("/")
    assert seen == [1]


def test_a_refused_write_is_not_a_write(causal):
    app, seen = causal
    client = app.test_client()
    client.post("/api/products", data=json.dumps({"name": ""}), content_type="application/json")
    assert client.get_cookie(db.CAUSAL_COOKIE) is None
    client.get("/api/products")
    assert seen == [0]


def test_the_window_ends(db_settings, app):
    app, seen = probed_app(db_settings, CAUSAL_READS_SECONDS=0.5)
    client = app.test_client()
    add(client)
    seen.clear()
    client.get("/api/products")
    time.sleep(0.6)  # past the signed expiry, within the cookie's 1 s Max-Age: the server must refuse it
    client.get("/api/products")
    assert seen == [1, 0]


@pytest.mark.parametrize("forged", ["99999999999999", "99999999999999.bad-signature", "x" * 3000])
def test_a_forged_cookie_is_ignored(causal, forged):
    app, seen = causal
    client = app.test_client()
    client.set_cookie(db.CAUSAL_COOKIE, forged)
    client.get("/api/products")
    assert seen == [0]


def test_a_cookie_signed_with_another_key_is_ignored(causal):
    app, seen = causal
    client = app.test_client()
    foreign = Signer("another-key", salt="beauty-causal-reads").sign(str(int(time.time() * 1000) + 60000))
    client.set_cookie(db.CAUSAL_COOKIE, foreign.decode())
    client.get("/api/products")
    assert seen == [0]


def test_always_and_off(db_settings, app):
    always, seen_always = probed_app(db_settings, CAUSAL_READS="always")
    always.test_client().get("/api/products")
    off, seen_off = probed_app(db_settings, CAUSAL_READS="off")
    client = off.test_client()
    add(client)
    assert client.get_cookie(db.CAUSAL_COOKIE) is None
    seen_off.clear()
    client.get("/api/products")
    assert (seen_always, seen_off) == ([1], [0])


def test_a_retried_read_sets_it_again_on_the_new_connection(db_settings, app, sql):
    app, seen = probed_app(db_settings, CAUSAL_READS="always")

    @app.before_request
    def kill_the_first_connection():
        sql(f"KILL {int(db.get_db().thread_id())}")

    response = app.test_client().get("/api/products")
    assert response.status_code == 200
    assert seen == [1]


def test_a_server_without_the_variable_is_detected_once(db_settings, app, monkeypatch, caplog):
    # The real server refuses an unknown variable with 1193, as a build without wsrep would.
    monkeypatch.setattr(db, "CAUSAL_READS_SQL", "SET SESSION beauty_no_such_variable = 1")
    app, seen = probed_app(db_settings, CAUSAL_READS="always")
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="beauty.db"):
        first = client.get("/api/products")
        second = client.get("/api/status")
    assert (first.status_code, second.status_code) == (200, 200)
    assert app.extensions[db.CAUSAL_UNSUPPORTED] is True
    assert [r.message for r in caplog.records].count(
        "the database does not support wsrep_sync_wait; reads after writes are not causal"
    ) == 1
    assert seen == [0, 0]


@pytest.mark.parametrize(
    "name,value",
    [
        ("BEAUTY_CAUSAL_READS", "sometimes"),
        ("BEAUTY_CAUSAL_READS_SECONDS", "0"),
        ("BEAUTY_CAUSAL_READS_SECONDS", "nan"),
        ("BEAUTY_CAUSAL_READS_SECONDS", "x"),
    ],
)
def test_bad_causal_settings_are_clear_errors(monkeypatch, name, value):
    monkeypatch.setenv("BEAUTY_SECRET_KEY", "x")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        create_app()


def test_causal_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("BEAUTY_SECRET_KEY", "x")
    monkeypatch.setenv("BEAUTY_CAUSAL_READS", " Always ")
    monkeypatch.setenv("BEAUTY_CAUSAL_READS_SECONDS", "2.5")
    config = create_app().config
    assert (config["CAUSAL_READS"], config["CAUSAL_READS_SECONDS"]) == ("always", 2.5)


def test_the_newest_page_is_cached_but_never_hides_a_clients_own_write(db_settings, app):
    app, seen = probed_app(db_settings, LIST_CACHE_SECONDS=1.0)
    writer, stranger = app.test_client(), app.test_client()
    started = time.monotonic()
    first = stranger.get("/api/products").get_json()
    assert stranger.get("/api/products").get_json() == first
    if time.monotonic() - started < 1.0:
        assert len(seen) == 1, "the second read within the second went to the database"
    pid = add(writer).get_json()["id"]
    # The writer reads past the cache at once (and causally); a stranger within a second may not.
    assert pid in [p["id"] for p in writer.get("/api/products").get_json()["products"]]
    time.sleep(1.05)
    assert pid in [p["id"] for p in stranger.get("/api/products").get_json()["products"]]


def test_pages_other_than_the_newest_are_never_cached(db_settings, app, sql):
    app, seen = probed_app(db_settings, LIST_CACHE_SECONDS=1.0)
    client = app.test_client()
    for _ in range(3):
        client.get("/api/products?limit=7")
        client.get("/api/products?before=1000")
    assert len(seen) == 6
