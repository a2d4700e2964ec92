"""(i) The monitoring role's alerts against real faults (issue 14): a member killed, then a
member cut off from Galera's replication port only, so Prometheus still scrapes it.

Each alert must fire within ALERT_WITHIN_S of the fault and resolve once the member is
back. The lab scrapes and evaluates every 5 s (inventories/docker); the rules' own timing
for the laptops' 15 s intervals is what roles/monitoring/tests/alerts_test.yml checks.
Costs about 2.5 minutes."""

import subprocess
import time

import lab
import monitoring

ALERT_WITHIN_S = 60
RESOLVED_WITHIN_S = 90


def wait_firing(inv, since, name, **labels):
    lab.wait_for(lambda: monitoring.firing(inv, name, **labels), ALERT_WITHIN_S, f"{name} {labels} to fire", interval=1)
    return time.monotonic() - since


def wait_resolved(inv, names):
    lab.wait_for(
        lambda: not [a for a in monitoring.alerts(inv) if a["labels"]["alertname"] in names],
        RESOLVED_WITHIN_S,
        f"{', '.join(names)} to resolve",
        interval=1,
    )


def test_a_killed_member_fires_member_down_and_cluster_size(inv, nodes, node_names, report):
    victim = nodes[2]
    member = node_names[victim]
    wait_resolved(inv, ["GaleraMemberDown", "GaleraClusterSizeBelowExpected"])

    start = time.monotonic()
    subprocess.run(["docker", "kill", victim], check=True, capture_output=True, timeout=30)
    try:
        down_after = wait_firing(inv, start, "GaleraMemberDown", member=member)
        size_after = wait_firing(inv, start, "GaleraClusterSizeBelowExpected")
        # The survivors report the smaller view; the dead member reports nothing.
        assert {a["labels"]["member"] for a in monitoring.firing(inv, "GaleraClusterSizeBelowExpected")} <= {
            node_names[n] for n in nodes if n != victim
        }
    finally:
        lab.start_container(victim)
    lab.wait_for(lambda: lab.is_synced(victim), 180, f"{victim} Synced again")
    back = time.monotonic()
    wait_resolved(inv, ["GaleraMemberDown", "GaleraClusterSizeBelowExpected"])
    report(
        "i) alerts for a killed member",
        None,
        {
            "GaleraMemberDown firing after": f"{down_after:.1f} s",
            "GaleraClusterSizeBelowExpected firing after": f"{size_after:.1f} s",
            "both resolved after the member was Synced": f"{time.monotonic() - back:.1f} s",
        },
    )


def test_a_member_cut_off_from_replication_fires_non_primary(inv, nodes, node_names, report):
    victim = nodes[2]
    member = node_names[victim]
    wait_resolved(inv, ["GaleraNonPrimary"])
    # Galera's group port only, both ways: the exporter stays reachable for Prometheus.
    group_port = str(lab.PORTS["galera_replication"])
    rules = [["INPUT", "-p", "tcp", "--dport", group_port], ["OUTPUT", "-p", "tcp", "--dport", group_port]]

    start = time.monotonic()
    for rule in rules:
        lab.docker_exec(victim, "iptables", "-I", *rule, "-j", "DROP")
    try:
        lab.wait_for(
            lambda: lab.wsrep(victim).get("wsrep_cluster_status") not in (None, "Primary"), 60, "the cut-off member"
        )
        non_primary_after = wait_firing(inv, start, "GaleraNonPrimary", member=member)
        assert not [a for a in monitoring.firing(inv, "GaleraNonPrimary") if a["labels"]["member"] != member]
    finally:
        for rule in rules:
            lab.docker_exec(victim, "iptables", "-D", *rule, "-j", "DROP", check=False)
    lab.wait_for(lambda: lab.is_synced(victim), 180, f"{victim} Synced again")
    back = time.monotonic()
    wait_resolved(inv, ["GaleraNonPrimary"])
    report(
        "i) alert for a member cut off from replication",
        None,
        {
            "GaleraNonPrimary firing after": f"{non_primary_after:.1f} s",
            "resolved after the member was Synced": f"{time.monotonic() - back:.1f} s",
        },
    )
