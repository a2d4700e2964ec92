"""Saturate this machine's cores under a write load and count unplanned Galera view changes.

    python -m tools.soak --nodes mariadb-node1,mariadb-node2,mariadb-node3 --seconds 300

Short failure-detection timers (galera_failure_detection: lab) evict a dead member fast,
but a member that is only starved of CPU must not be evicted with it. This starts
`stress-ng --cpu` (one hog per core, twice over, by default) for --seconds, writes through
the app the whole time, samples every member's wsrep_cluster_conf_id and state once a
second, and prints: view changes per member, the longest time a member was not Synced or
not Primary, the host's load average, and the write load's figures. Exit 1 on any view
change, a member leaving Synced/Primary, or a failed write.

Safety: the CPU hogs run on this machine only and stop by themselves (stress-ng --timeout,
and killed when this ends); the nodes must be running lab containers (label
io.beauty-galera.lab=true); the writes go to --app, which must be a loopback or lab address;
--seconds is at most 900.
"""

import argparse
import ipaddress
import os
import shutil
import subprocess
import sys
import time
from urllib.parse import urlparse

from tools.bench_failover import check_lab_container, docker
from tools.writeload import WriteLoad, print_summary

STATE_QUERY = (
    "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN "
    "('WSREP_CLUSTER_CONF_ID', 'WSREP_CLUSTER_STATUS', 'WSREP_LOCAL_STATE_COMMENT', 'WSREP_CLUSTER_SIZE')"
)
MAX_SECONDS = 900


def member_state(container):
    """{conf_id, status, state, size} as the member reports them, or None when it cannot answer."""
    result = docker("exec", container, "mariadb", "-NB", "--connect-timeout=2", "-e", STATE_QUERY, timeout=15)
    if result.returncode != 0:
        return None
    values = dict(line.split("\t", 1) for line in result.stdout.strip().splitlines() if "\t" in line)
    return {
        "conf_id": values.get("WSREP_CLUSTER_CONF_ID"),
        "status": values.get("WSREP_CLUSTER_STATUS"),
        "state": values.get("WSREP_LOCAL_STATE_COMMENT"),
        "size": values.get("WSREP_CLUSTER_SIZE"),
    }


def healthy(state):
    return state is not None and state["status"] == "Primary" and state["state"] == "Synced"


def allowed_target(url):
    """The write load may only aim at loopback or the lab's private networks."""
    host = urlparse(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return address.is_loopback or address in ipaddress.ip_network("172.16.0.0/12")


def soak(nodes, seconds, workers, app_url, rate=10.0, interval=1.0, out=sys.stdout):
    """Run the soak; return its figures (a dict). Every loop here ends by itself."""
    if not 1 <= seconds <= MAX_SECONDS:
        raise ValueError(f"--seconds must be between 1 and {MAX_SECONDS}, got {seconds}")
    if not allowed_target(app_url):
        raise ValueError(f"refusing to load {app_url}: only loopback and the lab's 172.16.0.0/12 addresses")
    if shutil.which("stress-ng") is None:
        raise RuntimeError("stress-ng is not installed (apt-get install stress-ng)")
    before = {node: member_state(node) for node in nodes}
    unhealthy = [node for node, state in before.items() if not healthy(state)]
    if unhealthy:
        raise RuntimeError(f"start from a healthy cluster: {unhealthy} not Synced in a Primary component")

    load = WriteLoad(("app", app_url), rate=rate, max_duration=seconds + 60)
    load.start()
    # --timeout ends the hogs by themselves; this process kills them too if it ends first.
    hogs = subprocess.Popen(
        ["stress-ng", "--cpu", str(workers), "--timeout", f"{seconds}s", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.monotonic()
    conf_ids = {node: {before[node]["conf_id"]} for node in nodes}
    bad_since = {}
    worst_bad = dict.fromkeys(nodes, 0.0)
    unanswered = dict.fromkeys(nodes, 0)
    samples, load_avg = 0, 0.0
    try:
        while time.monotonic() - started < seconds + 30 and hogs.poll() is None:
            now = time.monotonic()
            for node in nodes:
                state = member_state(node)
                if state is None:
                    # docker exec itself can time out on a saturated machine: not an answer either way.
                    unanswered[node] += 1
                    continue
                if state["conf_id"]:
                    conf_ids[node].add(state["conf_id"])
                if healthy(state):
                    bad_since.pop(node, None)
                else:
                    bad_since.setdefault(node, now)
                    worst_bad[node] = max(worst_bad[node], now - bad_since[node] + interval)
            samples += 1
            load_avg = max(load_avg, os.getloadavg()[0])
            time.sleep(max(0.0, interval - (time.monotonic() - now)))
    finally:
        if hogs.poll() is None:
            hogs.kill()
        hogs.wait(timeout=30)
        summary = load.stop()
    after = {node: member_state(node) for node in nodes}
    for node, state in after.items():
        if state is not None and state["conf_id"]:
            conf_ids[node].add(state["conf_id"])
    figures = {
        "seconds": round(time.monotonic() - started, 1),
        "cpu_hogs": workers,
        "samples": samples,
        "max_load_average_1m": round(load_avg, 1),
        "view_changes": {node: len(ids) - 1 for node, ids in conf_ids.items()},
        "longest_not_synced_primary_s": {node: round(value, 1) for node, value in worst_bad.items()},
        "healthy_after": {node: healthy(state) for node, state in after.items()},
        "unanswered_samples": unanswered,
        "writes": summary,
    }
    print(f"soak: {figures['seconds']} s, {workers} CPU hogs, {samples} samples per member", file=out)
    print(f"  load average (1 min) up to {figures['max_load_average_1m']}", file=out)
    for node in nodes:
        print(
            f"  {node}: view changes {figures['view_changes'][node]}, longest not Synced/Primary "
            f"{figures['longest_not_synced_primary_s'][node]} s, unanswered samples {unanswered[node]}, "
            f"healthy after: {figures['healthy_after'][node]}",
            file=out,
        )
    print_summary(summary, out=out)
    return figures


def passed(figures):
    return (
        not any(figures["view_changes"].values())
        and not any(figures["longest_not_synced_primary_s"].values())
        and all(figures["healthy_after"].values())
        and figures["writes"]["failed"] == 0
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", required=True, help="every Galera node container of the lab, comma-separated")
    parser.add_argument("--seconds", type=int, default=300, help=f"how long to saturate the cores (≤ {MAX_SECONDS})")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1), help="stress-ng CPU hogs")
    parser.add_argument("--app", default="http://127.0.0.1:5000", help="app base URL the writes go through")
    parser.add_argument("--rate", type=float, default=10.0, help="writes per second")
    args = parser.parse_args(argv)
    nodes = [n for n in args.nodes.split(",") if n]
    for node in nodes:
        check_lab_container(node)
    try:
        figures = soak(nodes, args.seconds, args.workers, args.app, rate=args.rate)
    except (ValueError, RuntimeError) as error:
        sys.exit(f"soak: {error}")
    ok = passed(figures)
    print("soak:", "no unplanned view change" if ok else "FAILED: a member was evicted, left Synced, or writes failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
