"""Kill one Galera node under a steady write load through the app, bring it back, count the damage.

    python -m tools.bench_failover --nodes mariadb-node1,mariadb-node2,mariadb-node3 \\
        --kill mariadb-node2 --haproxy haproxy-lb --app http://127.0.0.1:5000

Writes (WriteLoad, app mode) run the whole time. Timeline: warm-up, `docker kill` the node,
keep writing, `docker start` it, wait until it is Synced again, keep writing, stop.
Prints failed requests, the longest error window, how long the node took to be Synced
(and UP in HAProxy with --haproxy), and whether any acknowledged write is missing on any
node. Exit 1 when an acknowledged write was lost or the node did not come back.

Safety: it only kills a container named in --nodes; every name must be a running lab
container (label io.beauty-galera.lab=true), --nodes must be exactly one whole cluster
(same cluster state uuid, cluster size == number of names), and with --inventory every
name must be in that inventory's galera group.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from tools.writeload import WriteLoad, print_summary

LAB_LABEL = "io.beauty-galera.lab"
WSREP_QUERY = (
    "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN "
    "('WSREP_CLUSTER_STATUS', 'WSREP_LOCAL_STATE_COMMENT', 'WSREP_READY') ORDER BY VARIABLE_NAME"
)
SYNCED = ["Primary", "Synced", "ON"]
HAPROXY_STAT_PY = """
import csv, json, socket, sys
conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
conn.settimeout(5)
conn.connect(sys.argv[1])
conn.sendall(b"show stat\\n")
data = b""
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    data += chunk
rows = csv.DictReader(data.decode().lstrip("# ").splitlines())
print(json.dumps({r["svname"]: r["status"] for r in rows if r.get("pxname") == sys.argv[2]}))
"""


def docker(*args, timeout=60):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


def wsrep_state(container):
    result = docker("exec", container, "mariadb", "-NB", "--connect-timeout=2", "-e", WSREP_QUERY, timeout=15)
    return result.stdout.split() if result.returncode == 0 else None


def haproxy_status(container, server, socket_path, backend):
    result = docker("exec", container, "python3", "-c", HAPROXY_STAT_PY, socket_path, backend, timeout=15)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout).get(server)


def wait_until(condition, timeout, interval=0.5):
    """Poll condition() until true; return the seconds it took, or None on timeout."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if condition():
            return time.monotonic() - began
        time.sleep(interval)
    return None


def start_container(name, tries=3):
    """docker start, then make sure it stays up: a systemd container started moments after a
    kill has been seen to exit at once (255, no output). Returns the failed starts' exit codes."""
    failed = []
    for _ in range(tries):
        result = docker("start", name)
        if result.returncode != 0:
            raise RuntimeError(f"docker start {name} failed: {result.stderr.strip()}")
        if wait_until(lambda: container_state(name) != "running", 5) is None:
            return failed
        failed.append(docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip())
    raise RuntimeError(f"{name} exited right after docker start {tries} times (exit codes {failed})")


def container_state(name):
    return docker("inspect", "--format", "{{.State.Status}}", name).stdout.strip()


def cluster_identity(container):
    """(cluster state uuid, cluster size) as the node reports them, or None."""
    query = (
        "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN "
        "('WSREP_CLUSTER_SIZE', 'WSREP_CLUSTER_STATE_UUID') ORDER BY VARIABLE_NAME"
    )
    result = docker("exec", container, "mariadb", "-NB", "--connect-timeout=2", "-e", query, timeout=15)
    values = result.stdout.split()
    return (values[1], int(values[0])) if result.returncode == 0 and len(values) == 2 else None


def inventory_galera_hosts(path):
    """The galera group of an Ansible inventory, read with the ansible-inventory next to this Python."""
    tool = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    result = subprocess.run(
        [tool if os.path.exists(tool) else "ansible-inventory", "-i", path, "--list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"cannot read inventory {path}: {result.stderr.strip()[:300]}")
    return json.loads(result.stdout).get("galera", {}).get("hosts", [])


def check_lab_container(name):
    result = docker("inspect", "--format", "{{json .Config.Labels}} {{.State.Running}}", name)
    if result.returncode != 0:
        sys.exit(f"refusing: no container named {name!r}")
    labels, _, running = result.stdout.strip().rpartition(" ")
    if json.loads(labels or "{}").get(LAB_LABEL) != "true":
        sys.exit(f"refusing: {name!r} is not a lab container (label {LAB_LABEL}=true missing)")
    if running != "true":
        sys.exit(f"refusing: {name!r} is not running; start from a healthy cluster")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.bench_failover", description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", required=True, help="every Galera node container of the lab, comma-separated")
    parser.add_argument("--kill", default="mariadb-node2", help="the node container to kill (must be in --nodes)")
    parser.add_argument("--inventory", help="also refuse node names outside this inventory's galera group")
    parser.add_argument("--app", default="http://127.0.0.1:5000", help="app base URL the writes go through")
    parser.add_argument("--haproxy", help="HAProxy container: also report when the node is UP there again")
    parser.add_argument("--server", help="its HAProxy server name (default: node<N> from the container name)")
    parser.add_argument("--haproxy-socket", default="/run/haproxy/admin.sock")
    parser.add_argument("--backend", default="galera")
    parser.add_argument("--rate", type=float, default=20.0, help="writes per second (default 20)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of writes before the kill")
    parser.add_argument("--down", type=float, default=15.0, help="seconds of writes while the node is dead")
    parser.add_argument("--after", type=float, default=5.0, help="seconds of writes after it is Synced again")
    parser.add_argument("--sync-timeout", type=float, default=300.0)
    parser.add_argument(
        "--keep-rows",
        action="store_true",
        help="keep the run's wl-* products (by default they are deleted once every node holds them all,"
        " so the next `make bench` measures the same list; after a loss they are always kept)",
    )
    return parser.parse_args(argv)


def delete_run_rows(container, load):
    """Remove this run's products through one member (Galera replicates the DELETE)."""
    result = docker("exec", container, "mariadb", "-e", f"DELETE FROM {load.app_rows()}", timeout=60)
    print(f"  the run's rows: {'deleted' if result.returncode == 0 else 'NOT deleted: ' + result.stderr.strip()}")


def main(argv=None):
    args = parse_args(argv)
    nodes = [n.strip() for n in args.nodes.split(",") if n.strip()]
    if args.kill not in nodes:
        sys.exit(f"refusing: --kill {args.kill!r} is not one of --nodes {nodes}")
    if args.inventory:
        allowed = inventory_galera_hosts(args.inventory)
        strangers = [n for n in nodes if n not in allowed]
        if strangers:
            sys.exit(f"refusing: {strangers} not in the galera group of {args.inventory} ({allowed})")
    for name in nodes + ([args.haproxy] if args.haproxy else []):
        check_lab_container(name)
    # --nodes must be exactly one whole cluster, so a typo cannot reach into another lab.
    identities = {n: cluster_identity(n) for n in nodes}
    if len(set(identities.values())) != 1 or None in identities.values() or identities[nodes[0]][1] != len(nodes):
        sys.exit(f"refusing: --nodes are not exactly one whole cluster (state uuid, size): {identities}")
    unsynced = [n for n in nodes if wsrep_state(n) != SYNCED]
    if unsynced:
        sys.exit(f"refusing: not Synced and Primary before the test: {unsynced}")
    server = args.server or ("node" + args.kill.rsplit("node", 1)[-1] if "node" in args.kill else args.kill)

    load = WriteLoad(("app", args.app), rate=args.rate)
    load.start()
    t0 = load.started_at
    time.sleep(args.warmup)

    t_kill = time.monotonic()
    result = docker("kill", args.kill)
    if result.returncode != 0:
        load.stop()
        sys.exit(f"docker kill {args.kill} failed: {result.stderr.strip()}")
    time.sleep(args.down)

    t_start = time.monotonic()
    try:
        failed_starts = start_container(args.kill)
    except RuntimeError as exc:
        load.stop()
        sys.exit(str(exc))
    to_synced = to_up = None
    if wait_until(lambda: wsrep_state(args.kill) == SYNCED, args.sync_timeout) is not None:
        to_synced = time.monotonic() - t_start
    if to_synced is not None and args.haproxy:

        def haproxy_up():
            return haproxy_status(args.haproxy, server, args.haproxy_socket, args.backend) == "UP"

        if wait_until(haproxy_up, 60) is not None:
            to_up = time.monotonic() - t_start
    time.sleep(args.after)
    summary = load.stop()

    print(f"failover: killed {args.kill} at +{t_kill - t0:.1f} s, started it again at +{t_start - t0:.1f} s")
    if failed_starts:
        print(
            f"  note: {args.kill} exited at once after docker start {len(failed_starts)}x"
            f" (exit {failed_starts}); started again"
        )
    print_summary(summary)
    print(
        "  writes during the outage: failed "
        f"{sum(1 for a in load.attempts if not a.ok and a.started >= t_kill)} of "
        f"{sum(1 for a in load.attempts if a.started >= t_kill)} attempted from the kill on"
    )
    if to_synced is None:
        print(f"  {args.kill} was NOT Synced within {args.sync_timeout:.0f} s of docker start")
    else:
        print(
            f"  {args.kill} Synced+Primary {to_synced:.1f} s after docker start"
            f" ({t_start - t_kill + to_synced:.1f} s after the kill)"
        )
    if args.haproxy:
        up = f"{to_up:.1f} s after docker start" if to_up is not None else "NOT UP within 60 s of being Synced"
        print(f"  HAProxy {args.haproxy} {args.backend}/{server}: {up}")

    lost = False
    if to_synced is not None:
        missing = load.missing_on_nodes(nodes)
        for node, seqs in missing.items():
            verdict = "all acknowledged writes present" if not seqs else f"MISSING {len(seqs)}: {seqs[:20]}"
            print(f"  {node}: {verdict}")
        lost = any(missing.values())
    else:
        missing = load.missing_on_nodes([n for n in nodes if n != args.kill])
        lost = any(missing.values())
        print(f"  survivors: {missing}")
    if not lost and to_synced is not None and not args.keep_rows:
        delete_run_rows(nodes[0], load)
    return 1 if lost or to_synced is None else 0


if __name__ == "__main__":
    sys.exit(main())
