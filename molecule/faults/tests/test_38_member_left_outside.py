"""(h) A member that starts, then runs on outside every component, is restarted once:
by the member's own rejoin watch when it boots by itself, and by recover.yml's wait.

Seen in stop 17's faults run: after a full outage recover.yml bootstrapped one member and
started the others; a view change cut mariadb-node3's IST short ("IST didn't contain all
write sets", "node restart required"), and mariadbd ran on, non-Primary, for good. The
joins waited only for Synced, so recover.yml hung until its timeout, and every later
case found no whole cluster.

The same state is made on purpose here: a one-shot drop-in points the member at a Galera
address where nothing listens (loopback of its own container) right after its start, so
it answers queries but belongs to no component, exactly as after the cut IST. recover.yml
must notice it within galera_wait_outside_seconds (10 s here), restart it once, say so, and end with
the whole cluster Synced. Without the restart the wait runs into galera_sync_timeout (set
to 150 s here) and recover.yml fails. Cost: ~75 s.

The first case runs no playbook: a Synced member is dropped out of its group (an empty
wsrep_cluster_address: it answers, connected to no group, as reliably as a test can make
it; the cut-IST state is the watch's other rule, in roles/galera_health/tests/test_rejoin.py).
galera-rejoin.service on the member (galera_health_rejoin_after, 20 s in the lab) must
restart it once, and it rejoins. Without the watch it stays outside for good, as mariadb-node3
did in stop 20's CI run of test_35. Cost: ~35 s.
"""

import time

import lab

DROP_IN = "/etc/systemd/system/mariadb.service.d/zz-test-leave-after-start.conf"
MARK = "/run/test-left-once"
# After the start: leave the cluster for an address nowhere, once per boot (the mark; "+":
# as root, so the mark can be written to /run).
LEAVE = (
    "[Service]\n"
    f"ExecStartPost=+/bin/sh -c 'test -e {MARK} && exit 0; touch {MARK}; "
    "mariadb -e \"SET GLOBAL wsrep_cluster_address=\\'gcomm://127.0.0.1:9\\'\" || true'\n"
)


def leave_after_the_next_start(member):
    """Stop the member and make its next start leave the cluster once."""
    lab.docker_exec(member, "systemctl", "stop", "mariadb", timeout=300)
    lab.docker_exec(member, "sh", "-c", f"rm -f {MARK} && printf '%s' \"$1\" > {DROP_IN}", "sh", LEAVE)
    lab.docker_exec(member, "systemctl", "daemon-reload")


def forget_the_drop_in(member):
    lab.docker_exec(member, "rm", "-f", DROP_IN, check=False)
    lab.docker_exec(member, "systemctl", "daemon-reload", check=False)


def test_member_left_outside_is_restarted_once_by_its_rejoin_watch(nodes, cluster_whole, servers_up, report):
    member = nodes[-1]
    since = lab.docker_exec(member, "date", "+%Y-%m-%d %H:%M:%S").stdout.strip()
    # An empty cluster address drops the member out of its group at once; it keeps answering.
    lab.sql(member, "SET GLOBAL wsrep_cluster_address=''")
    left = time.monotonic()
    outside = lab.wsrep(member)
    assert outside.get("wsrep_connected") == "OFF", f"{member} did not leave: {outside}"
    lab.wait_for(lambda: lab.is_synced(member), 120, f"{member} restarted by its rejoin watch and Synced")
    rejoined = time.monotonic() - left
    journal = lab.docker_exec(
        member, "journalctl", "--no-pager", "-o", "cat", "-u", "galera-rejoin", "--since", since
    ).stdout
    restarts = [line for line in journal.splitlines() if "restarting mariadb.service once" in line]
    assert len(restarts) == 1, journal[-3000:]
    assert "connected to no group" in restarts[0] and "is Synced in the Primary component" in restarts[0], restarts
    lab.wait_for(cluster_whole, 120, "every member Synced in one Primary component")
    lab.wait_for(servers_up, 60, "every member UP in HAProxy")
    report(
        "h) member left outside every component, no playbook",
        None,
        {
            "rejoin watch": restarts[0].split(": ", 1)[-1],
            "left -> Synced again": f"{rejoined:.1f} s",
        },
    )


def test_member_left_outside_after_its_start_is_restarted_once(nodes, cluster_whole, servers_up):
    member = nodes[-1]
    leave_after_the_next_start(member)
    # recover.yml's own rule is under test here: the member's watch must not get there first.
    lab.docker_exec(member, "systemctl", "stop", "galera-rejoin")
    try:
        # 10 s outside instead of 30 is the same behaviour, and 20 s less of the suite.
        result = lab.run_playbook(
            "recover.yml", "-e", "galera_sync_timeout=150", "-e", "galera_wait_outside_seconds=10", timeout=600
        )
        text = " ".join(result.stdout.split())
        assert lab.docker_exec(member, "test", "-e", MARK, check=False).returncode == 0, "the drop-in never ran"
        assert result.returncode == 0, f"recover.yml failed:\n{result.stdout[-4000:]}"
        assert f"{member} outside the Primary component for" in text, result.stdout[-4000:]
        assert "restarting it once" in text and "Synced after one restart" in text, result.stdout[-4000:]
    finally:
        forget_the_drop_in(member)
        lab.docker_exec(member, "systemctl", "start", "galera-rejoin", check=False)
    lab.wait_for(cluster_whole, 120, "every member Synced in one Primary component")
    lab.wait_for(servers_up, 60, "every member UP in HAProxy")
