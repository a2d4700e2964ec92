"""Configuration: defaults, then the instance file named by BEAUTY_CONFIG, then BEAUTY_* variables.

The instance file is either Python (``*.py``, Flask keys such as ``DB_HOST``) or
``KEY=value`` lines using the same names as the environment (``BEAUTY_DB_HOST=...``);
the demo_app role writes the latter to /etc/beauty/beauty.conf.
"""

import os
from urllib.parse import urlsplit

from .validation import MAX_PAGE_SIZE

# Environment / key=value name -> (Flask config key, converter)
ENV_KEYS = {
    "BEAUTY_DB_HOST": ("DB_HOST", str),
    "BEAUTY_DB_PORT": ("DB_PORT", int),
    "BEAUTY_DB_USER": ("DB_USER", str),
    "BEAUTY_DB_PASSWORD": ("DB_PASSWORD", str),
    "BEAUTY_DB_NAME": ("DB_NAME", str),
    "BEAUTY_DB_CONNECT_TIMEOUT": ("DB_CONNECT_TIMEOUT", int),
    "BEAUTY_DB_READ_TIMEOUT": ("DB_READ_TIMEOUT", int),
    "BEAUTY_DB_SSL_CA": ("DB_SSL_CA", str),
    "BEAUTY_DB_POOL_SIZE": ("DB_POOL_SIZE", int),
    "BEAUTY_DB_POOL_MAX_AGE": ("DB_POOL_MAX_AGE", float),
    "BEAUTY_CLUSTER_CACHE_SECONDS": ("CLUSTER_CACHE_SECONDS", float),
    "BEAUTY_LIST_CACHE_SECONDS": ("LIST_CACHE_SECONDS", float),
    "BEAUTY_SECRET_KEY": ("SECRET_KEY", str),
    "BEAUTY_REFRESH_SECONDS": ("REFRESH_SECONDS", int),
    "BEAUTY_PRODUCTS_PAGE_SIZE": ("PRODUCTS_PAGE_SIZE", int),
    "BEAUTY_MAX_CONTENT_LENGTH": ("MAX_CONTENT_LENGTH", int),
    "BEAUTY_CAUSAL_READS": ("CAUSAL_READS", lambda value: value.strip().lower()),
    "BEAUTY_CAUSAL_READS_SECONDS": ("CAUSAL_READS_SECONDS", float),
    "BEAUTY_DASHBOARD_URL": ("DASHBOARD_URL", str),
}

CAUSAL_READS_MODES = ("after_write", "always", "off")

DEFAULTS = {
    "DB_HOST": "127.0.0.1",
    "DB_PORT": 3300,
    "DB_USER": "beauty_app",
    "DB_PASSWORD": "",
    "DB_NAME": "beauty",
    "DB_CONNECT_TIMEOUT": 3,
    # A statement that hangs this long means the node is gone; fail instead of queueing.
    "DB_READ_TIMEOUT": 10,
    # A CA file turns TLS on: the server's certificate must chain to it (see db.connect).
    "DB_SSL_CA": "",
    # Connections each process keeps open and hands out in turn (see beauty/pool.py).
    # Give it gunicorn's thread count: every thread then has one, and a single client's
    # requests still rotate over the members. Sum over workers and app hosts must stay
    # well below the app account's MAX_USER_CONNECTIONS (150) on one member.
    "DB_POOL_SIZE": 4,
    # Seconds before a pooled connection is replaced, so a member that came back gets
    # its share of connections again; one idle longer than DB_POOL_PING_AFTER is pinged.
    "DB_POOL_MAX_AGE": 60.0,
    "DB_POOL_PING_AFTER": 5.0,
    # The cluster panel is read at most this often per process (0: on every request).
    "CLUSTER_CACHE_SECONDS": 1.0,
    # The newest page of GET /api/products (what every open page polls) and the status
    # card's count are read at most this often per process; a client that has just written
    # reads past them (0: off).
    "LIST_CACHE_SECONDS": 1.0,
    "SECRET_KEY": None,
    "REFRESH_SECONDS": 3,
    # Products on one page of the list (and GET /api/products without ?limit=); older ones
    # are a link away, so a page costs the same however many products clients add.
    "PRODUCTS_PAGE_SIZE": 50,
    # A product is a few hundred bytes; Werkzeug answers 413 past this, declared or streamed.
    "MAX_CONTENT_LENGTH": 16 * 1024,
    # Reads wait for the Galera member to catch up (wsrep_sync_wait) for this long after
    # a client's write, so its next request sees the write on any member; see db.py.
    "CAUSAL_READS": "after_write",
    "CAUSAL_READS_SECONDS": 5.0,
    # The cluster dashboard (Prometheus, roles/monitoring) the cluster panel links to; empty: no link.
    "DASHBOARD_URL": "",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "BOOTSTRAP_SERVE_LOCAL": True,
    "WTF_CSRF_TIME_LIMIT": None,
}


class ConfigError(RuntimeError):
    """The app cannot start with the configuration it was given."""


def parse_key_value_file(path):
    """Read ``KEY=value`` lines; blank lines and ``#`` comments are skipped."""
    values = {}
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise ConfigError(f"{path}:{number}: expected KEY=value, got {line!r}")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            values[key.strip()] = value
    return values


def _apply(app, source, origin):
    for name, raw in source.items():
        if name not in ENV_KEYS:
            continue
        key, convert = ENV_KEYS[name]
        try:
            app.config[key] = convert(raw)
        except ValueError as exc:
            raise ConfigError(f"{origin}: {name} has an invalid value") from exc


def _check(config):
    """Refuse values that would leave the app unprotected or unable to serve."""
    limit = config["MAX_CONTENT_LENGTH"]
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1024 <= limit <= 16 * 1024 * 1024:
        raise ConfigError("BEAUTY_MAX_CONTENT_LENGTH must be a whole number of bytes from 1024 to 16777216")
    if config["CAUSAL_READS"] not in CAUSAL_READS_MODES:
        raise ConfigError(f"BEAUTY_CAUSAL_READS must be one of {', '.join(CAUSAL_READS_MODES)}")
    page = config["PRODUCTS_PAGE_SIZE"]
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGE_SIZE:
        raise ConfigError(f"BEAUTY_PRODUCTS_PAGE_SIZE must be a whole number from 1 to {MAX_PAGE_SIZE}")
    size = config["DB_POOL_SIZE"]
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= 64:
        raise ConfigError("BEAUTY_DB_POOL_SIZE must be a whole number from 0 (no pooling) to 64")
    for key, name, top in (
        ("DB_POOL_MAX_AGE", "BEAUTY_DB_POOL_MAX_AGE", 86400),
        ("CLUSTER_CACHE_SECONDS", "BEAUTY_CLUSTER_CACHE_SECONDS", 1),
        ("LIST_CACHE_SECONDS", "BEAUTY_LIST_CACHE_SECONDS", 1),
    ):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= top:
            raise ConfigError(f"{name} must be a number of seconds from 0 to {top}")
    seconds = config["CAUSAL_READS_SECONDS"]
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 3600:
        raise ConfigError("BEAUTY_CAUSAL_READS_SECONDS must be a number of seconds above 0 and at most 3600")
    dashboard = config["DASHBOARD_URL"]
    if not isinstance(dashboard, str) or (dashboard and not _is_web_url(dashboard)):
        raise ConfigError("BEAUTY_DASHBOARD_URL must be empty or an http:// or https:// URL")


def _is_web_url(value):
    """An absolute http(s) URL with a host, nothing a page could run (javascript:, data:)."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and value.isprintable() and " " not in value


def load_config(app, test_config=None):
    app.config.from_mapping(DEFAULTS)
    config_path = os.environ.get("BEAUTY_CONFIG")
    if config_path:
        if not os.path.isfile(config_path):
            raise ConfigError(f"BEAUTY_CONFIG points at {config_path}, which is not a file")
        if config_path.endswith(".py"):
            app.config.from_pyfile(config_path)
        else:
            _apply(app, parse_key_value_file(config_path), config_path)
    _apply(app, os.environ, "environment")
    if test_config:
        app.config.from_mapping(test_config)
    # Bootstrap assets always come from the installed package, never a CDN.
    app.config["BOOTSTRAP_SERVE_LOCAL"] = True

    _check(app.config)

    if not app.config.get("SECRET_KEY"):
        if app.config.get("TESTING"):
            app.config["SECRET_KEY"] = os.urandom(32).hex()
        else:
            raise ConfigError(
                "No secret key configured: set BEAUTY_SECRET_KEY in the environment "
                "or in the file named by BEAUTY_CONFIG."
            )
