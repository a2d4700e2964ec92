"""Connections, faults and retries against the real server; schema command; configuration."""

import json
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal

import MySQLdb
import pytest
from flask import g

from beauty import ConfigError, create_app, db
from beauty.products import create_product, format_rupiah
from conftest import connect, make_config, wait_until

APP_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def kill(sql, conn):
    sql(f"KILL {int(conn.thread_id())}")


# --- database unreachable -------------------------------------------------------------


def lose_new_connections(monkeypatch, sql, how_many=None):
    """Kill the first `how_many` connections the app opens (all when None), right after
    they open; return the list of every connection opened."""
    opened = []
    real_connect = db.connect

    def connect_then_maybe_lose_it():
        conn = real_connect()
        opened.append(conn)
        if how_many is None or len(opened) <= how_many:
            kill(sql, conn)
        return conn

    monkeypatch.setattr(db, "connect", connect_then_maybe_lose_it)
    return opened


@pytest.fixture
def offline_client(db_settings, closed_port):
    settings = dict(db_settings, DB_HOST="127.0.0.1", DB_PORT=closed_port)
    return create_app(make_config(settings)).test_client()


@pytest.mark.parametrize("path", ["/", "/products/1/edit"])
def test_pages_answer_503_with_a_friendly_message(offline_client, path):
    response = offline_client.get(path)
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Database unavailable" in page
    assert "Traceback" not in page and "OperationalError" not in page
    assert response.headers["Retry-After"]


def test_form_write_answers_503(offline_client):
    response = offline_client.post("/products", data={"name": "a", "price": "1", "stock": "1"})
    assert response.status_code == 503
    assert "Database unavailable" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/api/products"),
        ("GET", "/api/status"),
        ("POST", "/api/products"),
        ("PUT", "/api/products/1"),
        ("DELETE", "/api/products/1"),
    ],
)
def test_api_answers_503_json(offline_client, method, path):
    response = offline_client.open(
        path, method=method, data=json.dumps({"name": "a", "price": 1, "stock": 1}), content_type="application/json"
    )
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "database unavailable" and body["database"] == "unavailable"


def test_healthz_answers_503_json(offline_client):
    started = time.monotonic()
    response = offline_client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert time.monotonic() - started < 10


# --- retry once on a new connection ---------------------------------------------------


def test_write_after_connection_killed_is_retried_once_and_saved_once(app, sql):
    with app.app_context():
        first = db.get_db()
        kill(sql, first)
        row = create_product("Killed Once", Decimal("10.00"), 1)
        assert g.db is not first
        assert row["name"] == "Killed Once"
    assert sql("SELECT COUNT(*) FROM products WHERE name='Killed Once'") == ((1,),)


def test_api_write_survives_a_killed_connection(app, sql):
    @app.before_request
    def kill_connection_after_it_is_opened():
        kill(sql, db.get_db())

    response = app.test_client().post(
        "/api/products", data=json.dumps({"name": "Survivor", "price": 5, "stock": 2}), content_type="application/json"
    )
    assert response.status_code == 201
    assert sql("SELECT name, stock FROM products") == (("Survivor", 2),)


def test_page_read_survives_a_killed_connection(app, sql):
    # What a node shutting down behind HAProxy looks like to the app: its session dies.
    sql("INSERT INTO products (name, price, stock) VALUES ('Still Listed', 1, 1)")

    @app.before_request
    def kill_connection_after_it_is_opened():
        kill(sql, db.get_db())

    response = app.test_client().get("/api/products")
    assert response.status_code == 200
    assert [p["name"] for p in response.get_json()["products"]] == ["Still Listed"]


def test_page_read_survives_a_new_connection_to_the_leaving_node_as_well(app, sql, monkeypatch):
    # Until HAProxy marks a leaving member down, the retry's new connection can reach it too.
    sql("INSERT INTO products (name, price, stock) VALUES ('Listed Anyway', 1, 1)")
    opened = lose_new_connections(monkeypatch, sql, how_many=2)
    response = app.test_client().get("/api/products")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [p["name"] for p in response.get_json()["products"]] == ["Listed Anyway"]
    assert len(opened) == 3


def test_a_read_gives_up_after_three_connections(app, sql, monkeypatch):
    opened = lose_new_connections(monkeypatch, sql)
    response = app.test_client().get("/api/products")
    assert response.status_code == 503
    assert len(opened) == 3


def test_form_write_survives_a_killed_connection(app, sql):
    @app.before_request
    def kill_connection_after_it_is_opened():
        kill(sql, db.get_db())

    response = app.test_client().post("/products", data={"name": "Form Survivor", "price": "5", "stock": "2"})
    assert response.status_code == 302
    assert sql("SELECT COUNT(*) FROM products WHERE name='Form Survivor'") == ((1,),)


def test_write_is_retried_only_once(app, sql, monkeypatch):
    opened = lose_new_connections(monkeypatch, sql)
    response = app.test_client().post(
        "/api/products", data=json.dumps({"name": "Never", "price": 1, "stock": 1}), content_type="application/json"
    )
    assert response.status_code == 503
    assert len(opened) == 2
    assert sql("SELECT COUNT(*) FROM products") == ((0,),)


def test_deadlock_victim_is_retried_on_a_new_connection(app, sql, db_settings):
    """A real InnoDB deadlock: the app's lighter transaction is rolled back with 1213, then retried."""
    sql("INSERT INTO products (id, name, price, stock) VALUES (1, 'x', 1, 1), (2, 'y', 1, 1)")
    other = connect(db_settings)
    other.autocommit(False)
    ocur = other.cursor()
    other_id = other.thread_id()
    # Make the other transaction heavier so InnoDB picks the app's transaction as the victim.
    ocur.executemany(
        "INSERT INTO products (name, price, stock) VALUES (%s, 1, 1)", [(f"ballast{i}",) for i in range(20)]
    )
    ocur.execute("UPDATE products SET stock = stock + 100 WHERE id = 2")
    attempts = []
    blocker = threading.Thread(
        target=lambda: (ocur.execute("UPDATE products SET stock = stock + 100 WHERE id = 1"), other.rollback())
    )

    def work(cur):
        attempts.append(cur.connection.thread_id())
        cur.execute("UPDATE products SET stock = stock + 1 WHERE id = 1")
        if len(attempts) == 1:
            blocker.start()
            wait_until(
                lambda: (
                    sql(
                        "SELECT COUNT(*) FROM information_schema.processlist WHERE id = %s"
                        " AND command = 'Query' AND info LIKE 'UPDATE%%'",
                        (other_id,),
                    )[0][0]
                    == 1
                ),
                10,
                "the other transaction to wait for the row lock",
            )
        cur.execute("UPDATE products SET stock = stock + 1 WHERE id = 2")
        return True

    with app.app_context():
        assert db.run_write(work) is True
    blocker.join(10)
    other.close()
    assert len(attempts) == 2 and attempts[0] != attempts[1]
    assert sql("SELECT id, stock FROM products WHERE id IN (1, 2) ORDER BY id") == ((1, 2), (2, 2))
    assert sql("SELECT COUNT(*) FROM products WHERE name LIKE 'ballast%%'") == ((0,),)


def test_init_db_is_idempotent(app, sql):
    sql("DROP TABLE IF EXISTS products")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0 and "Created table products." in first.output
    sql("INSERT INTO products (name, price, stock) VALUES ('kept', 1, 1)")
    second = runner.invoke(args=["init-db"])
    assert second.exit_code == 0 and "Schema already up to date." in second.output
    assert sql("SELECT name FROM products") == (("kept",),)
    columns = sql(
        "SELECT column_name, column_type, is_nullable, column_default, extra"
        " FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'products'"
        " ORDER BY ordinal_position"
    )
    assert [(c[0], c[1], c[2]) for c in columns] == [
        ("id", "int(11)", "NO"),
        ("name", "varchar(255)", "NO"),
        ("price", "decimal(10,2)", "NO"),
        ("stock", "int(11)", "NO"),
        ("created_at", "timestamp", "YES"),
    ]
    assert columns[0][4] == "auto_increment"
    assert columns[4][3] == "current_timestamp()"
    assert sql(
        "SELECT engine FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'products'"
    ) == (("InnoDB",),)


def test_init_db_reports_an_unreachable_database(db_settings, closed_port):
    app = create_app(make_config(dict(db_settings, DB_PORT=closed_port)))
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code != 0
    assert "not reachable" in result.output


def test_flask_cli_with_instance_config_file(db_settings, sql, tmp_path):
    sql("DROP TABLE IF EXISTS products")
    conf = tmp_path / "beauty.conf"
    conf.write_text(
        "# written by the demo_app role\n"
        f"BEAUTY_DB_HOST={db_settings['DB_HOST']}\n"
        f"BEAUTY_DB_PORT={db_settings['DB_PORT']}\n"
        f"BEAUTY_DB_USER={db_settings['DB_USER']}\n"
        f"BEAUTY_DB_PASSWORD='{db_settings['DB_PASSWORD']}'\n"
        f"BEAUTY_DB_NAME={db_settings['DB_NAME']}\n"
        "BEAUTY_SECRET_KEY=file-secret\n"
    )
    conf.chmod(0o640)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEAUTY_")}
    env.update(BEAUTY_CONFIG=str(conf), PYTHONPATH=APP_DIR)
    flask = [sys.executable, "-m", "flask", "--app", "beauty", "init-db"]
    first = subprocess.run(flask, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "Created table products."
    second = subprocess.run(flask, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert second.stdout.strip() == "Schema already up to date."


# --- configuration ------------------------------------------------------------------------


def test_refuses_to_start_without_a_secret_key(monkeypatch):
    for name in list(os.environ):
        if name.startswith("BEAUTY_"):
            monkeypatch.delenv(name)
    with pytest.raises(ConfigError, match="No secret key configured"):
        create_app()


def test_environment_configures_the_app(monkeypatch):
    monkeypatch.delenv("BEAUTY_CONFIG", raising=False)
    monkeypatch.setenv("BEAUTY_SECRET_KEY", "from-env")
    monkeypatch.setenv("BEAUTY_DB_HOST", "db.example")
    monkeypatch.delenv("BEAUTY_DB_PORT", raising=False)
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["DB_HOST"] == "db.example"
    assert app.config["DB_PORT"] == 3300
    assert app.config["DB_NAME"] == "beauty"
    assert app.config["DB_CONNECT_TIMEOUT"] == 3
    assert app.debug is False and app.testing is False


def test_environment_overrides_the_config_file(monkeypatch, tmp_path):
    conf = tmp_path / "beauty.conf"
    conf.write_text("BEAUTY_SECRET_KEY=file\nBEAUTY_DB_PORT=4000\nBEAUTY_DB_USER=file_user\n")
    monkeypatch.setenv("BEAUTY_CONFIG", str(conf))
    monkeypatch.setenv("BEAUTY_DB_USER", "env_user")
    app = create_app()
    assert (app.config["SECRET_KEY"], app.config["DB_PORT"], app.config["DB_USER"]) == ("file", 4000, "env_user")


@pytest.mark.parametrize(
    "content,message",
    [("BEAUTY_DB_PORT=abc\nBEAUTY_SECRET_KEY=x\n", "BEAUTY_DB_PORT"), ("just words\n", "expected KEY=value")],
)
def test_bad_config_file_is_a_clear_error(monkeypatch, tmp_path, content, message):
    conf = tmp_path / "beauty.conf"
    conf.write_text(content)
    monkeypatch.setenv("BEAUTY_CONFIG", str(conf))
    with pytest.raises(ConfigError, match=message):
        create_app()


def test_missing_config_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("BEAUTY_CONFIG", str(tmp_path / "nope.conf"))
    with pytest.raises(ConfigError, match="not a file"):
        create_app()


# --- formatting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,text",
    [
        (Decimal("150000"), "Rp 150.000"),
        (Decimal("0"), "Rp 0"),
        (Decimal("999"), "Rp 999"),
        (Decimal("1000"), "Rp 1.000"),
        (Decimal("12500.50"), "Rp 12.500,50"),
        (Decimal("0.05"), "Rp 0,05"),
        (Decimal("99999999.99"), "Rp 99.999.999,99"),
        (1250000, "Rp 1.250.000"),
    ],
)
def test_rupiah_formatting(value, text):
    assert format_rupiah(value) == text


def test_mysqldb_error_codes_are_what_the_retry_expects(db_settings, sql):
    conn = connect(db_settings)
    kill(sql, conn)
    with pytest.raises(MySQLdb.OperationalError) as info:
        conn.cursor().execute("SELECT 1")
    assert info.value.args[0] in db.LOST_CONNECTION
