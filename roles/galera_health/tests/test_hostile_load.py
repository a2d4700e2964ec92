"""Hostile load: held sockets and request floods change neither the verdict nor the logins."""

import concurrent.futures
import socket
import time

from conftest import wait_until

HELD = 60
RAPID = 200
PARALLEL = 20


def hold_connections(port, count):
    """Open count connections; every other one sends half a request header and stalls."""
    held = []
    for number in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=3)
        if number % 2:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        held.append(sock)
    return held


def timed_get(endpoint):
    started = time.monotonic()
    try:
        status, body, _ = endpoint.get(timeout=2)
    except OSError as error:
        return None, repr(error), time.monotonic() - started
    return status, body, time.monotonic() - started


def thread_count(pid):
    with open("/proc/%d/status" % pid, encoding="ascii") as handle:
        for line in handle:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads line for %d" % pid)


def test_flood_neither_multiplies_logins_nor_starves_a_fresh_check(galera, endpoint):
    endpoint.wait_for(200, "Synced")
    # One long-lived session measures, so the measuring adds nothing to Connections.
    meter = galera.root()
    try:
        before = int(galera.status("Connections", meter))
        started = time.monotonic()
        held = hold_connections(endpoint.port, HELD)
        try:
            with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
                answers = list(pool.map(lambda _: timed_get(endpoint), range(RAPID)))
            fresh = timed_get(endpoint)
        finally:
            for sock in held:
                sock.close()
        elapsed = time.monotonic() - started
        logins = int(galera.status("Connections", meter)) - before
    finally:
        meter.close()

    wrong = [answer for answer in answers if answer[0] != 200]
    assert not wrong, "%d of %d flood answers were not 200, e.g. %s" % (len(wrong), RAPID, wrong[:3])
    assert fresh[0] == 200 and "Synced" in fresh[1], fresh
    assert fresh[2] < 1.0, "a fresh check took %.2f s" % fresh[2]
    # One login per cache_ttl (0.5 s), plus slack for the refresh under way at each end.
    assert logins <= elapsed / 0.5 + 3, "%d logins in %.1f s" % (logins, elapsed)


def test_held_connections_cost_no_threads(endpoint):
    endpoint.wait_for(200)
    baseline = thread_count(endpoint.process.pid)
    held = hold_connections(endpoint.port, HELD)
    try:
        status, _, elapsed = timed_get(endpoint)
        assert status == 200 and elapsed < 1.0
        assert thread_count(endpoint.process.pid) <= baseline + 2
    finally:
        for sock in held:
            sock.close()


def test_more_held_connections_than_the_cap_still_let_a_check_in(endpoint_factory):
    endpoint = endpoint_factory(server={"max_clients": "16", "client_timeout": "5"})
    endpoint.wait_for(200)
    held = hold_connections(endpoint.port, HELD)
    try:
        status, body, elapsed = timed_get(endpoint)
        assert status == 200 and "Synced" in body and elapsed < 1.0, (status, body, elapsed)
    finally:
        for sock in held:
            sock.close()


def test_half_sent_request_is_dropped_quickly(endpoint):
    endpoint.wait_for(200)
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n")
        started = time.monotonic()
        leftover = sock.recv(100)
        waited = time.monotonic() - started
    assert leftover == b"" or b" 408 " in leftover
    assert waited < 2.5, "a stalled client was kept %.1f s" % waited


def test_oversized_header_is_refused(endpoint):
    endpoint.wait_for(200)
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nX-Filler: " + b"a" * 70000 + b"\r\n\r\n")
        reply = sock.recv(200)
    assert reply.split(b"\r\n")[0].split()[1] in (b"431", b"400"), reply[:80]


def test_hung_database_turns_the_verdict_stale(galera, endpoint_factory):
    # The DB timeout outlasts the staleness bound, so only the cache's age can say 503.
    endpoint = endpoint_factory(mariadb={"timeout": "8"}, check={"stale_after": "1.5"})
    endpoint.wait_for(200, "Synced")
    galera.pause()
    try:
        endpoint.wait_for(503, "stale", timeout=6)
        status, body, elapsed = timed_get(endpoint)
        assert status == 503 and "stale" in body and elapsed < 1.0, (status, body, elapsed)
    finally:
        galera.resume()
    endpoint.wait_for(200, "Synced", timeout=20)
    assert wait_until(lambda: timed_get(endpoint)[0] == 200, 5, "a steady 200")
