"""(b) every member loses power at once (docker kill), boots again, then playbooks/recover.yml.

And (b2) every member shut down cleanly (docker stop), booted again: no member can form a
Primary component by itself, so recover.yml has to bootstrap the most advanced one."""

import subprocess
import time

import lab
from conftest import wait_for_more_writes


def _boot(nodes):
    # All at once, as when power returns; then each must have booted (lab/boot-container.sh).
    subprocess.run(["docker", "start", *nodes], check=True, capture_output=True)
    for node in nodes:
        lab.start_container(node)


def _outage_then_recover(nodes, stop_command, servers_up, cluster_whole, write_load):
    load = write_load()
    start = time.monotonic()
    subprocess.run(["docker", *stop_command, *nodes], check=True, capture_output=True)
    _boot(nodes)
    booted = time.monotonic()
    result = lab.run_playbook("recover.yml")
    playbook_s = time.monotonic() - booted
    assert result.returncode == 0, f"recover.yml failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    lab.wait_for(cluster_whole, 300, "all members Synced in one Primary component")
    lab.wait_for(servers_up, 30, "every member UP in HAProxy")
    recovered = time.monotonic() - start
    wait_for_more_writes(load)
    summary = load.stop()
    missing = load.missing_on_nodes(nodes)
    if "Nothing to recover; nothing was changed" in result.stdout:
        what = "nothing: the members had re-formed the cluster by themselves (gvwstate.dat)"
    elif "Bootstrapping" in result.stdout:
        what = "bootstrapped the most advanced member, then started the others"
    else:
        what = "started the stopped members"
    figures = {
        "outage (stop -> booted)": f"{booted - start:.1f} s",
        "recover.yml run time": f"{playbook_s:.1f} s",
        "recover.yml did": what,
        "recovery time (outage start -> all UP in HAProxy)": f"{recovered:.1f} s",
        "acknowledged writes missing per node": {n: len(s) for n, s in missing.items()},
    }
    return summary, missing, figures, result


def test_power_loss_of_every_member(nodes, servers_up, cluster_whole, write_load, report):
    summary, missing, figures, _ = _outage_then_recover(nodes, ["kill"], servers_up, cluster_whole, write_load)
    report("b) power loss of every member (docker kill, docker start, recover.yml)", summary, figures)
    assert all(not seqs for seqs in missing.values()), f"acknowledged writes lost: {missing}"


def test_clean_shutdown_of_every_member(nodes, servers_up, cluster_whole, write_load, report):
    summary, missing, figures, result = _outage_then_recover(nodes, ["stop"], servers_up, cluster_whole, write_load)
    report("b2) clean shutdown of every member (docker stop, docker start, recover.yml)", summary, figures)
    assert "Bootstrapping" in result.stdout, "recover.yml did not bootstrap after a clean shutdown of all members"
    assert all(not seqs for seqs in missing.values()), f"acknowledged writes lost: {missing}"


def test_recover_is_a_no_op_on_a_healthy_cluster():
    result = lab.run_playbook("recover.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "Nothing to recover; nothing was changed" in result.stdout
    recap = result.stdout[result.stdout.rindex("PLAY RECAP") :]
    assert "changed=0" in recap and all("changed=0" in line for line in recap.splitlines()[1:] if "ok=" in line), recap
