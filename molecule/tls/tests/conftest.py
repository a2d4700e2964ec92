"""Fixtures of the TLS scenario. A private lab (no published ports) sets BEAUTY_TEST_INVENTORY,
BEAUTY_TEST_CREDENTIALS, BEAUTY_TEST_APP_URL and BEAUTY_TEST_STATS_URL."""

import os

import pytest

import lab


@pytest.fixture(scope="session")
def proxy(inv):
    """(container, address) of the HAProxy host clients dial."""
    name = inv["groups"]["haproxy"][0]
    return name, inv["hostvars"][name]["lab_ipv4"]


@pytest.fixture(scope="session")
def app_host(inv):
    return inv["groups"]["demo_app"][0]


@pytest.fixture(scope="session")
def stats_url(proxy):
    """With TLS on the stats page is HTTPS, on the address its certificate names."""
    return os.environ.get("BEAUTY_TEST_STATS_URL", f"https://{proxy[1]}:{lab.PORTS['stats']}/stats")


@pytest.fixture(scope="session")
def ca_file():
    return str(lab.credentials_dir() / "tls" / "ca.pem")


@pytest.fixture(autouse=True)
def cluster_healthy_before_each_test(nodes):
    """Every test starts from a whole cluster, so one test's fault never leaks into the next."""
    lab.wait_for(lambda: all(lab.is_synced(n) for n in nodes), 180, "every node Synced before the test")
