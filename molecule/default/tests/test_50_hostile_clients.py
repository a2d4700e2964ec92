"""Hostile clients of the database port and the health endpoints: none of them takes the
app or a member down. All traffic goes to this machine's loopback and the lab's containers;
every flood is bounded in count and time.

Cost: about 40 s (the idle flood waits for MariaDB's connect_timeout of 5 s to drop it).
"""

import os
import re
import socket
import subprocess
import threading
import time
import uuid

import MySQLdb
import pytest
import requests

import lab

FRONTEND = ("127.0.0.1", lab.PORTS["frontend"])
IDLE_FLOOD = 400
FAILED_LOGINS = 200
HEALTH_FLOOD = 60


class AppProbe:
    """Asks the app for its product list in a loop (bounded), recording every failure."""

    def __init__(self, app_url, limit_seconds=120):
        self.app_url, self.limit = app_url, limit_seconds
        self.ok, self.failures = 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        deadline = time.monotonic() + self.limit
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                resp = requests.get(f"{self.app_url}/api/products", timeout=10)
                if resp.status_code == 200:
                    self.ok += 1
                else:
                    self.failures.append((resp.status_code, resp.text[:200]))
            except requests.RequestException as exc:
                self.failures.append(repr(exc))
            self._stop.wait(0.1)  # pacing of the probe, not a wait for a condition

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(15)


def _open_idle(count, address):
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(address, timeout=5)
        sockets.append(sock)
    return sockets


def _server_closed(sock):
    """True once the far end has closed (MariaDB's connect_timeout), read without blocking long."""
    sock.settimeout(0.01)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except (TimeoutError, BlockingIOError):
        return False
    except OSError:
        return True


def _flush_hosts(nodes):
    for node in nodes:
        lab.sql(node, "FLUSH HOSTS")


@pytest.fixture
def forgive_this_machine(nodes):
    """The floods below come from this machine, whose address the members then rightly block
    (error 1129); later tests log in from here, so the members forget it afterwards."""
    yield
    _flush_hosts(nodes)


def test_idle_connection_flood_does_not_lock_the_app_out(app_url, nodes, forgive_this_machine):
    with AppProbe(app_url) as probe:
        lab.wait_for(lambda: probe.ok >= 3, 30, "the app to answer before the flood")
        sockets = _open_idle(IDLE_FLOOD, FRONTEND)
        try:
            # Every member drops a client that never logs in after connect_timeout; wait for that.
            lab.wait_for(
                lambda: all(_server_closed(s) for s in sockets), 60, "the members to drop every idle connection"
            )
        finally:
            for sock in sockets:
                sock.close()
        ok_before = probe.ok
        lab.wait_for(lambda: probe.ok >= ok_before + 10, 30, "the app to keep answering after the flood")
    assert not probe.failures, f"the app failed {len(probe.failures)} requests: {probe.failures[:5]}"
    # Nobody ran FLUSH HOSTS: the app's own sessions still log in on every member.
    for node in nodes:
        lab.docker_exec(node, "mariadb", "-e", "SELECT 1")
    resp = requests.get(f"{app_url}/healthz", timeout=10)
    assert resp.status_code == 200, resp.text


def test_failed_logins_do_not_lock_the_app_out(app_url, forgive_this_machine):
    with AppProbe(app_url) as probe:
        refused = 0
        for _ in range(FAILED_LOGINS):
            try:
                MySQLdb.connect(
                    host=FRONTEND[0],
                    port=FRONTEND[1],
                    user=lab.APP_USER,
                    password="wrong-" + uuid.uuid4().hex,
                    connect_timeout=5,
                ).close()
            except MySQLdb.OperationalError as exc:
                assert exc.args[0] in (1045, 1129), exc
                refused += 1
        ok_before = probe.ok
        lab.wait_for(lambda: probe.ok >= ok_before + 5, 30, "the app to answer after the failed logins")
    assert refused == FAILED_LOGINS
    assert not probe.failures, f"the app failed {len(probe.failures)} requests: {probe.failures[:5]}"


def _login_from(container, inv, user, secret, *client_args):
    """The mariadb client in a lab container, through HAProxy's frontend, as `user`.

    -e MYSQL_PWD without a value: docker passes this process's variable, so no password
    appears in any process list.
    """
    proxy_address = inv["hostvars"][inv["groups"]["haproxy"][0]]["lab_ipv4"]
    return subprocess.run(
        [
            "docker",
            "exec",
            "-e",
            "MYSQL_PWD",
            container,
            "mariadb",
            "-h",
            proxy_address,
            "-P",
            str(FRONTEND[1]),
            "-u",
            user,
            *client_args,
        ],
        env=dict(os.environ, MYSQL_PWD=lab.credential(secret)),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_members_see_each_clients_own_address(nodes, inv):
    """PROXY protocol: a session through HAProxy is the app host's, not HAProxy's."""
    app_host = inv["groups"]["demo_app"][0]
    app_address = inv["hostvars"][app_host]["lab_ipv4"]
    result = _login_from(app_host, inv, lab.APP_USER, "db_app", "--batch", "--skip-column-names", "-e", "SELECT USER()")
    assert result.returncode == 0, result.stderr
    out = result.stdout.strip()
    assert out == f"{lab.APP_USER}@{app_address}", out


def test_admin_login_from_a_non_admin_host_is_refused(inv):
    app_host = inv["groups"]["demo_app"][0]
    result = _login_from(app_host, inv, lab.ADMIN_USER, "db_admin", "-e", "SELECT 1")
    assert result.returncode != 0
    # No account matches beauty_admin@<app host>, so MariaDB fails the login against a randomly
    # chosen existing account, so as not to reveal which users exist: 1045 when that account
    # takes a password, 1698 when it is unix_socket (root, mysql, prometheus). Both are refusals.
    assert re.search(rf"^ERROR (1045|1698) \(28000\): Access denied for user '{lab.ADMIN_USER}'@", result.stderr), (
        result.stderr
    )
    # The operator's own machine (controller_addresses) still gets in.
    conn = MySQLdb.connect(
        host=FRONTEND[0], port=FRONTEND[1], user=lab.ADMIN_USER, password=lab.credential("db_admin"), connect_timeout=5
    )
    conn.close()


def test_no_password_less_check_account_is_left(nodes):
    assert lab.sql(nodes[0], "SELECT COUNT(*) FROM mysql.user WHERE User = 'haproxy_check'") == [["0"]]


def _hammer(address, stop, limit_seconds=20):
    deadline = time.monotonic() + limit_seconds
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            requests.get(f"http://{address[0]}:{address[1]}/", timeout=2)
        except requests.RequestException:
            pass  # a refused or dropped flood request is the endpoint defending itself


def test_health_endpoint_flood_ejects_no_member(app_url, nodes, inv, node_names, stats_url, stats_password):
    target = nodes[0]
    address = (inv["hostvars"][target]["lab_ipv4"], lab.PORTS["health"])
    with AppProbe(app_url) as probe:
        held, hammer, stop = [], [], threading.Event()
        try:
            for index in range(HEALTH_FLOOD):
                sock = socket.create_connection(address, timeout=5)
                if index % 2:
                    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # half a header, never finished
                held.append(sock)
            # Beside the held sockets, many complete requests at once (each used to cost a login).
            hammer = [
                threading.Thread(target=_hammer, args=(address, stop), daemon=True) for _ in range(HEALTH_FLOOD // 2)
            ]
            for thread in hammer:
                thread.start()
            # Five check intervals with the flood on: HAProxy must keep every member UP.
            seen = []
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                seen.append(lab.haproxy_servers(stats_url, stats_password))
                time.sleep(0.5)  # sampling interval of HAProxy's view, not a wait for a condition
            fresh = requests.get(f"http://{address[0]}:{address[1]}/", timeout=2)
        finally:
            stop.set()
            for sock in held:
                sock.close()
        for thread in hammer:
            thread.join(10)
    down = [view for view in seen if any(view.get(name) != "UP" for name in node_names.values())]
    assert not down, f"HAProxy saw a member not UP during the flood: {down[:3]}"
    assert fresh.status_code == 200, fresh.text
    assert not probe.failures, f"the app failed {len(probe.failures)} requests: {probe.failures[:5]}"


def test_stalled_clients_do_not_stop_the_app(app_url):
    """Clients that send half a request and wait: nginx holds them, gunicorn never sees them."""
    host, port = app_url.split("//", 1)[1].split(":")
    stalled = []
    try:
        for _ in range(40):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: beauty\r\nX-Slow: ")
            stalled.append(sock)
        for _ in range(5):
            started = time.monotonic()
            resp = requests.get(f"{app_url}/api/products", timeout=5)
            assert resp.status_code == 200, resp.text[:200]
            assert time.monotonic() - started < 2
    finally:
        for sock in stalled:
            sock.close()


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "x", "price": 1, "stock": 1e1000000}',
        b'{"name": "x", "price": 1e1000000, "stock": 1}',
        b'{"name": "x", "price": 1, "stock": "' + b"9" * 5000 + b'"}',
        b'{"name": "\\ud800", "price": 1, "stock": 1}',
    ],
    ids=["stock-1e1000000", "price-1e1000000", "stock-5000-digits", "lone-surrogate"],
)
def test_hostile_bodies_get_a_quick_4xx_from_the_deployed_app(app_url, body):
    started = time.monotonic()
    resp = requests.post(f"{app_url}/api/products", data=body, headers={"Content-Type": "application/json"}, timeout=10)
    took = time.monotonic() - started
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:200])
    assert took < 1, f"{took:.2f} s"
    assert requests.get(f"{app_url}/healthz", timeout=5).status_code == 200


def test_a_body_over_the_limit_is_refused(app_url):
    resp = requests.post(
        f"{app_url}/api/products",
        data=b"{" + b" " * 200_000 + b"}",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 413


def test_each_user_reads_their_own_writes(app_url):
    """POST, then GET at once on a new connection (HAProxy may pick another member): 200 pairs."""
    session = requests.Session()
    missing = []
    for index in range(200):
        name = f"ryw-{uuid.uuid4().hex[:10]}"
        created = session.post(
            f"{app_url}/api/products", json={"name": name, "price": "1.00", "stock": index}, timeout=10
        )
        assert created.status_code == 201, created.text[:200]
        location = created.headers["Location"]
        url = location if location.startswith("http") else app_url + location
        read = session.get(url, timeout=10, headers={"Connection": "close"})
        if read.status_code != 200 or read.json().get("name") != name:
            missing.append((index, read.status_code))
    assert not missing, f"{len(missing)} of 200 reads missed the write just made: {missing[:5]}"
