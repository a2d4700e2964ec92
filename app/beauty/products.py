"""Product queries, the serving node's identity and the Galera view, plus display helpers."""

import threading
import time
from decimal import Decimal

import MySQLdb
from flask import current_app

from .db import (
    ER_UNKNOWN_SYSTEM_VARIABLE,
    DatabaseUnavailable,
    _text,
    causal_reads_wanted,
    discard_db,
    error_code,
    get_db,
    query,
    raw_query,
    run_write,
)

COLUMNS = "id, name, price, stock, created_at"
# The status card's count stops here ("10000+").
COUNT_LIMIT = 10_000

# What the cluster panel shows, in this order.
CLUSTER_KEYS = (
    "wsrep_cluster_size",
    "wsrep_cluster_status",
    "wsrep_local_state_comment",
    "wsrep_ready",
    "wsrep_incoming_addresses",
)


def format_rupiah(value):
    """150000 -> 'Rp 150.000'; 12500.5 -> 'Rp 12.500,50' (Indonesian separators)."""
    amount = Decimal(value).quantize(Decimal("0.01"))
    whole, cents = divmod(abs(amount), 1)
    text = f"{int(whole):,}".replace(",", ".")
    if cents:
        text += "," + f"{cents:.2f}"[2:]
    return ("-" if amount < 0 else "") + "Rp " + text


def format_timestamp(value):
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def to_json(row):
    return {
        "id": row["id"],
        "name": row["name"],
        # A string, never a float: prices are exact.
        "price": f"{row['price']:.2f}",
        "price_display": format_rupiah(row["price"]),
        "stock": row["stock"],
        "created_at": row["created_at"].isoformat() if row["created_at"] else None,
        "created_at_display": format_timestamp(row["created_at"]),
    }


def list_products(limit, before=None):
    """One page, newest first: at most ``limit`` products with an id below ``before`` (all
    when None), and whether older ones remain. Found through the primary key, so a page
    costs the same however many rows clients have added."""
    where, params = ("WHERE id < %s ", (before,)) if before is not None else ("", ())
    rows = query(f"SELECT {COLUMNS} FROM products {where}ORDER BY id DESC LIMIT %s", (*params, limit + 1))
    return rows[:limit], len(rows) > limit


def get_product(product_id):
    rows = query(f"SELECT {COLUMNS} FROM products WHERE id = %s", (product_id,))
    return rows[0] if rows else None


def count_products():
    """How many products there are, counted no further than COUNT_LIMIT (the status card is
    polled every few seconds; an exact count of a table a client has flooded is not worth a
    scan on every poll): ``(total, more)``, ``more`` when the count stopped there."""
    sql = f"SELECT COUNT(*) AS total FROM (SELECT 1 FROM products LIMIT {COUNT_LIMIT + 1}) AS counted"
    total = query(sql)[0]["total"]
    return min(total, COUNT_LIMIT), total > COUNT_LIMIT


def create_product(name, price, stock):
    def work(cur):
        cur.execute(
            "INSERT INTO products (name, price, stock) VALUES (%s, %s, %s)",
            (name, price, stock),
        )
        cur.execute(f"SELECT {COLUMNS} FROM products WHERE id = LAST_INSERT_ID()")
        return cur.fetchone()

    return run_write(work)


def update_product(product_id, name, price, stock):
    """Return the updated row, or None when no product has that id."""

    def work(cur):
        cur.execute(
            "UPDATE products SET name = %s, price = %s, stock = %s WHERE id = %s",
            (name, price, stock, product_id),
        )
        if cur.rowcount == 0:
            return None
        cur.execute(f"SELECT {COLUMNS} FROM products WHERE id = %s", (product_id,))
        return cur.fetchone()

    return run_write(work)


def delete_product(product_id):
    """Return True when a row was deleted."""

    def work(cur):
        cur.execute("DELETE FROM products WHERE id = %s", (product_id,))
        return cur.rowcount > 0

    return run_write(work)


def _scalar_or_none(sql):
    """A server variable, or None when this server does not have it (no wsrep support)."""
    try:
        rows = raw_query(sql)
    except MySQLdb.Error as exc:
        if error_code(exc) == ER_UNKNOWN_SYSTEM_VARIABLE:
            return None
        if isinstance(exc, MySQLdb.OperationalError):
            discard_db(error_code(exc))
            raise DatabaseUnavailable(code=error_code(exc)) from exc
        raise
    return next(iter(rows[0].values())) if rows else None


def node_name():
    """The Galera node behind this request's connection (the server's hostname when it is
    not a Galera node), learned when the connection was opened."""
    return get_db().pool_state.node or "unknown"


def check_database():
    """One round trip on this request's connection: does the member still answer?"""
    query("SELECT 1 AS ok")


class FreshCache:
    """One value per process (the cluster panel, the newest page of the JSON list): at most
    ``max_age`` seconds old, and while it is read again the other threads wait for that one
    read instead of adding theirs."""

    def __init__(self, max_age):
        self.max_age = max_age
        self._lock = threading.Lock()
        self._entry = None  # (monotonic time the read began, value)
        self.reads = 0

    def _fresh(self):
        entry = self._entry
        if entry is not None and time.monotonic() - entry[0] < self.max_age:
            return entry
        return None

    def get(self, read):
        entry = self._fresh()
        if entry is None:
            with self._lock:
                entry = self._fresh()
                if entry is None:
                    began = time.monotonic()
                    self.reads += 1
                    entry = self._entry = (began, read())
        return entry[1]


CLUSTER_CACHE = "beauty.cluster_cache"


def _fresh_cache(key, max_age):
    """This process's FreshCache named ``key`` (app.extensions), made on first use."""
    cache = current_app.extensions.get(key)
    if cache is None:
        cache = current_app.extensions.setdefault(key, FreshCache(max_age))
    return cache


def recent(key, read):
    """read() as this process saw it at most LIST_CACHE_SECONDS ago (the list and the count
    every open page polls); read afresh when that is 0, or for a client inside its causal
    window (it has just written), so it always sees its own write."""
    seconds = current_app.config["LIST_CACHE_SECONDS"]
    if not seconds or causal_reads_wanted():
        return read()
    return _fresh_cache(key, seconds).get(read)


def cluster_info():
    """The Galera status as a member saw it at most CLUSTER_CACHE_SECONDS ago."""
    return _fresh_cache(CLUSTER_CACHE, current_app.config["CLUSTER_CACHE_SECONDS"]).get(read_cluster_info)


def read_cluster_info():
    """The Galera status as the serving node sees it, or ``{"galera": False}``."""
    wsrep_on = _scalar_or_none("SELECT @@global.wsrep_on AS v")
    if not wsrep_on or str(wsrep_on) in ("0", "OFF"):
        return {"galera": False}
    rows = query("SHOW GLOBAL STATUS LIKE 'wsrep\\_%'")
    status = {_text(r["Variable_name"]).lower(): _text(r["Value"]) for r in rows}
    info = {"galera": True}
    for key in CLUSTER_KEYS:
        value = status.get(key)
        if key == "wsrep_cluster_size" and value is not None and str(value).isdigit():
            value = int(value)
        info[key.removeprefix("wsrep_")] = value
    return info


def tls_cipher():
    """The cipher of this request's database session, or None when it is not encrypted."""
    return get_db().pool_state.tls_cipher


COUNT_CACHE = "beauty.count_cache"


def recent_count():
    """count_products(), at most LIST_CACHE_SECONDS old (see recent)."""
    return recent(COUNT_CACHE, count_products)


def snapshot(total=None):
    """Everything the page header and status card show, for this request's connection;
    pass ``total`` as count_products() would return it when the caller already knows it
    (a first page that holds every product)."""
    total_products, more = total if total is not None else recent_count()
    return {
        "node": node_name(),
        "database": "connected",
        "db_tls_cipher": tls_cipher(),
        "total_products": total_products,
        "total_products_more": more,
        "cluster": cluster_info(),
    }
