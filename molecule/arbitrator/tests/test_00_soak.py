"""Issue 13: with short failure-detection timers (galera_failure_detection: lab), a member
or garbd that is only starved of CPU is not evicted. Both cores saturated by stress-ng for
BEAUTY_SOAK_SECONDS (60 s here; `make soak` runs 300 s against the demo lab) under the app's
writes: no view change on any member, no write failed.

Runs first: test_arbitrator.py ends by killing a member for good."""

import os

import lab
from tools.soak import passed, soak

SECONDS = int(os.environ.get("BEAUTY_SOAK_SECONDS", "60"))


def test_saturated_cores_evict_nobody(nodes, arbitrators, app_url):
    lab.wait_for(lambda: all(lab.is_synced(n) for n in nodes), 180, "every member Synced before the soak")
    size = str(len(nodes) + len(arbitrators))
    lab.wait_for(lambda: all(lab.wsrep(n).get("wsrep_cluster_size") == size for n in nodes), 60, "garbd counted again")
    figures = soak(nodes, SECONDS, 2 * (os.cpu_count() or 1), app_url, rate=5.0)
    assert passed(figures), figures
