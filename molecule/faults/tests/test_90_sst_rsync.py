"""Issue 2: rsync SST is one variable away, and a joiner really receives its copy by rsync.

Runs last of the lab's checks: it leaves the cluster configured for rsync (the lab is removed
after it). It was molecule/default's last test; here the faults above it run with mariabackup, as
deployed, and `make test`'s two streams end closer together. Costs 160-200 s in CI.
"""

import re

import requests

import lab

# site.yml's last task: "  app    http://127.0.0.1:5000", one line per part.
BROWSE_URL = re.compile(r"^\s+(app|HAProxy stats|Prometheus|dashboard|alerts)\s+(https?://\S+)", re.M)


def why_probed(stdout: str) -> str:
    """The preflight's own words on why the port probes ran, for the failure message."""
    words = " ".join(stdout.split())
    found = re.search(r"Port checks run: .*?(?=\" ?\}|$|TASK \[)", words)
    return found.group(0) if found else "(preflight said nothing about the port checks)"


def test_rsync_sst_is_selectable_and_works(nodes):
    converge = lab.run_playbook("site.yml", "-e", "galera_sst_method=rsync", "--limit", "galera:localhost")
    assert converge.returncode == 0, converge.stdout[-3000:]
    # Issue 13: a whole cluster whose members and ports did not change is not probed again.
    assert "Port checks skipped" in " ".join(converge.stdout.split()), (
        f"the port probes ran on an unchanged, Synced cluster: {why_probed(converge.stdout)}"
    )
    # The run ends saying where each part answers, and each printed address does answer
    # (the logins refuse an anonymous browser: 401 is an answer from the right server).
    printed = dict(BROWSE_URL.findall(converge.stdout))
    assert set(printed) == {"app", "HAProxy stats", "Prometheus", "dashboard", "alerts"}, (
        f"site.yml printed addresses for {sorted(printed)}:\n{converge.stdout[-3000:]}"
    )
    for part, url in printed.items():
        assert requests.get(url, timeout=10).status_code in (200, 401), f"{part}: {url}"
    assert requests.get(printed["app"], timeout=10).status_code == 200
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
