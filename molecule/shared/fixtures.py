"""pytest fixtures every scenario uses; each scenario's conftest imports them by name.

The lab comes from the inventory (BEAUTY_TEST_INVENTORY), so the same tests run against
the shared lab or a private copy; the URLs can be pointed at a private lab too.
"""

import os

import pytest

import lab


@pytest.fixture(scope="session")
def inv():
    return lab.inventory()


@pytest.fixture(scope="session")
def nodes(inv):
    """Galera members' container names, in inventory order."""
    return inv["groups"]["galera"]


@pytest.fixture(scope="session")
def node_names(inv, nodes):
    """Container name -> wsrep node name, which is also the HAProxy server name."""
    return {n: inv["hostvars"][n]["galera_node_name"] for n in nodes}


@pytest.fixture(scope="session")
def app_url():
    return os.environ.get("BEAUTY_TEST_APP_URL", "http://127.0.0.1:5000")


@pytest.fixture(scope="session")
def stats_url():
    return os.environ.get("BEAUTY_TEST_STATS_URL", "http://127.0.0.1:8404/stats")


@pytest.fixture(scope="session")
def stats_password():
    return lab.credential("haproxy_stats")
