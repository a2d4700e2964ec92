"""Test fixtures: a real MariaDB server, started for the session unless BEAUTY_TEST_DB_HOST names one.

With BEAUTY_TEST_DB_HOST set, BEAUTY_TEST_DB_PORT/USER/PASSWORD/NAME describe an existing
server; the tests empty the products table of that database, so never point them at data
you want to keep.
"""

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time

import MySQLdb
import pytest
from flask import g

from beauty import create_app
from beauty.db import init_schema

STARTUP_TIMEOUT = 60


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class LocalMariaDB:
    """A throwaway mariadbd in a temporary directory, reachable on a loopback port."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="beauty-mariadb-")
        self.datadir = os.path.join(self.base, "data")
        self.socket = os.path.join(self.base, "mysqld.sock")
        self.log = os.path.join(self.base, "error.log")
        self.port = free_port()
        self.process = None

    def start(self):
        install = subprocess.run(
            [
                shutil.which("mariadb-install-db") or "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                f"--user={pwd.getpwuid(os.geteuid()).pw_name}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed:\n{install.stdout}\n{install.stderr}")
        mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        self.process = subprocess.Popen(
            [
                mariadbd,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--user={pwd.getpwuid(os.geteuid()).pw_name}",
                f"--log-error={self.log}",
                f"--pid-file={os.path.join(self.base, 'mysqld.pid')}",
                "--skip-log-bin",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=64M",
                "--innodb-log-file-size=16M",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, STARTUP_TIMEOUT, "mariadbd to accept connections")

    def _answers(self):
        if self.process.poll() is not None:
            with open(self.log, encoding="utf-8", errors="replace") as handle:
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}:\n{handle.read()[-3000:]}")
        try:
            MySQLdb.connect(unix_socket=self.socket, user="root", connect_timeout=1).close()
        except MySQLdb.OperationalError:
            return False
        return True

    def root(self):
        return MySQLdb.connect(unix_socket=self.socket, user="root", autocommit=True)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def db_settings():
    """Host, port, user, password and database name of a server the app can use."""
    if os.environ.get("BEAUTY_TEST_DB_HOST"):
        yield {
            "DB_HOST": os.environ["BEAUTY_TEST_DB_HOST"],
            "DB_PORT": int(os.environ.get("BEAUTY_TEST_DB_PORT", "3306")),
            "DB_USER": os.environ.get("BEAUTY_TEST_DB_USER", "beauty_app"),
            "DB_PASSWORD": os.environ.get("BEAUTY_TEST_DB_PASSWORD", ""),
            "DB_NAME": os.environ.get("BEAUTY_TEST_DB_NAME", "beauty_test"),
        }
        return

    server = LocalMariaDB()
    try:
        server.start()
        password = secrets.token_urlsafe(24)
        conn = server.root()
        cur = conn.cursor()
        cur.execute("CREATE DATABASE IF NOT EXISTS beauty CHARACTER SET utf8mb4")
        cur.execute("CREATE USER 'beauty_test'@'127.0.0.1' IDENTIFIED BY %s", (password,))
        cur.execute("GRANT ALL PRIVILEGES ON beauty.* TO 'beauty_test'@'127.0.0.1'")
        conn.close()
        yield {
            "DB_HOST": "127.0.0.1",
            "DB_PORT": server.port,
            "DB_USER": "beauty_test",
            "DB_PASSWORD": password,
            "DB_NAME": "beauty",
        }
    finally:
        server.stop()


def connect(settings):
    return MySQLdb.connect(
        host=settings["DB_HOST"],
        port=settings["DB_PORT"],
        user=settings["DB_USER"],
        password=settings["DB_PASSWORD"],
        database=settings["DB_NAME"],
        charset="utf8mb4",
        autocommit=True,
    )


@pytest.fixture
def sql(db_settings):
    """A second, independent connection for checking what really reached the database."""
    conn = connect(db_settings)

    def run(statement, params=None):
        cur = conn.cursor()
        cur.execute(statement, params)
        return cur.fetchall()

    yield run
    conn.close()


def timed_request(client, *args, **kwargs):
    """A request and its wall time; over 100 ms it is sent again and the faster time counts.

    Hostile input is slow every time; a stall of this shared 2-core machine is not."""
    best = None
    for _ in range(2):
        started = time.perf_counter()
        response = client.open(*args, **kwargs)
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
        if best < 0.1:
            break
    return response, best


def make_config(db_settings, **extra):
    config = {"TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": secrets.token_hex(16)}
    config.update(db_settings)
    config.update(extra)
    return config


def recording_app(db_settings, record, **config):
    """An app and a list that gets ``record(connection)`` for every request that used one.
    The newest page's cache is off unless asked for: such tests want every request to read."""
    config.setdefault("LIST_CACHE_SECONDS", 0)
    app = create_app(make_config(db_settings, **config))
    seen = []

    @app.after_request
    def record_connection(response):
        conn = g.get("db")
        if conn is not None:
            seen.append(record(conn))
        return response

    return app, seen


@pytest.fixture
def app(db_settings, sql):
    application = create_app(make_config(db_settings))
    with application.app_context():
        init_schema()
    sql("DELETE FROM products")
    return application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def closed_port():
    """A loopback port where nothing listens."""
    return free_port()


# The browser tests' Chromium: Debian's, through Playwright (test_browser.py, test_browser_pages.py).
CHROMIUM = os.environ.get("BEAUTY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
