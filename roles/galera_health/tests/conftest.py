"""Fixtures: a real single-node Galera server in a temp dir, and galera_health processes.

GALERA_HEALTH_SCRIPT points the tests at another copy of the endpoint (for example the
previous release) to see which tests it fails. Every network address used is 127.0.0.1.
"""

import configparser
import http.client
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pymysql
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.environ.get("GALERA_HEALTH_SCRIPT", os.path.join(HERE, os.pardir, "files", "galera_health.py"))
GALERA_PROVIDER = "/usr/lib/galera/libgalera_smm.so"
HEALTH_USER = "clustercheck"
STARTUP_TIMEOUT = 90


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.05):
    """Poll predicate until it returns something truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def endpoint_python():
    """The deployed interpreter (/usr/bin/python3 + Debian's PyMySQL) when it has PyMySQL."""
    system = "/usr/bin/python3"
    if os.path.exists(system):
        probe = subprocess.run([system, "-c", "import pymysql"], capture_output=True, check=False)
        if probe.returncode == 0:
            return system
    return sys.executable


def load_module():
    spec = importlib.util.spec_from_file_location("galera_health_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class GaleraNode:
    """A throwaway mariadbd with wsrep on, bootstrapped as a one-node Primary component."""

    def __init__(self):
        if not (shutil.which("mariadbd") or os.path.exists("/usr/sbin/mariadbd")):
            pytest.fail("mariadbd is not installed (apt-get install mariadb-server)")
        if not os.path.exists(GALERA_PROVIDER):
            pytest.fail("galera-4 is not installed (%s; apt-get install galera-4)" % GALERA_PROVIDER)
        self.base = tempfile.mkdtemp(prefix="galera-health-test-")
        self.datadir = os.path.join(self.base, "data")
        self.socket = os.path.join(self.base, "mysqld.sock")
        self.log = os.path.join(self.base, "error.log")
        self.port = free_port()
        self.process = None
        self.user = pwd.getpwuid(os.geteuid()).pw_name

    def start(self):
        install = subprocess.run(
            [
                shutil.which("mariadb-install-db") or "mariadb-install-db",
                "--no-defaults",
                "--datadir=" + self.datadir,
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=" + self.user,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0:
            raise RuntimeError("mariadb-install-db failed:\n%s\n%s" % (install.stdout, install.stderr))
        group_port = free_port()
        self.process = subprocess.Popen(
            [
                shutil.which("mariadbd") or "/usr/sbin/mariadbd",
                "--no-defaults",
                "--datadir=" + self.datadir,
                "--socket=" + self.socket,
                "--port=%d" % self.port,
                "--bind-address=127.0.0.1",
                "--user=" + self.user,
                "--log-error=" + self.log,
                "--pid-file=" + os.path.join(self.base, "mysqld.pid"),
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
                "--binlog-format=ROW",
                "--innodb-autoinc-lock-mode=2",
                "--wsrep-on=ON",
                "--wsrep-provider=" + GALERA_PROVIDER,
                # An empty gcomm:// address bootstraps a new one-node cluster.
                "--wsrep-cluster-address=gcomm://",
                "--wsrep-node-name=health-test",
                "--wsrep-node-address=127.0.0.1",
                "--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:%d;"
                "base_host=127.0.0.1;gcache.size=16M" % group_port,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._synced, STARTUP_TIMEOUT, "the Galera node to be Synced", 0.2)
        with self.root() as conn, conn.cursor() as cur:
            # Like the role's account: USAGE only and at most 10 sessions, but a
            # passwordless native login since the tests cannot run as that OS user.
            cur.execute(
                "CREATE USER %s@'localhost' IDENTIFIED BY '' WITH MAX_USER_CONNECTIONS 10",
                (HEALTH_USER,),
            )

    def _synced(self):
        if self.process.poll() is not None:
            with open(self.log, encoding="utf-8", errors="replace") as handle:
                raise RuntimeError("mariadbd exited with %s:\n%s" % (self.process.returncode, handle.read()[-3000:]))
        try:
            return self.status("wsrep_local_state_comment") == "Synced"
        except pymysql.MySQLError:
            return False

    def root(self):
        return pymysql.connect(
            unix_socket=self.socket, user="root", autocommit=True, connect_timeout=2, read_timeout=10
        )

    def status(self, name, conn=None):
        own = conn is None
        conn = conn or self.root()
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
                row = cur.fetchone()
        finally:
            if own:
                conn.close()
        return row[1] if row else None

    def execute(self, statement, params=None):
        with self.root() as conn, conn.cursor() as cur:
            cur.execute(statement, params)

    def pause(self):
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def galera():
    node = GaleraNode()
    try:
        node.start()
        yield node
    finally:
        node.stop()


@pytest.fixture(autouse=True)
def _galera_left_synced(request):
    """Each test that uses the server finds it Synced and leaves it so."""
    if "galera" not in request.fixturenames:
        yield
        return
    node = request.getfixturevalue("galera")
    yield
    node.resume()
    node.execute("SET GLOBAL wsrep_desync = OFF")
    wait_until(node._synced, 30, "the Galera node to be Synced again", 0.1)


class Endpoint:
    """One galera_health process, its settings and an HTTP helper."""

    def __init__(self, directory, settings):
        self.port = free_port()
        self.config = os.path.join(directory, "galera-health.conf")
        self.maintenance_file = os.path.join(directory, "maintenance")
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_dict(
            {
                "server": {"bind_address": "127.0.0.1", "port": str(self.port)},
                "check": {"maintenance_file": self.maintenance_file},
            }
        )
        parser.read_dict(settings)
        with open(self.config, "w", encoding="utf-8") as handle:
            parser.write(handle)
        self.log = open(os.path.join(directory, "endpoint.log"), "w+", encoding="utf-8")
        self.process = subprocess.Popen(
            [endpoint_python(), SCRIPT, "--config", self.config],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._listening, 10, "galera_health to listen")

    def _listening(self):
        if self.process.poll() is not None:
            self.log.seek(0)
            raise RuntimeError("galera_health exited: %s" % self.log.read())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def get(self, path="/", method="GET", timeout=2.0):
        """Return (status, body) of one request."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path)
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace"), response
        finally:
            conn.close()

    def wait_for(self, status, contains="", timeout=10):
        """Wait until a request answers status with `contains` in its body; return the body."""
        seen = []

        def matches():
            try:
                code, body, _ = self.get()
            except OSError as error:
                seen[:] = [repr(error)]
                return False
            seen[:] = [code, body]
            return code == status and contains in body and body

        try:
            return wait_until(matches, timeout, "%d %r" % (status, contains))
        except AssertionError as error:
            raise AssertionError("%s; last answer: %s" % (error, seen)) from None

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture
def endpoint_factory(tmp_path, galera):
    started = []

    def start(**sections):
        settings = {
            "mariadb": {"socket": galera.socket, "user": HEALTH_USER},
        }
        for section, values in sections.items():
            settings.setdefault(section, {}).update(values)
        directory = tmp_path / ("endpoint%d" % len(started))
        directory.mkdir()
        endpoint = Endpoint(str(directory), settings)
        started.append(endpoint)
        return endpoint

    yield start
    for endpoint in started:
        endpoint.stop()


@pytest.fixture
def endpoint(endpoint_factory):
    return endpoint_factory()
