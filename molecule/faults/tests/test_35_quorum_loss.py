"""(e) two of three members lose power: the survivor is non-Primary. recover.yml refuses to
declare it Primary without galera_recover_pc_bootstrap=yes, and does so with it."""

import subprocess
import time

import lab
from conftest import wait_for_more_writes


def test_quorum_loss_needs_confirmation_then_pc_bootstrap(nodes, servers_up, cluster_whole, write_load, report):
    survivor, lost = nodes[0], nodes[1:]
    load = write_load()
    start = time.monotonic()
    subprocess.run(["docker", "kill", *lost], check=True, capture_output=True)
    try:
        lab.wait_for(
            lambda: lab.wsrep(survivor).get("wsrep_cluster_status") == "non-Primary", 60, f"{survivor} to lose quorum"
        )
        refused = lab.run_playbook("recover.yml")
        assert refused.returncode != 0, "recover.yml declared a survivor Primary without confirmation"
        assert "-e galera_recover_pc_bootstrap=yes" in refused.stdout and "split brain" in refused.stdout
        assert lab.wsrep(survivor).get("wsrep_cluster_status") == "non-Primary"

        confirmed_at = time.monotonic()
        result = lab.run_playbook("recover.yml", "-e", "galera_recover_pc_bootstrap=yes")
        playbook_s = time.monotonic() - confirmed_at
        assert result.returncode == 0, f"recover.yml failed:\n{result.stdout[-4000:]}"
        assert lab.is_synced(survivor)
        wait_for_more_writes(load)
        serving = time.monotonic() - start
    finally:
        subprocess.run(["docker", "start", *lost], check=True, capture_output=True)
        for node in lost:
            lab.start_container(node)
    lab.wait_for(cluster_whole, 300, "the lost members to boot and rejoin by themselves")
    lab.wait_for(servers_up, 30, "every member UP in HAProxy")
    recovered = time.monotonic() - start
    summary = load.stop()
    missing = load.missing_on_nodes(nodes)
    report(
        f"e) quorum loss: {', '.join(lost)} killed, pc.bootstrap on {survivor} after confirmation",
        summary,
        {
            "recover.yml (confirmed) run time": f"{playbook_s:.1f} s",
            "writes served again after (kill -> 20 more acknowledged)": f"{serving:.1f} s, including the refused run",
            "recovery time (kill -> all three UP in HAProxy)": f"{recovered:.1f} s",
            "acknowledged writes missing per node": {n: len(s) for n, s in missing.items()},
        },
    )
    assert all(not seqs for seqs in missing.values()), f"acknowledged writes lost: {missing}"
