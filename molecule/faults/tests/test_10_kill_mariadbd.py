"""(a) kill -9 of one member's mariadbd under write load."""

import time

import lab
from conftest import wait_for_more_writes


def _restarts(node):
    return int(lab.docker_exec(node, "systemctl", "show", "mariadb", "-p", "NRestarts", "--value").stdout.strip())


def test_killed_mariadbd_is_routed_around_restarted_and_rejoins_by_ist(
    nodes, node_names, stats_url, stats_password, servers_up, write_load, report
):
    victim = nodes[1]
    server = node_names[victim]
    restarts_before = _restarts(victim)
    since = lab.docker_exec(victim, "date", "+%Y-%m-%d %H:%M:%S").stdout.strip()
    load = write_load()

    start = time.monotonic()
    lab.docker_exec(victim, "pkill", "-9", "-x", "mariadbd")
    lab.wait_for(
        lambda: lab.haproxy_is_down(stats_url, stats_password, server),
        10,
        f"HAProxy to take {server} out",
        interval=0.2,
    )
    routed_around = time.monotonic() - start
    # Nothing here starts it: systemd's Restart=on-abnormal does (RestartSec=5).
    lab.wait_for(lambda: lab.is_synced(victim), 180, f"{victim} Synced again")
    synced = time.monotonic() - start
    lab.wait_for(servers_up, 30, f"HAProxy to take {server} back")
    recovered = time.monotonic() - start
    wait_for_more_writes(load)
    summary = load.stop()

    journal = lab.docker_exec(victim, "journalctl", "-u", "mariadb", "--since", since, "--no-pager").stdout
    missing = load.missing_on_nodes(nodes)
    report(
        "a) kill -9 mariadbd on " + victim,
        summary,
        {
            "HAProxy took it out after": f"{routed_around:.1f} s",
            "Synced again after": f"{synced:.1f} s",
            "recovery time (kill -> UP in HAProxy)": f"{recovered:.1f} s",
            "systemd restarts": f"{restarts_before} -> {_restarts(victim)}",
            "state transfer": "SST (full copy)"
            if "Preparing the backup" in journal
            else "IST"
            if "IST received" in journal
            else "none seen",
            "acknowledged writes missing per node": {n: len(s) for n, s in missing.items()},
        },
    )

    assert routed_around <= 3.0, f"HAProxy kept routing to the dead {server} for {routed_around:.1f} s"
    assert _restarts(victim) > restarts_before, "systemd did not restart the killed mariadbd"
    # mariabackup logs "Preparing the backup" only when a full copy (SST) arrived.
    assert "IST received" in journal and "Preparing the backup" not in journal, (
        "the restarted member did not rejoin by IST"
    )
    assert all(not seqs for seqs in missing.values()), f"acknowledged writes lost: {missing}"
