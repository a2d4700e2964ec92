"""(g) Issue 10: pc.bootstrap is refused when a stopped member holds more than the survivors.

The survivor is cut off first and stays running, non-Primary; the other two go on and
commit more; one of them is then stopped cleanly (its grastate.dat keeps that position) and
the last one loses power. recover.yml with galera_recover_pc_bootstrap=yes used to choose
among the running survivors only, make the cut-off member Primary, and so drop the
transactions the stopped member holds. It must refuse, naming that member, and change
nothing; the full-outage path it points to (survivor stopped, then recover.yml) then
bootstraps the most advanced member and keeps every row.

The member that lost power is not gone: it was left alone in the Primary component when
the other stopped cleanly, and at boot it re-forms that component from gvwstate.dat. A
forced bootstrap of another member while it is only powered off therefore forks the
cluster (seen in stop 17: two Primary components with one state UUID). recover.yml must
refuse that, naming it, unless it is listed as gone for good; powered on, it brings its
component back and recover.yml joins the others to it. Cost: ~3 min.
"""

import subprocess
import uuid

import lab


def test_pc_bootstrap_refused_when_a_stopped_member_is_ahead(inv, nodes, lab_network, cluster_whole, servers_up):
    survivor, ahead, lost = nodes
    address = inv["hostvars"][survivor]["lab_ipv4"]
    marker = f"ahead-{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(["docker", "network", "disconnect", lab_network, survivor], check=True)
        lab.wait_for(
            lambda: lab.wsrep(survivor).get("wsrep_cluster_status") == "non-Primary",
            60,
            f"{survivor} to lose quorum",
        )
        lab.wait_for(lambda: lab.is_synced(ahead), 60, f"{ahead} Primary without {survivor}")
        lab.sql(ahead, f"INSERT INTO products (name, price, stock) VALUES ('{marker}', 12, 3)", lab.DATABASE)
        lab.docker_exec(ahead, "systemctl", "stop", "mariadb", timeout=300)
        subprocess.run(["docker", "kill", lost], check=True, capture_output=True)
        behind = int(lab.wsrep(survivor)["wsrep_last_committed"])

        refused = lab.run_playbook("recover.yml", "-e", "galera_recover_pc_bootstrap=yes", timeout=600)
        assert refused.returncode != 0, f"recover.yml made {survivor} Primary:\n{refused.stdout[-3000:]}"
        # Whitespace-normalised: the YAML callback folds long messages.
        text = " ".join(refused.stdout.split())
        assert f"{ahead} (stopped) saved seqno" in text, refused.stdout[-3000:]
        assert f"more than the most advanced running survivor, {survivor}, at {behind}" in text
        assert lab.wsrep(survivor).get("wsrep_cluster_status") == "non-Primary", "the refused run changed it"

        # What the message says to do: stop the survivor, power the missing member on, recover.
        lab.docker_exec(survivor, "systemctl", "stop", "mariadb", timeout=300)
        subprocess.run(["docker", "network", "connect", "--ip", address, lab_network, survivor], check=True)

        # The tired operator's shortcut instead: force the member that holds the row, while
        # the powered-off one is still unaccounted for. Refused, naming it, nothing started.
        forced = lab.run_playbook("recover.yml", "-e", f"galera_recover_force_node={ahead}", timeout=600)
        assert forced.returncode != 0, (
            f"recover.yml bootstrapped {ahead} while {lost} was only off:\n{forced.stdout[-3000:]}"
        )
        text = " ".join(forced.stdout.split())
        assert f"would bootstrap without hearing from {lost}" in text, forced.stdout[-3000:]
        assert "galera_recover_gone_members" in text, forced.stdout[-3000:]
        for node in (survivor, ahead):
            state = lab.docker_exec(node, "systemctl", "is-active", "mariadb", check=False).stdout.strip()
            assert state == "inactive", f"the refused run started mariadb on {node} ({state})"

        lab.start_container(lost)
        recovered = lab.run_playbook("recover.yml", timeout=900)
        assert recovered.returncode == 0, recovered.stdout[-3000:]
        assert lab.is_synced(ahead)
    finally:
        if not lab.connected(lab_network, survivor):
            subprocess.run(["docker", "network", "connect", "--ip", address, lab_network, survivor], check=True)
        lab.start_container(lost)
    lab.wait_for(cluster_whole, 300, "every member back in one Primary component")
    lab.wait_for(servers_up, 60, "every member UP in HAProxy")
    histories = {n: lab.wsrep(n).get("wsrep_cluster_state_uuid") for n in nodes}
    assert len(set(histories.values())) == 1, f"the members run different histories: {histories}"
    for node in nodes:
        rows = lab.sql(node, f"SELECT COUNT(*) FROM products WHERE name = '{marker}'", lab.DATABASE)
        assert rows == [["1"]], f"{node} lost the row committed after {survivor} was cut off"
