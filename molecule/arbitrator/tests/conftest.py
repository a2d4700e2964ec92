"""Fixtures of the arbitrator scenario: two members, garbd, HAProxy and the app on the
garbd host, all from the scenario's own inventory (BEAUTY_TEST_INVENTORY)."""

import pytest

import lab


@pytest.fixture(scope="session")
def arbitrators(inv):
    return inv["groups"]["galera_arbitrator"]


@pytest.fixture(scope="session")
def app_url(inv):
    # The container's own address: the scenario publishes no ports.
    return f"http://{inv['hostvars'][inv['groups']['demo_app'][0]]['lab_ipv4']}:{lab.PORTS['app']}"
