"""Issue 5: node4 and node5 join from the inventory alone, and leave again, under write load.
Issue 10: a host holding databases of its own is refused until the operator confirms."""

import re
import subprocess

import pytest
import yaml

import lab
from tools.writeload import WriteLoad

NEW = {"mariadb-node4": ("node4", "172.30.0.14"), "mariadb-node5": ("node5", "172.30.0.15")}


def overlay(tmp_path, group):
    path = tmp_path / f"{group}.yml"
    hosts = {name: {"galera_node_name": node, "lab_ipv4": ip} for name, (node, ip) in NEW.items()}
    path.write_text(yaml.safe_dump({"all": {"children": {group: {"hosts": hosts}}}}))
    return path


@pytest.fixture
def extra_nodes():
    yield list(NEW)
    subprocess.run(["docker", "rm", "-f", *NEW], capture_output=True)


# profile_tasks' line under each task header: "... (0:00:00.136)       0:03:25.948 ****".
TASK_STARTED = re.compile(
    r"^TASK \[(?P<task>[^\]]+)\].*\n.*\(\d+:\d\d:\d\d\.\d+\)\s+(?P<h>\d+):(?P<m>\d\d):(?P<s>[\d.]+)", re.M
)


def tasks_during(stdout, start, end):
    """The playbook's tasks that ran between `start` and `end` seconds into it."""
    started = [
        (int(m["h"]) * 3600 + int(m["m"]) * 60 + float(m["s"]), m["task"]) for m in TASK_STARTED.finditer(stdout)
    ]
    ends = [t for t, _ in started[1:]] + [float("inf")]
    return [task for (begin, task), finish in zip(started, ends, strict=True) if begin <= end and finish >= start]


def failures(summary, stdout):
    """What failed, when (seconds into the load, which starts with the playbook) and what the
    playbook was doing then; the whole summary last (CI shows a message's start only)."""
    keys = ("failed", "error_samples", "error_windows_s", "failed_outcome_unknown", "attempts")
    during = {f"{s}-{e} s": tasks_during(stdout, s - 1, e + 1) for s, e in summary["error_windows_s"]}
    return {key: summary[key] for key in keys} | {"tasks": during, "summary": summary}


def health_pids(nodes):
    """galera-health's process per member: the same after a run that only reloaded it."""
    return {
        n: lab.docker_exec(n, "systemctl", "show", "-p", "MainPID", "--value", "galera-health").stdout.strip()
        for n in nodes
    }


def converge_under_load(app_url, *args):
    load = WriteLoad(("app", app_url), rate=10)
    load.start()
    try:
        result = lab.run_playbook("site.yml", *args, timeout=1200)
    finally:
        summary = load.stop()
    assert result.returncode == 0, result.stdout[-3000:]
    return load, summary, result


def test_scale_out_to_five_and_back_to_three(
    tmp_path, nodes, node_names, extra_nodes, app_url, stats_url, stats_password
):
    grow = overlay(tmp_path, "galera")
    created = lab.run_playbook("lab.yml", "-i", str(grow))
    assert created.returncode == 0, created.stdout[-2000:]

    # Issue 10: node5 holds a database of its own (MariaDB installed and used by hand): refused.
    lab.docker_exec(
        extra_nodes[-1],
        "bash",
        "-c",
        "systemctl start mariadb && mariadb -e 'CREATE DATABASE shop; CREATE TABLE shop.orders (id INT)'"
        " && systemctl stop mariadb",
        timeout=120,
    )
    refused = lab.run_playbook("site.yml", "-i", str(grow), timeout=600)
    assert refused.returncode != 0
    # Whitespace-normalised: the YAML callback folds long messages.
    assert f"{extra_nodes[-1]} holds databases of its own (shop)" in " ".join(refused.stdout.split()), refused.stdout[
        -3000:
    ]
    for node in nodes:
        assert lab.wsrep(node)["wsrep_cluster_size"] == "3", f"{node}: the refused run changed the cluster"
    # Debian ships a commented 60-galera.cnf; the role's own has its header.
    assert (
        lab.docker_exec(
            extra_nodes[0], "grep", "-q", "Galera member", "/etc/mysql/mariadb.conf.d/60-galera.cnf", check=False
        ).returncode
        != 0
    ), "the refused run configured node4"

    uptime_before = {n: int(lab.sql(n, "SHOW GLOBAL STATUS LIKE 'Uptime'")[0][1]) for n in nodes}
    pids_before = health_pids(nodes)
    # Confirmed: node5's own database is replaced by the cluster's copy.
    load, summary, result = converge_under_load(
        app_url, "-i", str(grow), "-e", f'{{"galera_join_discard_data_on": ["{extra_nodes[-1]}"]}}'
    )
    members = nodes + extra_nodes
    # New members, new peers: the port probes ran again (not skipped as on an unchanged cluster).
    assert "Port checks skipped" not in " ".join(result.stdout.split())
    assert lab.sql(extra_nodes[-1], "SHOW DATABASES LIKE 'shop'") == []
    for node in nodes:
        uptime = int(lab.sql(node, "SHOW GLOBAL STATUS LIKE 'Uptime'")[0][1])
        assert uptime > uptime_before[node], f"{node} was restarted to scale out"
    for node in members:
        assert lab.is_synced(node), node
        assert lab.wsrep(node)["wsrep_cluster_size"] == "5", node
        config = lab.docker_exec(
            node, "grep", "wsrep_cluster_address", "/etc/mysql/mariadb.conf.d/60-galera.cnf"
        ).stdout
        assert all(ip in config for _, ip in NEW.values()), f"{node}: {config}"
    servers = lab.haproxy_servers(stats_url, stats_password)
    assert [servers.get(n) for n in ("node4", "node5")] == ["UP", "UP"], servers
    # The new peer list is reloaded, not restarted: a restart fails every member's check at once.
    assert health_pids(nodes) == pids_before, "galera-health was restarted for its new peers"
    assert summary["failed"] == 0, f"writes failed while scaling out: {failures(summary, result.stdout)}"
    assert load.missing_on_nodes(members) == {n: [] for n in members}

    shrink = overlay(tmp_path, "galera_retired")
    uptime_before = {n: int(lab.sql(n, "SHOW GLOBAL STATUS LIKE 'Uptime'")[0][1]) for n in nodes}
    pids_before = health_pids(nodes)
    load, summary, result = converge_under_load(app_url, "-i", str(shrink))
    assert health_pids(nodes) == pids_before, "galera-health was restarted for its new peers"
    for node in nodes:
        uptime = int(lab.sql(node, "SHOW GLOBAL STATUS LIKE 'Uptime'")[0][1])
        assert uptime > uptime_before[node], f"{node} was restarted to scale in"
    for node in extra_nodes:
        assert lab.docker_exec(node, "systemctl", "is-active", "mariadb", check=False).stdout.strip() != "active", node
    for node in nodes:
        assert lab.is_synced(node) and lab.wsrep(node)["wsrep_cluster_size"] == "3", node
        config = lab.docker_exec(
            node, "grep", "wsrep_cluster_address", "/etc/mysql/mariadb.conf.d/60-galera.cnf"
        ).stdout
        assert not any(ip in config for _, ip in NEW.values()), f"{node}: {config}"
    assert set(lab.haproxy_servers(stats_url, stats_password)) == set(node_names.values())
    assert summary["failed"] == 0, f"writes failed while scaling in: {failures(summary, result.stdout)}"
    assert load.missing_on_nodes(nodes) == {n: [] for n in nodes}
