"""Issue 3: HAProxy balances only over members that are Synced and Primary."""

import re
import time

import requests

import lab

BADGE = re.compile(r'id="current-node-name">([^<]+)<')


def served_by(app_url, loads):
    names = []
    for _ in range(loads):
        page = requests.get(app_url + "/", timeout=5)
        assert page.status_code == 200
        names.append(BADGE.search(page.text).group(1))
    return names


def test_stats_page_requires_the_password(stats_url, stats_password):
    assert requests.get(stats_url, timeout=3).status_code == 401
    assert requests.get(stats_url, auth=(lab.STATS_USER, "admin123"), timeout=3).status_code == 401
    assert requests.get(stats_url, auth=(lab.STATS_USER, stats_password), timeout=3).status_code == 200


def test_every_backend_is_up(stats_url, stats_password, node_names):
    servers = lab.haproxy_servers(stats_url, stats_password)
    assert {name: servers.get(name) for name in node_names.values()} == {name: "UP" for name in node_names.values()}


def test_node_in_maintenance_is_drained(nodes, node_names, app_url, stats_url, stats_password):
    node, name = nodes[0], node_names[nodes[0]]
    lab.docker_exec(node, "touch", lab.MAINTENANCE_FILE)
    try:
        lab.wait_for(lambda: lab.haproxy_is_down(stats_url, stats_password, name), 10, f"HAProxy to drain {name}")
        assert name not in served_by(app_url, 12)
    finally:
        lab.docker_exec(node, "rm", "-f", lab.MAINTENANCE_FILE)
    lab.wait_for(lambda: lab.haproxy_servers(stats_url, stats_password)[name] == "UP", 10, f"{name} back UP")


def test_non_primary_node_stops_receiving_traffic(nodes, node_names, app_url, stats_url, stats_password):
    node, name = nodes[-1], node_names[nodes[-1]]
    # gmcast.isolate cuts the member off from its peers: it drops to a non-Primary component.
    lab.sql(node, "SET GLOBAL wsrep_provider_options='gmcast.isolate=1'")
    try:
        lab.wait_for(lambda: lab.wsrep(node).get("wsrep_cluster_status") == "non-Primary", 30, f"{node} non-Primary")
        started = time.monotonic()
        lab.wait_for(lambda: lab.haproxy_is_down(stats_url, stats_password, name), 10, f"HAProxy to mark {name} down")
        assert time.monotonic() - started <= 3.5
        assert name not in served_by(app_url, 12)
    finally:
        lab.sql(node, "SET GLOBAL wsrep_provider_options='gmcast.isolate=0'")
    lab.wait_for(lambda: lab.is_synced(node), 120, f"{node} to rejoin")
    lab.wait_for(lambda: lab.haproxy_servers(stats_url, stats_password)[name] == "UP", 10, f"{name} back UP")
