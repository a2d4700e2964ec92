import pytest

import lab


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
