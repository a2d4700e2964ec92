"""Issue 2: rsync SST is one variable away, and a joiner really receives its copy by rsync.

Runs last: it leaves the cluster configured for rsync (destroy follows in molecule test).
"""

import lab


def test_rsync_sst_is_selectable_and_works(nodes):
    converge = lab.run_playbook("site.yml", "-e", "galera_sst_method=rsync", "--limit", "galera:localhost")
    assert converge.returncode == 0, converge.stdout[-3000:]
    for node in nodes:
        assert lab.sql(node, "SELECT @@wsrep_sst_method")[0][0] == "rsync", node
        assert lab.is_synced(node), f"{node} after the rolling config change"

    joiner = nodes[-1]
    # Without grastate.dat the member has no position, so it must ask a donor for a full copy.
    lab.docker_exec(joiner, "systemctl", "stop", "mariadb", timeout=120)
    lab.docker_exec(joiner, "rm", "-f", "/var/lib/mysql/grastate.dat")
    since = lab.docker_exec(joiner, "date", "+%Y-%m-%d %H:%M:%S").stdout.strip()
    lab.docker_exec(joiner, "systemctl", "start", "mariadb", timeout=600)
    lab.wait_for(lambda: lab.is_synced(joiner), 300, f"{joiner} Synced after an rsync SST")
    journal = lab.docker_exec(joiner, "journalctl", "-u", "mariadb", "--since", since, "--no-pager").stdout
    assert "wsrep_sst_rsync --role 'joiner'" in journal, journal[-2000:]
    assert lab.wsrep(joiner)["wsrep_cluster_size"] == "3"
