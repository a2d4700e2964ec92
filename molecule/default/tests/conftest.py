import sys
from pathlib import Path

import pytest

# The scenarios' shared helpers (not a package: `molecule` is the tool's own name).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
# The project root, for tools.writeload (the write-load client with a ledger).
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import lab
from fixtures import app_url, inv, node_names, nodes, stats_password, stats_url  # noqa: F401 - fixtures, found by name


@pytest.fixture(autouse=True)
def cluster_healthy_before_each_test(nodes, node_names, stats_url, stats_password):
    """Every test starts from a whole cluster, as HAProxy sees it too (a rejoined node is
    UP only after `rise` checks), so one test's fault never leaks into the next."""
    lab.wait_for(lambda: all(lab.is_synced(n) for n in nodes), 180, "every node Synced before the test")
    lab.wait_for(
        lambda: all(lab.haproxy_servers(stats_url, stats_password).get(name) == "UP" for name in node_names.values()),
        30,
        "HAProxy to show every node UP before the test",
    )
