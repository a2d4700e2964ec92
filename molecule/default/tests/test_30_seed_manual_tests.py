"""The seed README's three manual tests, automated (Test 1, 2 and 3 of 'Testing')."""

import threading
import time
import uuid

import requests

import lab
from test_20_haproxy import served_by


def add_product(app_url, name, price="150000", stock=7):
    resp = requests.post(f"{app_url}/api/products", json={"name": name, "price": price, "stock": stock}, timeout=10)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_1_load_balancing_rotates_over_all_nodes(app_url, node_names):
    # HAProxy balances per connection and the app pools them: a member that was out (the
    # test before this one isolates node3) gets its share back as the pools probe for it,
    # within seconds of traffic. Refresh as the seed's user would, until every node served.
    seen, started = [], time.monotonic()
    while set(seen) != set(node_names.values()) and len(seen) < 300 and time.monotonic() - started < 20:
        seen += served_by(app_url, 10)
    assert set(seen) == set(node_names.values()), f"after {len(seen)} page loads only {sorted(set(seen))}"
    print(f"every node served within {len(seen)} page loads ({time.monotonic() - started:.1f} s)")


def test_2_high_availability_when_node2_stops(nodes, node_names, app_url, stats_url, stats_password):
    node2, name2 = nodes[1], node_names[nodes[1]]
    add_product(app_url, f"ha-before-{uuid.uuid4().hex[:8]}")

    errors, written, stop = [], [], threading.Event()

    def client():
        while not stop.is_set():
            name = f"ha-during-{uuid.uuid4().hex[:8]}"
            try:
                listing = requests.get(app_url + "/", timeout=5)
                created = requests.post(
                    f"{app_url}/api/products", json={"name": name, "price": "1000", "stock": 1}, timeout=10
                )
                if listing.status_code >= 500 or created.status_code >= 500:
                    errors.append((listing.status_code, created.status_code, time.monotonic()))
                elif created.status_code == 201:
                    written.append(name)
            except requests.RequestException as exc:
                errors.append((str(exc), time.monotonic()))
            time.sleep(0.05)  # pacing of the client, not a wait for a condition

    worker = threading.Thread(target=client, daemon=True)
    worker.start()
    try:
        lab.docker_exec(node2, "systemctl", "stop", "mariadb", timeout=120)
        stopped = time.monotonic()
        lab.wait_for(lambda: lab.haproxy_is_down(stats_url, stats_password, name2), 10, f"HAProxy to mark {name2} down")
        marked_down_after = time.monotonic() - stopped
        lab.wait_for(lambda: len(written) >= 20, 60, "the app to keep accepting writes with node2 down")
        lab.docker_exec(node2, "systemctl", "start", "mariadb", timeout=300)
        lab.wait_for(lambda: lab.is_synced(node2), 180, f"{node2} to rejoin Synced")
    finally:
        stop.set()
        worker.join(15)
    assert marked_down_after <= 3.0, f"HAProxy took {marked_down_after:.1f} s to mark {name2} down"
    assert errors == [], f"the app answered 5xx or failed while {node2} was down: {errors[:5]}"
    have = {r[0] for r in lab.sql(node2, "SELECT name FROM products WHERE name LIKE 'ha-during-%'", lab.DATABASE)}
    assert set(written) <= have, f"{node2} lacks rows written while it was down: {set(written) - have}"


def test_3_product_added_through_the_app_is_on_every_node(nodes, app_url):
    name = f"replicated-{uuid.uuid4().hex[:8]}"
    add_product(app_url, name)
    for node in nodes:
        # The seed's command: mysql beauty -e "SELECT * FROM products;" on every node.
        out = lab.docker_exec(
            node, "mysql", lab.DATABASE, "-e", "SET SESSION wsrep_sync_wait=1; SELECT * FROM products;"
        ).stdout
        assert name in out, node
