"""Fixtures for the fault scenario: the lab from the inventory, a write load, the report.

Every address comes from the inventory (lab_ipv4), so the same tests run against the
shared lab or a private copy: BEAUTY_TEST_INVENTORY and BEAUTY_TEST_CREDENTIALS
(molecule/shared/lab.py) point them at another inventory and credentials folder.
"""

import time

import pytest

import lab
from tools.writeload import WriteLoad

REPORT = lab.ROOT / "artifacts" / "faults-report.txt"


@pytest.fixture(scope="session")
def lab_network(inv, nodes):
    return inv["hostvars"][nodes[0]]["lab_network_name"]


@pytest.fixture(scope="session")
def haproxy_address(inv):
    # The container's own address: no docker-proxy in the path, and no published port needed.
    return inv["hostvars"][inv["groups"]["haproxy"][0]]["lab_ipv4"]


@pytest.fixture(scope="session")
def stats_url(haproxy_address):
    return f"http://{haproxy_address}:{lab.PORTS['stats']}/stats"


@pytest.fixture(scope="session")
def servers_up(nodes, node_names, stats_url, stats_password):
    """A probe: every Galera member is UP in HAProxy."""

    def probe():
        status = lab.haproxy_servers(stats_url, stats_password)
        return all(status.get(node_names[n]) == "UP" for n in nodes)

    return probe


@pytest.fixture(scope="session")
def cluster_whole(nodes):
    """A probe: every member Synced in one Primary component of all members."""

    def probe():
        states = {n: lab.wsrep(n) for n in nodes}
        return all(lab.is_synced(n) and states[n].get("wsrep_cluster_size") == str(len(nodes)) for n in nodes)

    return probe


@pytest.fixture(scope="session")
def app_url(inv):
    return f"http://{inv['hostvars'][inv['groups']['demo_app'][0]]['lab_ipv4']}:{lab.PORTS['app']}"


@pytest.fixture
def write_load(haproxy_address, app_url):
    """Starts a ledgered write load (through HAProxy, or through the app); stops it at the end."""
    loads = []

    def start(rate=20.0, through="haproxy"):
        if through == "app":
            target = ("app", app_url)
        else:
            target = (
                "db",
                haproxy_address,
                lab.PORTS["frontend"],
                lab.APP_USER,
                lab.credential("db_app"),
                lab.DATABASE,
            )
        load = WriteLoad(target, rate=rate)
        load.start()
        loads.append(load)
        lab.wait_for(lambda: len(load.acknowledged_seqs()) >= 10, 30, "the write load to get going")
        return load

    yield start
    for load in loads:
        if load.stopped_at is None:
            load.stop()


def wait_for_more_writes(load, count=20, timeout=60):
    """Waits until the load has `count` more acknowledged writes: the service is back for clients."""
    target = len(load.acknowledged_seqs()) + count
    lab.wait_for(lambda: len(load.acknowledged_seqs()) >= target, timeout, f"{count} more acknowledged writes")


@pytest.fixture(scope="session")
def report():
    """Appends one block per case to artifacts/faults-report.txt and prints it."""
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(
        f"Fault scenario report {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  inventory {lab.INVENTORY}\n"
        "Write load: 20 writes/s, one at a time: INSERT+COMMIT through HAProxy's container address on one\n"
        "persistent connection (reopened after an error, never retried), or POST /api/products to the app.\n\n"
    )

    def add(case, summary, figures):
        # summary: a write load's, or None for a case that runs none (the alert checks).
        lines = [f"[{case}]" + (f"  load: {summary['target']}" if summary else "")]
        if summary:
            lines += [
                f"  failed client requests: {summary['failed']} of {summary['attempts']}"
                f" (acknowledged {summary['acknowledged']}, outcome unknown {summary['failed_outcome_unknown']})",
                f"  longest error window: {summary['longest_error_window_s']} s"
                f"   windows: {summary['error_windows_s']}",
            ]
        lines += [f"  {name}: {value}" for name, value in figures.items()]
        lines += [f"  error sample: {sample}" for sample in (summary or {}).get("error_samples", [])[:3]]
        text = "\n".join(lines) + "\n\n"
        print("\n" + text, end="")
        with REPORT.open("a") as handle:
            handle.write(text)

    return add


@pytest.fixture(autouse=True)
def cluster_healthy_before_each_test(cluster_whole, servers_up):
    """Every case starts from a whole cluster, so one case's fault never leaks into the next."""
    lab.wait_for(cluster_whole, 300, "every member Synced in a Primary component of all members")
    lab.wait_for(servers_up, 30, "every member UP in HAProxy")
