"""garbd as a member of a two-node cluster with TLS on (issue 10): counted, encrypted,
and keeping the survivor Primary when a member dies under the app's writes."""

import json
import subprocess
import time

import lab
from tools.writeload import WriteLoad


def test_every_member_counts_garbd_and_status_passes(nodes, arbitrators):
    size = str(len(nodes) + len(arbitrators))
    for node in nodes:
        state = lab.wsrep(node)
        assert (state.get("wsrep_cluster_size"), state.get("wsrep_local_state_comment")) == (size, "Synced"), (
            f"{node}: {state.get('wsrep_cluster_size')} members, {state.get('wsrep_local_state_comment')}"
        )
    status = lab.run_playbook("status.yml", timeout=300)
    assert status.returncode == 0, status.stdout[-3000:]
    for garbd in arbitrators:
        assert f"{garbd} " in status.stdout, f"status.yml shows no row for {garbd}"


def test_garbd_replicates_over_tls(nodes, arbitrators):
    # Members with socket.ssl accept no plaintext peer, so a counted garbd speaks TLS ...
    for node in nodes:
        options = lab.sql(node, "SELECT @@wsrep_provider_options")[0][0]
        assert "socket.ssl = YES" in options, f"{node} replicates without TLS"
    # ... and its own listener answers a TLS handshake with its certificate from the private CA.
    for garbd in arbitrators:
        hello = lab.docker_exec(
            garbd,
            "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{lab.PORTS['galera_replication']}",
            "-CAfile",
            "/etc/beauty-tls/ca.pem",
            "-cert",
            "/etc/beauty-tls/node.pem",
            "-key",
            "/etc/beauty-tls/garb-key.pem",
            "-verify_return_error",
            "-brief",
            check=False,
            timeout=20,
        )
        assert hello.returncode == 0 and f"CN = {garbd}" in hello.stderr, hello.stderr[-1500:]


def haproxy_status(inv, server):
    """The Galera backend's server as HAProxy has it, from its runtime API (the same script the
    playbooks use): the scenario publishes no port."""
    script = (lab.ROOT / "roles" / "galera" / "files" / "haproxy_servers.py").read_text()
    host = inv["groups"]["haproxy"][0]
    out = lab.docker_exec(host, "python3", "-c", script, "/run/haproxy/admin.sock", "galera").stdout
    return json.loads(out)[server]["status"]


def test_rolling_restart_counts_garbd_and_keeps_an_operators_maintenance(inv, nodes, node_names, arbitrators):
    # Its precheck and its wait for Synced expect every member and garbd in the size; one
    # member is enough to show it (molecule/faults restarts a whole cluster). That member is in
    # an operator's maintenance: restarted, it must stay out of rotation, its file as it was.
    member, server = nodes[-1], node_names[nodes[-1]]
    note = "disk check by the operator"
    lab.docker_exec(member, "sh", "-c", f"echo '{note}' > {lab.MAINTENANCE_FILE}")
    try:
        lab.wait_for(lambda: haproxy_status(inv, server) != "UP", 30, f"HAProxy to take {server} out")
        started = lab.docker_exec(member, "systemctl", "show", "-P", "ActiveEnterTimestampMonotonic", "mariadb").stdout
        restart = lab.run_playbook("rolling_restart.yml", f"--limit={member}", timeout=600)
        assert restart.returncode == 0, restart.stdout[-3000:]
        again = lab.docker_exec(member, "systemctl", "show", "-P", "ActiveEnterTimestampMonotonic", "mariadb").stdout
        assert again != started, f"{member} was not restarted"
        kept = lab.docker_exec(member, "cat", lab.MAINTENANCE_FILE, check=False).stdout.strip()
        assert kept == note, f"rolling_restart.yml changed the operator's maintenance file to {kept!r}"
        assert haproxy_status(inv, server) != "UP", f"rolling_restart.yml put {server} back in rotation"
    finally:
        lab.docker_exec(member, "rm", "-f", lab.MAINTENANCE_FILE)
        # The next test's writes go through HAProxy to this member once the other dies.
        lab.wait_for(lambda: haproxy_status(inv, server) == "UP", 60, f"HAProxy to have {server} UP again")
    size = str(len(nodes) + len(arbitrators))
    for node in nodes:
        assert lab.wsrep(node).get("wsrep_cluster_size") == size, f"{node} lost garbd in the restart"


def test_survivor_stays_primary_and_the_app_keeps_writing(nodes, app_url):
    victim, survivor = nodes
    # At most 30 writes in at most 30 s, one at a time through the app and HAProxy.
    load = WriteLoad(("app", app_url), rate=1.0, max_duration=30)
    load.start()
    try:
        lab.wait_for(lambda: len(load.acknowledged_seqs()) >= 3, 15, "the app's first writes")
        view_before = lab.wsrep(survivor)["wsrep_cluster_conf_id"]
        subprocess.run(["docker", "kill", victim], check=True, capture_output=True, timeout=30)
        killed = time.monotonic()
        # The survivor's next view, once it has noticed the loss: Primary with garbd, or not.
        after = lab.wait_for(
            lambda: (s := lab.wsrep(survivor)).get("wsrep_cluster_conf_id") not in (None, view_before) and s,
            30,
            f"{survivor} to notice that {victim} is gone",
        )
        new_view_after = time.monotonic() - killed
        assert (after["wsrep_cluster_status"], after["wsrep_cluster_size"]) == ("Primary", "2"), (
            f"{survivor} after the kill: {after['wsrep_cluster_status']}, size {after['wsrep_cluster_size']}"
        )
        lab.wait_for(lambda: lab.is_synced(survivor), 30, f"{survivor} Synced")
        acked = len(load.acknowledged_seqs())
        lab.wait_for(lambda: len(load.acknowledged_seqs()) >= acked + 5, 20, "5 more writes after the kill")
    finally:
        summary = load.stop()
    missing = load.missing_on_nodes([survivor])
    print(f"\n{survivor} in its new view {new_view_after:.1f} s after the kill; load: {summary}")
    assert summary["attempts"] <= 30
    # A write in flight on the killed member's session may fail (the app retries once); no more.
    assert summary["failed"] <= 2, f"the app failed {summary['failed']} writes: {summary['error_samples']}"
    assert not missing[survivor], f"acknowledged writes missing on {survivor}: {missing[survivor]}"
