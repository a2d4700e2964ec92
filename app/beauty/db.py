"""Database connections: one per request in flask.g, from a per-process pool; writes retried
once, reads at most twice.

Each request checks a connection out of the pool (beauty.pool) and gives it back at
teardown, rolled back; a request that saw any database error closes it instead, and a
retry always runs on a newly opened connection.

Read-your-writes: Galera applies a write-set on the other members a moment after COMMIT,
so a client's next request, sent by HAProxy to another member, could miss its own write.
After a write the response carries a short-lived signed cookie; while it is valid that
client's reads run with wsrep_sync_wait = 1, which makes the member apply everything the
cluster had committed before it answers (CAUSAL_READS: after_write, always or off).
"""

import logging
import math
import time

import click
import MySQLdb
from flask import current_app, g, has_request_context, request
from flask.cli import with_appcontext
from itsdangerous import BadSignature, Signer
from MySQLdb.constants import CLIENT
from MySQLdb.cursors import DictCursor

from . import metrics
from .pool import ConnectionPool

log = logging.getLogger(__name__)

# Connection lost mid-statement; the uncommitted transaction died with it.
LOST_CONNECTION = {2006, 2013}
# Could not reach the server (refused, unknown host) while connecting.
CONNECT_FAILED = {2002, 2003, 2005}
# Galera certification conflict or brute-force abort: rolled back, safe to run again.
DEADLOCK = 1213
# The node behind HAProxy is leaving: shutting down (1053), killed our session (1927), or
# Galera no longer lets it serve (1047, e.g. non-Primary). Nothing ran; another node can.
NODE_LEAVING = {1047, 1053, 1927}
RETRYABLE = LOST_CONNECTION | NODE_LEAVING
# A server built without wsrep does not know the variable; then reads stay as they are.
ER_UNKNOWN_SYSTEM_VARIABLE = 1193
# The reason label of the retry metrics: a small fixed set, whatever code the server sends.
REASONS = (
    (LOST_CONNECTION, "lost_connection"),
    (CONNECT_FAILED, "connect_failed"),
    (NODE_LEAVING, "node_leaving"),
    ({DEADLOCK}, "deadlock"),
)

CAUSAL_READS_SQL = "SET SESSION wsrep_sync_wait = 1"
CAUSAL_COOKIE = "beauty_wrote"
CAUSAL_READS_RESET_SQL = "SET SESSION wsrep_sync_wait = DEFAULT"
# app.extensions key set once the server has refused CAUSAL_READS_SQL as unknown.
CAUSAL_UNSUPPORTED = "beauty.causal_reads_unsupported"
POOL = "beauty.pool"

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    id INT AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    price DECIMAL(10, 2) NOT NULL,
    stock INT NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""


class DatabaseUnavailable(Exception):
    """The database could not serve the request; shown to users as 503."""

    def __init__(self, message="The database is not reachable right now.", code=None):
        super().__init__(message)
        self.message = message
        self.code = code


def error_code(exc):
    return exc.args[0] if exc.args and isinstance(exc.args[0], int) else None


def failure_reason(code):
    for codes, reason in REASONS:
        if code in codes:
            return reason
    return "other"


def count_retry(operation, code):
    metrics.DB_RETRIES.labels(operation, failure_reason(code)).inc()


def count_give_up(operation, code):
    metrics.DB_GIVE_UPS.labels(operation, failure_reason(code)).inc()


def tls_options(cfg):
    """TLS settings for MySQLdb.connect: none without a CA file, else TLS that must succeed.

    The app dials HAProxy's address while the certificate names the member behind it, so
    the chain is checked against the private CA (given a CA, Connector/C verifies the
    peer) but the host name is not: VERIFY_CA semantics. ssl_mode=REQUIRED makes the
    client refuse to continue without TLS instead of falling back to plaintext.
    """
    ca = cfg.get("DB_SSL_CA")
    if not ca:
        return {}
    return {"ssl": {"ca": ca}, "ssl_mode": "REQUIRED"}


def connect():
    cfg = current_app.config
    try:
        conn = MySQLdb.connect(
            **tls_options(cfg),
            host=cfg["DB_HOST"],
            port=int(cfg["DB_PORT"]),
            user=cfg["DB_USER"],
            password=cfg["DB_PASSWORD"],
            database=cfg["DB_NAME"],
            connect_timeout=int(cfg["DB_CONNECT_TIMEOUT"]),
            read_timeout=int(cfg["DB_READ_TIMEOUT"]),
            write_timeout=int(cfg["DB_READ_TIMEOUT"]),
            charset="utf8mb4",
            autocommit=False,
            # rowcount reports matched rows, so an UPDATE that changes nothing is not a 404.
            client_flag=CLIENT.FOUND_ROWS,
        )
    except MySQLdb.OperationalError as exc:
        log.warning("database connect to %s:%s failed: %s", cfg["DB_HOST"], cfg["DB_PORT"], exc)
        raise DatabaseUnavailable(code=error_code(exc)) from exc
    metrics.DB_CONNECTIONS_OPENED.inc()
    return conn


def describe(conn):
    """Record on a new connection what stays true for its whole life: the member behind
    HAProxy (which balances per TCP connection) and the session's TLS cipher."""
    state = conn.pool_state
    cur = conn.cursor()
    try:
        try:
            cur.execute("SELECT @@wsrep_node_name")
            state.node = _text(cur.fetchone()[0])
        except MySQLdb.Error as exc:
            if error_code(exc) != ER_UNKNOWN_SYSTEM_VARIABLE:
                raise
        if not state.node:
            cur.execute("SELECT @@hostname")
            state.node = _text(cur.fetchone()[0])
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl\\_cipher'")
        row = cur.fetchone()
        state.tls_cipher = (_text(row[1]) if row else "") or None
    finally:
        cur.close()
    conn.rollback()


def _text(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value


def get_pool():
    """This process's pool for this app, made on first use (gunicorn workers fork before)."""
    pool = current_app.extensions.get(POOL)
    if pool is None:
        cfg = current_app.config
        pool = current_app.extensions.setdefault(
            POOL,
            ConnectionPool(
                lambda: connect(),  # looked up per call, so tests can replace db.connect
                size=cfg["DB_POOL_SIZE"],
                max_age=cfg["DB_POOL_MAX_AGE"],
                ping_after=cfg["DB_POOL_PING_AFTER"],
                describe=lambda conn: describe(conn),
            ),
        )
    return pool


def get_db():
    """The request's connection: pooled, or newly opened once this request has dropped one."""
    if "db" not in g:
        try:
            g.db = get_pool().checkout(fresh=g.get("db_dropped", False))
        except MySQLdb.OperationalError as exc:
            g.db_dropped = True
            log.warning("database connection failed while being set up: %s", exc)
            raise DatabaseUnavailable(code=error_code(exc)) from exc
        finally:
            _count_pool()
    return g.db


def _count_pool():
    metrics.DB_POOL_CONNECTIONS.set(get_pool().open)


def close_db(exc=None):
    """teardown: give the request's connection back to the pool, or close it after an error."""
    conn = g.pop("db", None)
    if conn is None:
        return
    if exc is not None or g.pop("db_failed", False):
        get_pool().discard(conn)
    else:
        get_pool().checkin(conn)
    _count_pool()


def mark_failed():
    """This request went wrong somewhere: its connection is closed at teardown, not reused."""
    if "db" in g:
        g.db_failed = True


def discard_db(code=None):
    """Close the request's connection after an error; the next get_db() opens a new one.
    When the error says the member or the path to it is gone, drop the idle ones too."""
    conn = g.pop("db", None)
    g.db_dropped = True
    g.pop("db_failed", None)
    if conn is not None:
        pool = get_pool()
        pool.discard(conn)
        if code in CONNECT_FAILED | RETRYABLE:
            pool.invalidate()


def _signer():
    return Signer(current_app.config["SECRET_KEY"], salt="beauty-causal-reads")


def _cookie_says_recent_write():
    value = request.cookies.get(CAUSAL_COOKIE, "")
    if not value or len(value) > 100:
        return False
    try:
        until_ms = int(_signer().unsign(value))
    except (BadSignature, ValueError):
        return False
    return time.time() * 1000 < until_ms


def causal_reads_wanted():
    """Whether this request's reads must see every write committed anywhere in the cluster."""
    mode = current_app.config["CAUSAL_READS"]
    if mode != "after_write":
        return mode == "always"
    if g.get("wrote"):
        return True
    if "recent_write" not in g:
        g.recent_write = has_request_context() and _cookie_says_recent_write()
    return g.recent_write


def _prepare_read(conn):
    """Give ``conn``'s session the wsrep_sync_wait this request wants; a pooled connection
    keeps the value, so it is set (or reset to the server's default) only when it changes."""
    if current_app.extensions.get(CAUSAL_UNSUPPORTED):
        return
    state = conn.pool_state
    wanted = 1 if causal_reads_wanted() else None
    if state.sync_wait == wanted:
        return
    cur = conn.cursor()
    try:
        cur.execute(CAUSAL_READS_SQL if wanted else CAUSAL_READS_RESET_SQL)
    except MySQLdb.Error as exc:
        if error_code(exc) != ER_UNKNOWN_SYSTEM_VARIABLE:
            raise
        current_app.extensions[CAUSAL_UNSUPPORTED] = True
        log.warning("the database does not support wsrep_sync_wait; reads after writes are not causal")
        return
    finally:
        cur.close()
    state.sync_wait = wanted


def remember_write(response):
    """after_request: tell this client's next requests, for a few seconds, that it wrote."""
    cfg = current_app.config
    if g.get("wrote") and cfg["CAUSAL_READS"] == "after_write":
        seconds = cfg["CAUSAL_READS_SECONDS"]
        until_ms = int((time.time() + seconds) * 1000)
        response.set_cookie(
            CAUSAL_COOKIE,
            _signer().sign(str(until_ms)).decode("ascii"),
            max_age=math.ceil(seconds),
            httponly=True,
            samesite="Lax",
            secure=bool(cfg.get("SESSION_COOKIE_SECURE")),
        )
    return response


def raw_query(sql, params=None):
    """Run a read and return all rows as dicts; MySQLdb errors pass through, and the
    connection is not reused after one. The read snapshot ends when the request does
    (the pool rolls back at checkin) or when the request writes."""
    conn = get_db()
    try:
        _prepare_read(conn)
        cur = conn.cursor(DictCursor)
        try:
            cur.execute(sql, params)
            rows = list(cur.fetchall())
        finally:
            cur.close()
    except MySQLdb.Error:
        if g.get("db") is conn:
            g.db_failed = True
        raise
    return rows


# A read runs at most this often: the first try and two more on new connections.
READ_ATTEMPTS = 3


def query(sql, params=None):
    """Like raw_query, tried again on a new connection when the node behind HAProxy went
    away (a read is safe to repeat); a server that still does not answer is DatabaseUnavailable.

    Twice, not once, when a member is leaving: until HAProxy has marked it down (a second
    or two), a new connection can be sent to it as well. Seen in CI: the seed's test 2 got
    a 503 for `GET /` while node2 shut down, its pooled and its new connection both on
    node2. HAProxy itself unreachable twice in a row is not going to change: no third try."""
    for attempt in range(1, READ_ATTEMPTS + 1):
        last = attempt == READ_ATTEMPTS
        try:
            return raw_query(sql, params)
        except DatabaseUnavailable as exc:
            code = exc.code
            if last or code not in CONNECT_FAILED | RETRYABLE or (attempt > 1 and code in CONNECT_FAILED):
                count_give_up("read", code)
                raise
        except MySQLdb.OperationalError as exc:
            code = error_code(exc)
            discard_db(code)
            if last or code not in RETRYABLE:
                count_give_up("read", code)
                raise DatabaseUnavailable(code=code) from exc
        count_retry("read", code)
        log.warning("read failed (attempt %d of %d), trying again on a new connection", attempt, READ_ATTEMPTS)
    raise AssertionError("unreachable")


def _connection_for_write():
    """The request's connection with no transaction open. A pooled connection that died
    while idle is replaced here: nothing of the write was sent, so it is not the retry."""
    conn = get_db()
    if g.get("db_dropped"):
        return conn  # opened for this request, and describe() ended its transaction
    try:
        # Also ends this request's read snapshot: the write starts a new transaction.
        conn.rollback()
    except MySQLdb.OperationalError as exc:
        discard_db(error_code(exc))
        log.warning("pooled connection was dead before a write (%s); using a new one", exc)
        return get_db()
    return conn


def run_write(work):
    """Run ``work(cursor)`` in a transaction and COMMIT; return its result only once committed.

    A lost connection, a failed connect or a Galera conflict is retried once on a new
    connection. A connection lost during COMMIT itself is not retried: the server may
    have committed, and a second attempt could write the row twice.
    """
    for attempt in (1, 2):
        last = attempt == 2
        try:
            conn = _connection_for_write()
        except DatabaseUnavailable as exc:
            if not last and exc.code in CONNECT_FAILED | RETRYABLE:
                count_retry("write", exc.code)
                continue
            count_give_up("write", exc.code)
            raise
        try:
            cur = conn.cursor(DictCursor)
            result = work(cur)
            cur.close()
        except MySQLdb.OperationalError as exc:
            code = error_code(exc)
            discard_db(code)
            if not last and code in RETRYABLE | {DEADLOCK}:
                count_retry("write", code)
                log.warning("write failed (%s), retrying once on a new connection", exc)
                continue
            count_give_up("write", code)
            raise DatabaseUnavailable(code=code) from exc
        except BaseException:
            discard_db()
            raise
        # From here the write may be saved even if COMMIT fails: later reads must see it.
        g.wrote = True
        try:
            conn.commit()
        except MySQLdb.OperationalError as exc:
            code = error_code(exc)
            discard_db(code)
            if not last and code == DEADLOCK:
                count_retry("commit", code)
                log.warning("commit failed (%s), retrying once on a new connection", exc)
                continue
            count_give_up("commit", code)
            raise DatabaseUnavailable(
                "The connection to the database was lost while saving; "
                "the change may not have been saved. Reload to check.",
                code=code,
            ) from exc
        return result
    raise AssertionError("unreachable")


def init_schema():
    """Create the schema if it is missing; safe to run any number of times."""
    conn = connect()
    try:
        cur = conn.cursor()
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'products'"
        )
        existed = cur.fetchone()[0] > 0
        if not existed:
            cur.execute(SCHEMA)
        conn.commit()
        return not existed
    finally:
        conn.close()


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create the products table if it does not exist."""
    try:
        created = init_schema()
    except DatabaseUnavailable as exc:
        raise click.ClickException(f"{exc.message} ({exc.__cause__})") from exc
    # The demo_app role reads this line to report changed/unchanged.
    click.echo("Created table products." if created else "Schema already up to date.")


def init_app(app):
    app.teardown_appcontext(close_db)
    app.after_request(remember_write)
    app.cli.add_command(init_db_command)
