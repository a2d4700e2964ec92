"""(c) one member cut off the lab network under write load, then reconnected."""

import subprocess
import time

import lab
from conftest import wait_for_more_writes


def test_partitioned_member_leaves_rotation_and_rejoins(
    inv, nodes, node_names, lab_network, stats_url, stats_password, servers_up, cluster_whole, write_load, report
):
    victim = nodes[2]
    server = node_names[victim]
    address = inv["hostvars"][victim]["lab_ipv4"]
    others = [n for n in nodes if n != victim]
    load = write_load()

    start = time.monotonic()
    subprocess.run(["docker", "network", "disconnect", lab_network, victim], check=True)
    try:
        lab.wait_for(
            lambda: lab.haproxy_is_down(stats_url, stats_password, server),
            30,
            f"HAProxy to take the partitioned {server} out",
            interval=0.2,
        )
        routed_around = time.monotonic() - start
        lab.wait_for(
            lambda: lab.wsrep(victim).get("wsrep_cluster_status") not in (None, "Primary"),
            60,
            f"{victim} to leave the Primary component",
        )
        non_primary = time.monotonic() - start
        lab.wait_for(
            lambda: all(
                lab.is_synced(n) and lab.wsrep(n).get("wsrep_cluster_size") == str(len(others)) for n in others
            ),
            60,
            "the majority to carry on as a Primary component",
        )
        wait_for_more_writes(load, 10)
    finally:
        if not lab.connected(lab_network, victim):
            subprocess.run(["docker", "network", "connect", "--ip", address, lab_network, victim], check=True)
    healed = time.monotonic()
    lab.wait_for(cluster_whole, 180, f"{victim} Synced in the whole cluster again")
    synced = time.monotonic() - healed
    lab.wait_for(servers_up, 30, f"HAProxy to take {server} back")
    recovered = time.monotonic() - healed
    wait_for_more_writes(load)
    summary = load.stop()
    missing = load.missing_on_nodes(nodes)
    report(
        "c) network partition of " + victim,
        summary,
        {
            "HAProxy took it out after": f"{routed_around:.1f} s",
            "member non-Primary after": f"{non_primary:.1f} s",
            "Synced again after reconnect": f"{synced:.1f} s",
            "recovery time (reconnect -> UP in HAProxy)": f"{recovered:.1f} s",
            "acknowledged writes missing per node": {n: len(s) for n, s in missing.items()},
        },
    )
    assert all(not seqs for seqs in missing.values()), f"acknowledged writes lost: {missing}"
