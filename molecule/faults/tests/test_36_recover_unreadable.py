"""(f) Issue 10: recover.yml never stops a member it cannot read.

One member runs, alone and Primary (the other two were stopped cleanly), but its status
query fails (its socket is moved away, as when it is hung or out of connections). recover.yml
used to count it as neither Primary nor non-Primary, take the cluster for fully down, and
stop it (SIGKILL after 30 s) to bootstrap from the saved positions. It must refuse, name the
member, and change nothing. Cost: one refused recover.yml run and two member restarts, ~1 min.
"""

import lab

SOCKET = lab.MARIADB_SOCKET
MOVED = "/run/mysqld/moved-by-test.sock"


def uptime(node):
    return int(lab.sql(node, "SHOW GLOBAL STATUS LIKE 'Uptime'")[0][1])


def test_recover_refuses_a_running_member_it_cannot_read(nodes, cluster_whole, servers_up):
    unreadable, stopped = nodes[1], [nodes[0], nodes[2]]
    try:
        for node in stopped:
            lab.docker_exec(node, "systemctl", "stop", "mariadb", timeout=300)
        lab.wait_for(
            lambda: lab.wsrep(unreadable).get("wsrep_cluster_size") == "1" and lab.is_synced(unreadable),
            60,
            f"{unreadable} alone in the Primary component",
        )
        started_for = uptime(unreadable)
        lab.docker_exec(unreadable, "mv", SOCKET, MOVED)
        try:
            refused = lab.run_playbook("recover.yml", timeout=600)
        finally:
            lab.docker_exec(unreadable, "mv", MOVED, SOCKET)
        assert refused.returncode != 0, f"recover.yml went ahead:\n{refused.stdout[-3000:]}"
        # Whitespace-normalised: the YAML callback folds long messages.
        text = " ".join(refused.stdout.split())
        assert f"{unreadable} runs mariadb but its status query failed" in text, refused.stdout[-3000:]
        assert "Nothing was changed" in text
        assert lab.docker_exec(unreadable, "systemctl", "is-active", "mariadb", check=False).stdout.strip() == "active"
        assert uptime(unreadable) >= started_for, f"{unreadable} was restarted"
        assert lab.is_synced(unreadable)
        for node in stopped:
            state = lab.docker_exec(node, "systemctl", "is-active", "mariadb", check=False).stdout.strip()
            assert state == "inactive", f"{node} was touched: {state}"
    finally:
        for node in stopped:
            lab.docker_exec(node, "systemctl", "start", "mariadb", timeout=600)
    lab.wait_for(cluster_whole, 300, "the stopped members to rejoin")
    lab.wait_for(servers_up, 60, "every member UP in HAProxy")
