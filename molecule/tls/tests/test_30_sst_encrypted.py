"""A full state transfer (mariabackup) runs over TLS: forced on one member, captured on its
SST port, with the SST script reporting the certificate it used."""

import time
import uuid

import lab
from tlslab import TLS_APPLICATION_DATA, Capture

SST_PORT = lab.PORTS["galera_sst"]


def test_forced_sst_is_encrypted(nodes):
    joiner, donor_side = nodes[-1], nodes[0]
    marker = f"tls-sst-marker-{uuid.uuid4().hex}"
    lab.sql(donor_side, f"INSERT INTO products (name, price, stock) VALUES ('{marker}', 1.00, 1)", lab.DATABASE)
    lab.wait_for(
        lambda: (
            lab.sql(
                joiner,
                f"SET SESSION wsrep_sync_wait=1; SELECT COUNT(*) FROM products WHERE name = '{marker}'",
                lab.DATABASE,
            )
            == [["1"]]
        ),
        30,
        "the marker on the joiner",
    )

    since = lab.docker_exec(joiner, "date", "+%s").stdout.strip()
    with Capture(joiner, SST_PORT) as capture:
        lab.docker_exec(joiner, "systemctl", "stop", "mariadb", timeout=300)
        # Without grastate.dat the member has no position: it must take a full copy (SST).
        lab.docker_exec(joiner, "rm", "-f", "/var/lib/mysql/grastate.dat")
        started = time.monotonic()
        lab.docker_exec(joiner, "systemctl", "start", "mariadb", timeout=900)
        lab.wait_for(lambda: lab.is_synced(joiner), 600, f"{joiner} Synced after the SST")
        sst_seconds = time.monotonic() - started
    data = capture.data()
    journal = lab.docker_exec(joiner, "journalctl", "--no-pager", "-o", "cat", f"--since=@{since}", timeout=120).stdout

    print(f"SST to {joiner}: {sst_seconds:.1f} s, {len(data)} bytes captured on port {SST_PORT}")
    assert "WSREP_SST" in journal and "mariabackup" in journal, "no mariabackup SST in the joiner's journal"
    assert "with cert=" in journal, "the SST script did not report TLS (with cert=...)"
    assert len(data) > 1_000_000, f"the capture holds no state transfer ({len(data)} bytes)"
    assert TLS_APPLICATION_DATA in data
    assert marker.encode() not in data, "table data crossed the SST port in plain text"
    assert lab.sql(joiner, f"SELECT COUNT(*) FROM products WHERE name = '{marker}'", lab.DATABASE) == [["1"]]
