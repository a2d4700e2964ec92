#!/usr/bin/python3
"""Galera-aware health endpoint for HAProxy's `option httpchk`.

Answers 200 only while the local MariaDB node can take traffic: Synced, in the
Primary component and wsrep_ready=ON. A Donor/Desynced node is offered only when
no peer reports itself usable, so the cluster's last node keeps serving during SST.
Every other state answers 503 with the reason in a one-line JSON body.

Hostile load cannot multiply database logins: one background thread refreshes a
single cached verdict every cache_ttl seconds and every request is answered from
it; a verdict older than stale_after answers 503 "stale". Clients are served by
one selector loop, so idle or slow sockets cost a file descriptor, never a thread,
and are dropped after client_timeout.

With --rejoin the same program is the member's rejoin watch instead (run as root by its own
unit): a member that answers but stays outside every component, with a transfer cut short or
no group connection, while a peer is Synced in the Primary component, is restarted once.

SIGHUP re-reads the settings file without closing the listening sockets, so HAProxy
never sees a failed check for a change of peers or timeouts. A file that does not
validate, or that moves the listening address or port (a restart's job), is refused
and the running settings stay.

Standard library only, plus PyMySQL from the distribution (python3-pymysql). The
database user authenticates with unix_socket, so no password exists anywhere.
"""

import argparse
import collections
import concurrent.futures
import configparser
import json
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pymysql

LOG = logging.getLogger("galera-health")

STATE_JOINING = 1
STATE_SYNCED = 4
STATE_DONOR_DESYNCED = 2

# How often the rejoin watch reads the member's state (seconds).
REJOIN_INTERVAL = 2.0
# Client errors of a server that does not answer: can't connect (socket, TCP), lost connection.
NOT_ANSWERING = (2002, 2003, 2006, 2013)

# Asked by a peer's donor check: answer from local state only, never ask further.
PEER_QUERY_PARAMETER = "peer"

# A check request is one line and a few headers; anything longer is not HAProxy.
MAX_REQUEST_BYTES = 4096
TCP_PROBE_MODES = ("off", "greeting", "login")

DEFAULTS = {
    "server": {
        "bind_address": "127.0.0.1",
        "port": "9200",
        "client_timeout": "1.5",
        "max_clients": "128",
    },
    "mariadb": {
        "socket": "/run/mysqld/mysqld.sock",
        "user": "clustercheck",
        "timeout": "0.5",
        "tcp_probe": "off",
        "tcp_address": "127.0.0.1",
        "tcp_port": "3306",
        "tcp_user": "",
        "tcp_password_file": "",
        "tcp_ssl_ca": "",
    },
    "check": {
        "maintenance_file": "/etc/galera-health/maintenance",
        "peers": "",
        "peer_timeout": "0.5",
        "serve_while_donating": "true",
        "cache_ttl": "0.5",
        "stale_after": "3",
    },
    "rejoin": {
        "after": "0",
        "user": "root",
        "service": "mariadb.service",
    },
}


class Settings:
    """Validated settings read from the INI file."""

    def __init__(self, parser):
        self.bind_addresses = _unique(parser.get("server", "bind_address").replace(",", " ").split())
        self.port = _port(parser.get("server", "port"), "server.port")
        self.client_timeout = _seconds(parser.get("server", "client_timeout"), "server.client_timeout")
        self.max_clients = _count(parser.get("server", "max_clients"), "server.max_clients", 4, 1000)
        self.socket_path = parser.get("mariadb", "socket").strip()
        self.db_user = parser.get("mariadb", "user").strip()
        self.db_timeout = _seconds(parser.get("mariadb", "timeout"), "mariadb.timeout")
        self.tcp_probe = parser.get("mariadb", "tcp_probe").strip().lower()
        self.tcp_address = parser.get("mariadb", "tcp_address").strip()
        self.tcp_port = _port(parser.get("mariadb", "tcp_port"), "mariadb.tcp_port")
        self.tcp_user = parser.get("mariadb", "tcp_user").strip()
        self.tcp_password_file = parser.get("mariadb", "tcp_password_file").strip()
        self.tcp_ssl_ca = parser.get("mariadb", "tcp_ssl_ca").strip()
        self.maintenance_file = parser.get("check", "maintenance_file").strip()
        self.peer_timeout = _seconds(parser.get("check", "peer_timeout"), "check.peer_timeout")
        self.serve_while_donating = parser.getboolean("check", "serve_while_donating")
        self.cache_ttl = _seconds(parser.get("check", "cache_ttl"), "check.cache_ttl", 0.05, 5)
        self.stale_after = _seconds(parser.get("check", "stale_after"), "check.stale_after", 0.2, 60)
        self.rejoin_after = _count(parser.get("rejoin", "after"), "rejoin.after", 0, 3600)
        self.rejoin_user = parser.get("rejoin", "user").strip()
        self.rejoin_service = parser.get("rejoin", "service").strip()
        raw_peers = parser.get("check", "peers").replace(",", " ").split()
        self.peer_urls = [self._peer_url(peer) for peer in raw_peers]
        if not self.bind_addresses:
            raise ValueError("server.bind_address must name at least one address")
        if not self.db_user:
            raise ValueError("mariadb.user must not be empty")
        if not self.socket_path.startswith("/"):
            raise ValueError("mariadb.socket must be an absolute path")
        # Two refreshes must fit in the bound, or a healthy node would flap to "stale".
        if self.stale_after < 2 * self.cache_ttl:
            raise ValueError("check.stale_after must be at least twice check.cache_ttl")
        if self.tcp_probe not in TCP_PROBE_MODES:
            raise ValueError("mariadb.tcp_probe must be one of %s" % ", ".join(TCP_PROBE_MODES))
        if self.tcp_probe != "off" and not self.tcp_address:
            raise ValueError("mariadb.tcp_address must be set when tcp_probe is on")
        if self.tcp_probe == "login":
            if not self.tcp_user:
                raise ValueError("mariadb.tcp_user must be set when tcp_probe is login")
            if not self.tcp_password_file.startswith("/"):
                raise ValueError("mariadb.tcp_password_file must be an absolute path")
        if 0 < self.rejoin_after < 10:
            raise ValueError("rejoin.after must be 0 (off) or at least 10 seconds, got %d" % self.rejoin_after)
        if not self.rejoin_user:
            raise ValueError("rejoin.user must not be empty")
        if not self.rejoin_service.endswith(".service") or "/" in self.rejoin_service:
            raise ValueError("rejoin.service must be a systemd unit name ending in .service")
        if self.tcp_ssl_ca and not self.tcp_ssl_ca.startswith("/"):
            raise ValueError("mariadb.tcp_ssl_ca must be an absolute path")

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


def _unique(items):
    return list(dict.fromkeys(items))


def _port(value, name):
    return _count(value, name, 1, 65535, "a port number")


def _count(value, name, low, high, what="a whole number"):
    try:
        number = int(value)
    except ValueError:
        raise ValueError("%s must be %s, got %r" % (name, what, value)) from None
    if not low <= number <= high:
        raise ValueError("%s must be between %d and %d, got %d" % (name, low, high, number))
    return number


def _seconds(value, name, low=0.0, high=10.0):
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError("%s must be a number of seconds, got %r" % (name, value)) from None
    # Written as `not in range` so NaN, which compares false both ways, is rejected too.
    above_low = seconds > low if low == 0 else seconds >= low
    if not (above_low and seconds <= high):
        bound = "above 0" if low == 0 else "at least %g" % low
        raise ValueError("%s must be %s and at most %g seconds" % (name, bound, high))
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
                    "'wsrep_cluster_status', 'wsrep_connected', 'wsrep_ready')"
                )
                status = dict(cursor.fetchall())
        finally:
            connection.close()
        return variables, status

    def evaluate(self, peer_query=False):
        """One verdict, computed now (used by --once)."""
        local, full = self.refresh()
        return local if peer_query else full

    def refresh(self):
        """Return (local, full): the verdict for peers and the one for HAProxy.

        Peers are asked only when this node is a draining donor, once per refresh.
        """
        local, ask_peers = self._evaluate_local()
        full = local
        if ask_peers:
            usable_peer = self.find_usable_peer()
            if usable_peer is None:
                full = Verdict(200, "%s and no peer is Synced" % local.message, local.node, local.state)
            else:
                full = Verdict(503, "%s; %s is Synced" % (local.message, usable_peer), local.node, local.state)
        if self.settings.tcp_probe != "off" and 200 in (local.code, full.code):
            refusal = self.probe_tcp()
            if refusal:
                message = "%s refuses TCP clients: %s" % (local.node, refusal)
                local = Verdict(503, message, local.node, local.state)
                full = Verdict(503, message, full.node, full.state)
        return local, full

    def _evaluate_local(self):
        """Return (verdict from local state only, whether the donor rule needs peers)."""
        hostname = socket.gethostname()
        if os.path.exists(self.settings.maintenance_file):
            return Verdict(503, "%s is in maintenance" % hostname, hostname), False
        try:
            variables, status = self.read_wsrep()
        except (pymysql.MySQLError, OSError) as error:
            return Verdict(503, "cannot connect to MariaDB: %s" % _describe(error), hostname), False

        node = variables.get("wsrep_node_name") or hostname
        if str(variables.get("wsrep_on", "OFF")).upper() != "ON":
            return Verdict(503, "%s is not a Galera node (wsrep_on is OFF)" % node, node), False

        state = {
            "wsrep_cluster_status": status.get("wsrep_cluster_status"),
            "wsrep_local_state": _int_or_none(status.get("wsrep_local_state")),
            "wsrep_local_state_comment": status.get("wsrep_local_state_comment"),
            "wsrep_ready": status.get("wsrep_ready"),
        }
        if state["wsrep_cluster_status"] != "Primary":
            message = "%s is not in the Primary component (%s)" % (
                node,
                state["wsrep_cluster_status"],
            )
            return Verdict(503, message, node, state), False
        if state["wsrep_ready"] != "ON":
            return Verdict(503, "%s is not ready" % node, node, state), False
        local_state = state["wsrep_local_state"]
        comment = state["wsrep_local_state_comment"] or "in state %s" % local_state
        if local_state == STATE_SYNCED:
            return Verdict(200, "%s is Synced" % node, node, state), False
        # A donor by IST or by mariabackup SST keeps committing writes, so draining it would
        # only cut sessions; a deliberate desync (backups) or a blocking rsync donor is drained.
        donating_without_blocking = (
            local_state == STATE_DONOR_DESYNCED
            and self.settings.serve_while_donating
            and str(variables.get("wsrep_desync", "OFF")).upper() == "OFF"
            and variables.get("wsrep_sst_method") != "rsync"
        )
        if donating_without_blocking:
            return Verdict(200, "%s is %s and keeps serving" % (node, comment), node, state), False
        verdict = Verdict(503, "%s is %s" % (node, comment), node, state)
        return verdict, local_state == STATE_DONOR_DESYNCED

    def probe_tcp(self):
        """Return why a TCP client would be refused right now, or None if it gets in."""
        settings = self.settings
        try:
            if settings.tcp_probe == "login":
                return self._probe_login()
            return self._probe_greeting()
        except (pymysql.MySQLError, OSError, ValueError) as error:
            return _describe(error)

    def _probe_login(self):
        with open(self.settings.tcp_password_file, encoding="utf-8") as handle:
            password = handle.readline().rstrip("\r\n")
        connection = pymysql.connect(
            host=self.settings.tcp_address,
            port=self.settings.tcp_port,
            user=self.settings.tcp_user,
            password=password,
            connect_timeout=self.settings.db_timeout,
            read_timeout=self.settings.db_timeout,
            write_timeout=self.settings.db_timeout,
            ssl={"ca": self.settings.tcp_ssl_ca} if self.settings.tcp_ssl_ca else None,
        )
        # close() sends COM_QUIT, so the server counts a clean session, not an abort.
        connection.close()
        return None

    def _probe_greeting(self):
        # Costs one Aborted_connects and one error-log warning per probe; see the role's docs.
        address = (self.settings.tcp_address, self.settings.tcp_port)
        with socket.create_connection(address, timeout=self.settings.db_timeout) as conn:
            header = _read_exactly(conn, 4)
            length = header[0] | header[1] << 8 | header[2] << 16
            payload = _read_exactly(conn, min(length, 512))
        if payload[:1] == b"\x0a":
            return None
        if payload[:1] == b"\xff" and len(payload) >= 3:
            errno = payload[1] | payload[2] << 8
            return "(%d) %s" % (errno, payload[3:].decode("utf-8", "replace"))
        return "unexpected greeting (first byte %r)" % payload[:1]

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
            for future in concurrent.futures.as_completed(futures, timeout=self.settings.peer_timeout + 0.1):
                if future.result():
                    return urllib.parse.urlsplit(futures[future]).netloc
        except concurrent.futures.TimeoutError:
            pass
        finally:
            # Do not wait for slow peers; their sockets time out on their own.
            pool.shutdown(wait=False, cancel_futures=True)
        return None


def _read_exactly(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise ValueError("connection closed after %d of %d greeting bytes" % (len(data), count))
        data += chunk
    return data


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _describe(error):
    if isinstance(error, pymysql.MySQLError) and len(error.args) >= 2:
        return "(%s) %s" % (error.args[0], error.args[1])
    return error.__class__.__name__ + (": %s" % error if str(error) else "")


class VerdictCache:
    """Holds the latest verdicts; one background thread refreshes them."""

    def __init__(self, checker, ttl, stale_after, clock=time.monotonic):
        self._checker = checker
        self._ttl = ttl
        self._stale_after = stale_after
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._verdicts = None
        self._taken_at = None
        self._logged = None
        self._thread = threading.Thread(target=self._run, name="refresher", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()

    def reconfigure(self, settings):
        """Take new settings; the next refresh uses them."""
        with self._lock:
            self._checker.settings = settings
            self._ttl = settings.cache_ttl
            self._stale_after = settings.stale_after

    def _run(self):
        while not self._stop.is_set():
            started = self._clock()
            try:
                verdicts = self._checker.refresh()
            except Exception:  # a bug here must not kill the refresher silently (it is logged)
                LOG.exception("refreshing the verdict failed")
                verdicts = None
            if verdicts is not None:
                with self._lock:
                    self._verdicts = verdicts
                    # Aged from the start of the read: that is when the state was true.
                    self._taken_at = started
            self._stop.wait(max(0.0, self._ttl - (self._clock() - started)))

    def current(self, peer_query=False):
        with self._lock:
            if self._verdicts is None:
                verdict = Verdict(503, "stale: no verdict yet", socket.gethostname())
            else:
                age = self._clock() - self._taken_at
                verdict = self._verdicts[0 if peer_query else 1]
                if age > self._stale_after:
                    verdict = Verdict(
                        503,
                        "stale: the last verdict is %.1f s old (MariaDB or a peer hangs)" % age,
                        verdict.node,
                    )
            if not peer_query:
                self._log_change(verdict)
        return verdict

    def _log_change(self, verdict):
        # Called under the lock; a stale verdict's growing age is not a change.
        stale = verdict.message.startswith("stale")
        current = (verdict.code, "stale" if stale else verdict.message)
        if current != self._logged:
            LOG.info("%d %s", verdict.code, verdict.message)
            self._logged = current


class _Client:
    __slots__ = ("sock", "deadline", "inbox", "outbox")

    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.inbox = b""
        self.outbox = b""


class HealthServer:
    """HTTP/1.x on one selector loop: no thread per client, bounded sockets and time."""

    REASONS = {
        200: "OK",
        400: "Bad Request",
        405: "Method Not Allowed",
        408: "Request Timeout",
        431: "Request Header Fields Too Large",
        503: "Service Unavailable",
    }

    def __init__(self, settings, cache):
        self.settings = settings
        self.cache = cache
        self._selector = selectors.DefaultSelector()
        self._listeners = []
        # Ordered by accept time, so expiry and eviction always take the front.
        self._clients = collections.OrderedDict()
        self._stop = threading.Event()
        try:
            for address in settings.bind_addresses:
                self._listeners.append(self._listen(address, settings.port))
        except OSError:
            self.server_close()
            raise

    def _listen(self, address, port):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((address, port))
            # Connections beyond max_clients wait here until the kernel's queue is full.
            listener.listen(128)
            listener.setblocking(False)
            self._selector.register(listener, selectors.EVENT_READ, None)
        except OSError:
            listener.close()
            raise
        return listener

    def serve_forever(self, poll_interval=0.25, between=None):
        """Serve until shutdown(); `between` is called after every wake-up of the loop."""
        while not self._stop.is_set():
            if between is not None:
                between()
            for key, events in self._selector.select(self._wait_time(poll_interval)):
                if key.data is None:
                    self._accept(key.fileobj)
                elif events & selectors.EVENT_READ:
                    self._read(key.data)
                else:
                    self._write(key.data)
            self._expire()

    def shutdown(self):
        self._stop.set()

    def server_close(self):
        for client in list(self._clients.values()):
            self._drop(client)
        for listener in self._listeners:
            self._selector.unregister(listener)
            listener.close()
        self._listeners = []
        self._selector.close()

    def _wait_time(self, poll_interval):
        if not self._clients:
            return poll_interval
        oldest = next(iter(self._clients.values()))
        return min(poll_interval, max(0.0, oldest.deadline - time.monotonic()))

    def _accept(self, listener):
        # Accept a bounded batch so one busy listener cannot stall the loop.
        for _ in range(64):
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                # EMFILE and friends: leave the rest in the backlog and carry on.
                LOG.warning("accept failed: %s", error)
                return
            if len(self._clients) >= self.settings.max_clients:
                # The oldest connection is the likeliest idle one; a fresh check must get in.
                self._drop(next(iter(self._clients.values())))
            sock.setblocking(False)
            client = _Client(sock, time.monotonic() + self.settings.client_timeout)
            self._clients[sock.fileno()] = client
            self._selector.register(sock, selectors.EVENT_READ, client)

    def _read(self, client):
        try:
            chunk = client.sock.recv(MAX_REQUEST_BYTES + 1)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(client)
            return
        if not chunk:
            self._drop(client)
            return
        client.inbox += chunk
        head, separator, _ = client.inbox.partition(b"\r\n\r\n")
        if not separator:
            head, separator, _ = client.inbox.partition(b"\n\n")
        if separator and len(head) <= MAX_REQUEST_BYTES:
            self._respond(client, *self._answer(head))
        elif len(client.inbox) > MAX_REQUEST_BYTES:
            self._respond(client, 431, Verdict(431, "request header too large"), True, False)

    def _answer(self, head):
        """Return (status, verdict, with_body, allow) for one request head."""
        request_line = head.split(b"\n", 1)[0].strip()
        parts = request_line.split()
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            return 400, Verdict(400, "malformed request line"), True, False
        method = parts[0]
        if method not in (b"GET", b"HEAD", b"OPTIONS"):
            return 405, Verdict(405, "only GET, HEAD and OPTIONS are answered"), True, True
        target = parts[1].decode("latin-1")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
        verdict = self.cache.current(peer_query=PEER_QUERY_PARAMETER in query)
        # HAProxy's bare `option httpchk` sends OPTIONS, so it reports health like GET.
        return verdict.code, verdict, method != b"HEAD", method == b"OPTIONS"

    def _respond(self, client, status, verdict, with_body, allow):
        body = verdict.body()
        lines = [
            "HTTP/1.1 %d %s" % (status, self.REASONS.get(status, "Error")),
            "Server: galera-health",
            "Content-Type: application/json",
            "Content-Length: %d" % len(body),
            "Cache-Control: no-store",
            "Connection: close",
        ]
        if allow:
            lines.append("Allow: GET, HEAD, OPTIONS")
        client.outbox = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
        if with_body:
            client.outbox += body
        self._selector.modify(client.sock, selectors.EVENT_WRITE, client)
        self._write(client)

    def _write(self, client):
        try:
            sent = client.sock.send(client.outbox)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(client)
            return
        client.outbox = client.outbox[sent:]
        if not client.outbox:
            self._drop(client)

    def _expire(self):
        now = time.monotonic()
        while self._clients:
            client = next(iter(self._clients.values()))
            if client.deadline > now:
                return
            self._drop(client)

    def _drop(self, client):
        self._clients.pop(client.sock.fileno(), None)
        try:
            self._selector.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        client.sock.close()


class RejoinWatch:
    """Decides when a member left outside every component is restarted, once.

    Galera leaves a joiner whose incremental transfer a view change cut short running on,
    outside every component, for good (it logs "node restart required"); a member that lost
    its group connection can stay so too. Both answer queries, so nothing else restarts them.
    The watch restarts such a member when it has been so for `after` seconds in a row and a
    peer says it is Synced in the Primary component: there is a cluster to rejoin, and this
    member can reach it. A member that is only cut off (a partition, gmcast.isolate) keeps its
    connection and a non-joining state and is left alone, to come back by itself; so is one
    that does not answer (stopped, starting, receiving a full copy) or is drained for
    maintenance. After one restart the watch waits until the member has been in the Primary
    component again before it may restart it another time.
    """

    def __init__(self, after, clock=time.monotonic):
        self.after = after
        self._clock = clock
        self._outside_since = None
        self._restarted = False
        self._said = None

    @staticmethod
    def stuck(state):
        """Why this state will not mend by itself, or None; state as read_wsrep's status."""
        if state is None or state.get("wsrep_cluster_status") == "Primary":
            return None
        if _int_or_none(state.get("wsrep_local_state")) == STATE_JOINING:
            return "joining (%s) outside the Primary component" % state.get("wsrep_local_state_comment")
        if str(state.get("wsrep_connected", "")).upper() == "OFF":
            return "connected to no group (cluster status %s)" % state.get("wsrep_cluster_status")
        return None

    def observe(self, state, find_peer_in_primary):
        """Take one reading (None: no answer); return why to restart now, or None.

        find_peer_in_primary is called only when the member has been stuck long enough.
        """
        if state is not None and state.get("wsrep_cluster_status") == "Primary":
            self._restarted = False
        why = self.stuck(state)
        if why is None:
            self._outside_since = None
            self._say(None)
            return None
        now = self._clock()
        if self._outside_since is None:
            self._outside_since = now
        waited = now - self._outside_since
        if self._restarted:
            self._say("still %s after one restart; left to the operator (playbooks/recover.yml)" % why)
            return None
        if waited < self.after:
            self._say("%s: restarting it if this lasts %d s and a peer is in the Primary component" % (why, self.after))
            return None
        peer = find_peer_in_primary()
        if peer is None:
            self._say("%s, and no peer is Synced in the Primary component: left as it is" % why)
            return None
        self._restarted = True
        self._outside_since = None
        return "%s for %.0f s while %s is Synced in the Primary component" % (why, waited, peer)

    def _say(self, message):
        if message != self._said and message is not None:
            LOG.warning("%s", message)
        self._said = message


def watch_rejoin(settings, stop):
    """Read the member's state every REJOIN_INTERVAL seconds and restart it when the watch says so."""
    checker = Checker(settings)
    watch = RejoinWatch(settings.rejoin_after)
    LOG.info(
        "rejoin watch: restarts %s once when it stays outside every component for %d s",
        settings.rejoin_service,
        settings.rejoin_after,
    )
    blind = None
    while not stop.wait(REJOIN_INTERVAL):
        state, problem = None, None
        if not os.path.exists(checker.settings.maintenance_file):
            try:
                state = checker.read_wsrep()[1]
            except pymysql.MySQLError as error:
                # Not running, starting or receiving a full copy is no answer, not a problem;
                # a refused login is: the watch is blind until it is fixed.
                if not (error.args and error.args[0] in NOT_ANSWERING):
                    problem = _describe(error)
            except OSError:
                pass
        if problem != blind and problem is not None:
            LOG.error("cannot read the member's state as %s, so the watch cannot act: %s", settings.db_user, problem)
        blind = problem
        why = watch.observe(state, checker.find_usable_peer)
        if why is None:
            continue
        LOG.warning("restarting %s once: %s", settings.rejoin_service, why)
        # --no-block: a joiner's start may take minutes (a full copy); the watch keeps reading.
        result = subprocess.run(
            ["systemctl", "restart", "--no-block", settings.rejoin_service],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            LOG.error("systemctl restart %s failed: %s", settings.rejoin_service, result.stderr.strip())


def reload_settings(path, server, cache):
    """Apply the settings file to a running endpoint; return whether it was applied."""
    try:
        settings = load_settings(path)
    except (OSError, ValueError, configparser.Error) as error:
        LOG.error("reload refused, the running settings stay: invalid settings in %s: %s", path, error)
        return False
    running = server.settings
    if (settings.bind_addresses, settings.port) != (running.bind_addresses, running.port):
        LOG.error(
            "reload refused, the running settings stay: server.bind_address and server.port"
            " change only with a restart (running on %s port %d)",
            " ".join(running.bind_addresses),
            running.port,
        )
        return False
    cache.reconfigure(settings)
    server.settings = settings
    LOG.info("reloaded %s: %d peer(s), TCP probe %s", path, len(settings.peer_urls), settings.tcp_probe)
    return True


def main(argv=None):
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--config", default="/etc/galera-health/galera-health.conf", help="INI settings file")
    mode = arguments.add_mutually_exclusive_group()
    mode.add_argument("--check-config", action="store_true", help="validate the settings file and exit")
    mode.add_argument("--once", action="store_true", help="print one verdict; exit 0 if healthy, else 1")
    mode.add_argument(
        "--rejoin",
        action="store_true",
        help="run the rejoin watch (as root): restart a member left outside every component, once",
    )
    options = arguments.parse_args(argv)
    # First, so a reload sent while starting is kept for later instead of killing the process.
    reload_requested = threading.Event()
    signal.signal(signal.SIGHUP, lambda *_: reload_requested.set())
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)

    try:
        settings = load_settings(options.config)
    except (OSError, ValueError, configparser.Error) as error:
        LOG.error("invalid settings in %s: %s", options.config, error)
        return 2
    if options.check_config:
        return 0
    if options.rejoin:
        if settings.rejoin_after == 0:
            LOG.error("rejoin.after is 0 in %s: the rejoin watch is off", options.config)
            return 2
        # The watch logs in as its own OS user (root), by unix_socket as well.
        settings.db_user = settings.rejoin_user
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        watch_rejoin(settings, stop)
        return 0
    if options.once:
        verdict = Checker(settings).evaluate()
        sys.stdout.write("%d %s" % (verdict.code, verdict.body().decode("utf-8")))
        return 0 if verdict.code == 200 else 1

    cache = VerdictCache(Checker(settings), settings.cache_ttl, settings.stale_after)
    server = HealthServer(settings, cache)
    cache.start()
    LOG.info(
        "listening on %s port %d, %d peer(s), TCP probe %s",
        " ".join(settings.bind_addresses),
        settings.port,
        len(settings.peer_urls),
        settings.tcp_probe,
    )

    def reload_if_asked():
        if reload_requested.is_set():
            reload_requested.clear()
            reload_settings(options.config, server, cache)

    try:
        server.serve_forever(between=reload_if_asked)
    except KeyboardInterrupt:
        pass
    finally:
        cache.stop()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
