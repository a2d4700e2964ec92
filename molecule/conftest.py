"""pytest fixtures every molecule scenario shares (pytest finds this conftest above each
scenario's tests/; a scenario's own conftest overrides one by defining it again).

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
    return os.environ.get("BEAUTY_TEST_APP_URL", f"http://127.0.0.1:{lab.PORTS['app']}")


@pytest.fixture(scope="session")
def stats_url():
    return os.environ.get("BEAUTY_TEST_STATS_URL", f"http://127.0.0.1:{lab.PORTS['stats']}/stats")


@pytest.fixture(scope="session")
def stats_password():
    return lab.credential("haproxy_stats")
