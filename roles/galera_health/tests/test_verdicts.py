"""Verdicts from a real one-node Galera server."""

import concurrent.futures
import http.server
import json
import os
import socket
import threading
import time

import pytest


class _SyncedPeer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # the name BaseHTTPRequestHandler calls
        self.server.hits += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):  # the base class's signature
        return


@pytest.fixture
def synced_peer():
    """A peer's health endpoint that always says Synced (a stand-in for another member)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SyncedPeer)
    server.hits = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_synced_node_answers_200(endpoint):
    body = endpoint.wait_for(200, "Synced")
    payload = json.loads(body)
    assert payload["status"] == "ok"
    assert payload["wsrep_local_state"] == 4
    assert payload["wsrep_cluster_status"] == "Primary"


def test_head_and_options_report_like_get(endpoint):
    endpoint.wait_for(200)
    status, body, _ = endpoint.get(method="HEAD")
    assert (status, body) == (200, "")
    status, body, response = endpoint.get(method="OPTIONS")
    assert status == 200 and "Synced" in body
    assert "OPTIONS" in response.getheader("Allow")


def with_peer(peer):
    return {"check": {"peers": "127.0.0.1:%d" % peer.server_address[1]}}


def test_desynced_node_answers_503_while_a_peer_is_synced(galera, endpoint_factory, synced_peer):
    endpoint = endpoint_factory(**with_peer(synced_peer))
    endpoint.wait_for(200, "Synced")
    galera.execute("SET GLOBAL wsrep_desync = ON")
    body = endpoint.wait_for(503, "Donor/Desynced; 127.0.0.1")
    assert json.loads(body)["wsrep_local_state"] == 2
    galera.execute("SET GLOBAL wsrep_desync = OFF")
    endpoint.wait_for(200, "Synced")


def test_desynced_last_node_keeps_serving(galera, endpoint):
    endpoint.wait_for(200)
    galera.execute("SET GLOBAL wsrep_desync = ON")
    endpoint.wait_for(200, "no peer is Synced")
    # A peer asking gets the local state only, so it never counts this node as usable.
    status, body, _ = endpoint.get("/?peer=1")
    assert status == 503 and "Donor/Desynced" in body


def test_peer_questions_do_not_multiply_per_request(galera, endpoint_factory, synced_peer):
    endpoint = endpoint_factory(**with_peer(synced_peer))
    galera.execute("SET GLOBAL wsrep_desync = ON")
    endpoint.wait_for(503, "Donor/Desynced; 127.0.0.1")
    hits_before, started = synced_peer.hits, time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda _: endpoint.get(timeout=2)[0], range(100)))
    elapsed = time.monotonic() - started
    assert set(codes) == {503}
    asked = synced_peer.hits - hits_before
    assert asked <= elapsed / 0.5 + 3, "%d peer questions for 100 requests in %.1f s" % (asked, elapsed)


def test_maintenance_file_drains_the_node(endpoint):
    endpoint.wait_for(200)
    with open(endpoint.maintenance_file, "w", encoding="utf-8"):
        pass
    endpoint.wait_for(503, "maintenance")
    os.remove(endpoint.maintenance_file)
    endpoint.wait_for(200)


def test_unknown_methods_and_junk_are_refused(endpoint):
    endpoint.wait_for(200)
    status, _, _ = endpoint.get(method="POST")
    assert status in (405, 501)
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=3) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        reply = sock.recv(200)
    assert reply.startswith(b"HTTP/1.") and b" 400 " in reply.split(b"\r\n")[0]


def test_unreachable_database_answers_503(endpoint_factory, tmp_path):
    endpoint = endpoint_factory(mariadb={"socket": str(tmp_path / "absent.sock")})
    body = endpoint.wait_for(503, "cannot connect")
    assert json.loads(body)["status"] == "unavailable"
