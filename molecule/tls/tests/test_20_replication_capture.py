"""Galera replication between members is encrypted: a row written during a capture on the
replication port never shows up there in plain text."""

import uuid

import lab
from tlslab import TLS_APPLICATION_DATA, Capture


def test_replication_port_carries_no_plaintext(nodes):
    watcher, writer = nodes[0], nodes[1]
    marker = f"tls-replication-marker-{uuid.uuid4().hex}"
    with Capture(watcher, lab.PORTS["galera_replication"]) as capture:
        capture.wait_for_traffic()
        lab.sql(writer, f"INSERT INTO products (name, price, stock) VALUES ('{marker}', 1.00, 1)", lab.DATABASE)
        lab.wait_for(
            lambda: (
                lab.sql(
                    watcher,
                    f"SET SESSION wsrep_sync_wait=1; SELECT COUNT(*) FROM products WHERE name = '{marker}'",
                    lab.DATABASE,
                )
                == [["1"]]
            ),
            30,
            f"the row to reach {watcher}",
        )
    data = capture.data()
    # Not vacuous: the write set crossed the wire during the capture, as TLS records.
    assert len(data) > 1000, f"the capture is nearly empty ({len(data)} bytes)"
    assert TLS_APPLICATION_DATA in data, "no TLS application data on the replication port"
    assert marker.encode() not in data, "the marker crossed the replication port in plain text"
