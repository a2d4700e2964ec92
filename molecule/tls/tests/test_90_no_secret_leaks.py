"""No secret in any process's command line or in any journal of the lab's hosts, after a
converge, a forced SST and the rotations (so their module calls are in the journals too)."""

import lab

SECRETS = ("db_admin", "db_app", "db_sst", "haproxy_stats", "app_secret_key")


def _key_fragments():
    """One base64 line from the middle of each private key the controller holds."""
    fragments = []
    for key in sorted((lab.credentials_dir() / "tls").glob("*.key")):
        lines = [ln for ln in key.read_text().splitlines() if ln and not ln.startswith("-----")]
        fragments.append((key.name, lines[len(lines) // 2]))
    return fragments


def test_no_secret_in_process_lists_or_journals(inv):
    secrets = [(name, lab.credential(name)) for name in SECRETS] + _key_fragments()
    assert all(len(value) >= 16 for _, value in secrets)
    hosts = sorted({h for group in ("galera", "haproxy", "demo_app") for h in inv["groups"].get(group, [])})
    leaks = []
    for host in hosts:
        processes = lab.docker_exec(host, "ps", "-eww", "-o", "args").stdout
        journal = lab.docker_exec(host, "journalctl", "--no-pager", "-o", "cat", timeout=180).stdout
        assert len(journal) > 1000, f"{host}: the journal is nearly empty, the check would prove nothing"
        for name, value in secrets:
            if value in processes:
                leaks.append((host, name, "ps"))
            if value in journal:
                leaks.append((host, name, "journal"))
    assert leaks == [], f"secrets found: {leaks}"
