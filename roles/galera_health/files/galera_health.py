#!/usr/bin/python3
"""Galera-aware health endpoint for HAProxy's `option httpchk`.

Answers 200 only while the local MariaDB node can take traffic: Synced, in the
Primary component and wsrep_ready=ON. A Donor/Desynced node is offered only when
no peer reports itself usable, so the cluster's last node keeps serving during SST.
Every other state answers 503 with the reason in a one-line JSON body.

Standard library only, plus PyMySQL from the distribution (python3-pymysql). The
database user authenticates with unix_socket, so no password exists anywhere.
"""

import argparse
import concurrent.futures
import configparser
import http.server
import json
import logging
import os
import socket
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import pymysql

LOG = logging.getLogger("galera-health")

STATE_SYNCED = 4
STATE_DONOR_DESYNCED = 2

# Asked by a peer's donor check: answer from local state only, never ask further.
PEER_QUERY_PARAMETER = "peer"

DEFAULTS = {
    "server": {"bind_address": "0.0.0.0", "port": "9200"},
    "mariadb": {
        "socket": "/run/mysqld/mysqld.sock",
        "user": "clustercheck",
        "timeout": "0.5",
    },
    "check": {
        "maintenance_file": "/etc/galera-health/maintenance",
        "peers": "",
        "peer_timeout": "0.5",
        "serve_while_donating": "true",
    },
}


class Settings:
    """Validated settings read from the INI file."""

    def __init__(self, parser):
        self.bind_address = parser.get("server", "bind_address").strip()
        self.port = _port(parser.get("server", "port"), "server.port")
        self.socket_path = parser.get("mariadb", "socket").strip()
        self.db_user = parser.get("mariadb", "user").strip()
        self.db_timeout = _seconds(parser.get("mariadb", "timeout"), "mariadb.timeout")
        self.maintenance_file = parser.get("check", "maintenance_file").strip()
        self.peer_timeout = _seconds(
            parser.get("check", "peer_timeout"), "check.peer_timeout"
        )
        self.serve_while_donating = parser.getboolean("check", "serve_while_donating")
        raw_peers = parser.get("check", "peers").replace(",", " ").split()
        self.peer_urls = [self._peer_url(peer) for peer in raw_peers]
        if not self.db_user:
            raise ValueError("mariadb.user must not be empty")
        if not self.socket_path.startswith("/"):
            raise ValueError("mariadb.socket must be an absolute path")

    def _peer_url(self, peer):
        """Turn `host`, `host:port` or `[v6]:port` into the peer's check URL."""
        host, port = peer, self.port
        if peer.startswith("["):
            host, _, rest = peer[1:].partition("]")
            if rest:
                port = _port(rest.lstrip(":"), "peer " + peer)
        elif peer.count(":") == 1:
            host, raw_port = peer.split(":")
            port = _port(raw_port, "peer " + peer)
        if not host:
            raise ValueError("peer %r has no host" % peer)
        if ":" in host:
            host = "[" + host + "]"
        return "http://%s:%d/?%s=1" % (host, port, PEER_QUERY_PARAMETER)


def _port(value, name):
    try:
        port = int(value)
    except ValueError:
        raise ValueError("%s must be a port number, got %r" % (name, value)) from None
    if not 1 <= port <= 65535:
        raise ValueError("%s must be between 1 and 65535, got %d" % (name, port))
    return port


def _seconds(value, name):
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError("%s must be a number of seconds, got %r" % (name, value)) from None
    if not 0 < seconds <= 10:
        raise ValueError("%s must be above 0 and at most 10 seconds" % name)
    return seconds


def load_settings(path):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_dict(DEFAULTS)
    with open(path, encoding="utf-8") as handle:
        parser.read_file(handle)
    return Settings(parser)


class Verdict:
    def __init__(self, code, message, node=None, state=None):
        self.code = code
        self.message = message
        self.node = node
        self.state = state

    def body(self):
        payload = {
            "status": "ok" if self.code == 200 else "unavailable",
            "node": self.node,
            "message": self.message,
        }
        if self.state:
            payload.update(self.state)
        return (json.dumps(payload, sort_keys=True) + "\n").encode("utf-8")


class Checker:
    """Reads wsrep state and decides whether this node should take traffic."""

    def __init__(self, settings):
        self.settings = settings
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._last = None
        self._lock = threading.Lock()

    def read_wsrep(self):
        # No password: the server maps this OS user to the DB user (unix_socket).
        connection = pymysql.connect(
            unix_socket=self.settings.socket_path,
            user=self.settings.db_user,
            connect_timeout=self.settings.db_timeout,
            read_timeout=self.settings.db_timeout,
            write_timeout=self.settings.db_timeout,
            autocommit=True,
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
                    "('wsrep_on', 'wsrep_node_name', 'wsrep_desync', 'wsrep_sst_method')"
                )
                variables = dict(cursor.fetchall())
                cursor.execute(
                    "SHOW GLOBAL STATUS WHERE Variable_name IN "
                    "('wsrep_local_state', 'wsrep_local_state_comment', "
                    "'wsrep_cluster_status', 'wsrep_ready')"
                )
                status = dict(cursor.fetchall())
        finally:
            connection.close()
        return variables, status

    def evaluate(self, peer_query=False):
        verdict = self._evaluate(peer_query)
        if not peer_query:
            self._log_change(verdict)
        return verdict

    def _evaluate(self, peer_query):
        hostname = socket.gethostname()
        if os.path.exists(self.settings.maintenance_file):
            return Verdict(503, "%s is in maintenance" % hostname, hostname)
        try:
            variables, status = self.read_wsrep()
        except (pymysql.MySQLError, OSError) as error:
            return Verdict(503, "cannot connect to MariaDB: %s" % _describe(error), hostname)

        node = variables.get("wsrep_node_name") or hostname
        if str(variables.get("wsrep_on", "OFF")).upper() != "ON":
            return Verdict(503, "%s is not a Galera node (wsrep_on is OFF)" % node, node)

        state = {
            "wsrep_cluster_status": status.get("wsrep_cluster_status"),
            "wsrep_local_state": _int_or_none(status.get("wsrep_local_state")),
            "wsrep_local_state_comment": status.get("wsrep_local_state_comment"),
            "wsrep_ready": status.get("wsrep_ready"),
        }
        if state["wsrep_cluster_status"] != "Primary":
            return Verdict(
                503,
                "%s is not in the Primary component (%s)"
                % (node, state["wsrep_cluster_status"]),
                node,
                state,
            )
        if state["wsrep_ready"] != "ON":
            return Verdict(503, "%s is not ready" % node, node, state)
        local_state = state["wsrep_local_state"]
        comment = state["wsrep_local_state_comment"] or "in state %s" % local_state
        if local_state == STATE_SYNCED:
            return Verdict(200, "%s is Synced" % node, node, state)
        # A donor by IST or by mariabackup SST keeps committing writes, so draining it would
        # only cut sessions; a deliberate desync (backups) or a blocking rsync donor is drained.
        donating_without_blocking = (
            local_state == STATE_DONOR_DESYNCED
            and self.settings.serve_while_donating
            and str(variables.get("wsrep_desync", "OFF")).upper() == "OFF"
            and variables.get("wsrep_sst_method") != "rsync"
        )
        if donating_without_blocking:
            return Verdict(200, "%s is %s and keeps serving" % (node, comment), node, state)
        if local_state == STATE_DONOR_DESYNCED and not peer_query:
            usable_peer = self.find_usable_peer()
            if usable_peer is None:
                return Verdict(
                    200, "%s is %s and no peer is Synced" % (node, comment), node, state
                )
            return Verdict(
                503, "%s is %s; %s is Synced" % (node, comment, usable_peer), node, state
            )
        return Verdict(503, "%s is %s" % (node, comment), node, state)

    def _probe_peer(self, url):
        try:
            with self._opener.open(url, timeout=self.settings.peer_timeout) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            # HTTPError (503) is a URLError; refused, unreachable and timeouts are OSError.
            return False

    def find_usable_peer(self):
        """Return the URL of a peer that answers 200, or None; bounded by peer_timeout."""
        urls = self.settings.peer_urls
        if not urls:
            return None
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(urls))
        futures = {pool.submit(self._probe_peer, url): url for url in urls}
        try:
            for future in concurrent.futures.as_completed(
                futures, timeout=self.settings.peer_timeout + 0.1
            ):
                if future.result():
                    return urllib.parse.urlsplit(futures[future]).netloc
        except concurrent.futures.TimeoutError:
            pass
        finally:
            # Do not wait for slow peers; their sockets time out on their own.
            pool.shutdown(wait=False, cancel_futures=True)
        return None

    def _log_change(self, verdict):
        with self._lock:
            current = (verdict.code, verdict.message)
            if current != self._last:
                LOG.info("%d %s", verdict.code, verdict.message)
                self._last = current


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _describe(error):
    if isinstance(error, pymysql.MySQLError) and len(error.args) >= 2:
        return "(%s) %s" % (error.args[0], error.args[1])
    return error.__class__.__name__ + (": %s" % error if str(error) else "")


class HealthHandler(http.server.BaseHTTPRequestHandler):
    server_version = "galera-health"
    # A slow or silent client must not hold a worker thread.
    timeout = 2

    def version_string(self):
        return self.server_version

    def do_GET(self):  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
        self._answer(with_body=True)

    def do_HEAD(self):  # noqa: N802
        self._answer(with_body=False)

    # HAProxy's bare `option httpchk` sends OPTIONS, so it reports health like GET.
    def do_OPTIONS(self):  # noqa: N802
        self._answer(with_body=True, allow=True)

    def _answer(self, with_body, allow=False):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        verdict = self.server.checker.evaluate(peer_query=PEER_QUERY_PARAMETER in query)
        body = verdict.body()
        self.send_response(verdict.code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        if allow:
            self.send_header("Allow", "GET, HEAD, OPTIONS")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 (signature fixed by the base class)
        # One check per second per HAProxy would flood the journal; state changes are logged.
        return


class HealthServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, settings):
        self.checker = Checker(settings)
        if ":" in settings.bind_address:
            self.address_family = socket.AF_INET6
        super().__init__((settings.bind_address, settings.port), HealthHandler)


def main(argv=None):
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument(
        "--config", default="/etc/galera-health/galera-health.conf", help="INI settings file"
    )
    mode = arguments.add_mutually_exclusive_group()
    mode.add_argument(
        "--check-config", action="store_true", help="validate the settings file and exit"
    )
    mode.add_argument(
        "--once", action="store_true", help="print one verdict; exit 0 if healthy, else 1"
    )
    options = arguments.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)

    try:
        settings = load_settings(options.config)
    except (OSError, ValueError, configparser.Error) as error:
        LOG.error("invalid settings in %s: %s", options.config, error)
        return 2
    if options.check_config:
        return 0
    if options.once:
        verdict = Checker(settings).evaluate()
        sys.stdout.write("%d %s" % (verdict.code, verdict.body().decode("utf-8")))
        return 0 if verdict.code == 200 else 1

    server = HealthServer(settings)
    LOG.info(
        "listening on %s:%d, %d peer(s)",
        settings.bind_address,
        settings.port,
        len(settings.peer_urls),
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
