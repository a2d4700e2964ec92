"""Helpers of the TLS tests: database logins from this machine, and packet captures in a node."""

from __future__ import annotations

import datetime
import subprocess
import uuid
from pathlib import Path

import MySQLdb

import lab

# Could not reach the server at all: a refusal must be something else.
CONNECT_FAILED = {2002, 2003, 2005}


def login(host: str, port: int, user: str, password: str, ca: str | None):
    """A session through HAProxy from this machine; with ca, TLS that must verify against it."""
    extra = {"ssl": {"ca": ca}, "ssl_mode": "REQUIRED"} if ca else {"ssl_mode": "DISABLED"}
    return MySQLdb.connect(host=host, port=port, user=user, password=password, connect_timeout=5, **extra)


def session_cipher(conn) -> str:
    cur = conn.cursor()
    cur.execute("SHOW SESSION STATUS LIKE 'Ssl\\_cipher'")
    row = cur.fetchone()
    cur.close()
    return row[1] if row else ""


def refusal_code(host: str, port: int, user: str, password: str, ca: str | None) -> int:
    """The error code of a login that must fail; fails the test if the login succeeds."""
    try:
        conn = login(host, port, user, password, ca)
    except MySQLdb.OperationalError as exc:
        code = exc.args[0]
        assert code not in CONNECT_FAILED, f"the server was not reached: {exc}"
        return code
    conn.close()
    raise AssertionError(f"{user} logged in (ca={ca}) but should have been refused")


def foreign_ca(directory: Path) -> str:
    """A self-signed CA that signed none of the lab's certificates."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Not the lab CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = directory / "foreign-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


class Capture:
    """tcpdump inside one lab container, on one TCP port, into a file read back as bytes."""

    def __init__(self, container: str, port: int):
        self.container = container
        self.port = port
        tag = uuid.uuid4().hex[:8]
        self.file = f"/tmp/capture-{port}-{tag}.pcap"
        self.pidfile = f"/tmp/capture-{port}-{tag}.pid"

    def __enter__(self):
        lab.docker_exec(
            self.container,
            "sh",
            "-c",
            "command -v tcpdump >/dev/null"
            " || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcpdump)",
            timeout=600,
        )
        subprocess.run(
            [
                "docker",
                "exec",
                "-d",
                self.container,
                "sh",
                "-c",
                f"echo $$ > {self.pidfile};"
                f" exec tcpdump -i any --immediate-mode -U -s 0 -w {self.file} tcp port {self.port}",
            ],
            check=True,
            timeout=30,
        )
        # tcpdump writes the file header once it is capturing.
        lab.wait_for(
            lambda: lab.docker_exec(self.container, "test", "-s", self.file, check=False).returncode == 0,
            30,
            f"tcpdump to start on {self.container}:{self.port}",
        )
        return self

    def wait_for_traffic(self, timeout: float = 30):
        """Until the capture holds a packet (Galera's keepalives arrive every second)."""
        lab.wait_for(
            lambda: int(lab.docker_exec(self.container, "stat", "-c", "%s", self.file).stdout) > 24,
            timeout,
            f"a first packet on {self.container}:{self.port}",
        )

    def stop(self):
        pid = lab.docker_exec(self.container, "cat", self.pidfile).stdout.strip()
        lab.docker_exec(self.container, "kill", "-INT", pid, check=False)
        lab.wait_for(
            lambda: lab.docker_exec(self.container, "kill", "-0", pid, check=False).returncode != 0,
            30,
            "tcpdump to stop",
        )

    def __exit__(self, *exc):
        self.stop()

    def data(self) -> bytes:
        return subprocess.run(
            ["docker", "exec", self.container, "cat", self.file], check=True, capture_output=True, timeout=120
        ).stdout


# A TLS 1.2/1.3 application-data record header: what encrypted payload looks like on the wire.
TLS_APPLICATION_DATA = b"\x17\x03\x03"
