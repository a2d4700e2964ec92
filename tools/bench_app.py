"""App throughput: requests/s and latency for the list page and the JSON list, at 1, 8 and 32 clients.

    python -m tools.bench_app                                   # published port (the user's path)
    python -m tools.bench_app --direct-url http://172.30.0.30:5000   # and the container address
    python -m tools.bench_app --inside beauty-app   # and nginx against gunicorn alone, in the container,
                                                    # then gunicorn with database TLS forced off and on

Each row says whether the app's database sessions used TLS (from /api/status). With
--inside, two extra gunicorns are started in the container from the running one's own
command line and environment, one with BEAUTY_DB_SSL_CA empty (TLS off) and one with it
set to --ca (TLS on, skipped when that file is missing), measured, and stopped.
On this side the load comes from wrk when it is installed (as in the issue: one thread,
keep-alive), else from this script's own threads; inside the container always the latter.

Through a published port every request also crosses docker-proxy, which costs throughput
on this machine; --direct-url measures the same app without it. The load generator runs on
the same cores as the lab, so the figures are for comparing, not absolute capacity.
Every row costs the page and the JSON list, so the list is topped up to --products rows
(21, as in issue 13's figures) with bench-fill-* products that are deleted afterwards, and
the count measured with is printed (the tests' write loads leave many more rows in a lab).
No pass/fail: it prints a table.

Two columns do not depend on how busy the machine's neighbours are: "cpu ms/req" is the CPU
time this whole machine spent (lab, load generator and all: /proc/stat, which a container
shares with its host) divided by the requests the row served, and "idle %" the share of the
cores left idle. Throughput on a shared 2-core machine moves by a third from one run to the
next; the CPU a request costs moves far less, so compare changes by it.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

DEFAULT_URL = "http://127.0.0.1:5000"
DEFAULT_PATHS = ["/", "/api/products"]
DEFAULT_CLIENTS = [1, 8, 32]


class Client:
    """One keep-alive HTTP connection that reopens when the server closes it (gunicorn sync workers do)."""

    def __init__(self, base_url, timeout):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme != "http":
            raise ValueError(f"only http:// URLs, not {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.conn = None

    def get(self, path):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request("GET", self.prefix + path)
            response = self.conn.getresponse()
            response.read()
            if response.will_close:
                self.close()
            return response.status
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def request(self, method, path, body=None, headers=None):
        """One request; returns (status, headers, body)."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, self.prefix + path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
            if response.will_close:
                self.close()
            return response.status, response, data
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run_level(base_url, path, clients, duration, timeout):
    """`clients` threads request `path` back to back for `duration` seconds."""
    latencies = []
    errors = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker():
        client = Client(base_url, timeout)
        mine, bad = [], 0
        start_gate.wait()
        while time.monotonic() < stop_at[0]:
            began = time.monotonic()
            try:
                status = client.get(path)
                if status == 200:
                    mine.append(time.monotonic() - began)
                else:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
        client.close()
        with lock:
            latencies.extend(mine)
            errors.append(bad)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + duration
    began = time.monotonic()
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "ok": len(latencies),
        "errors": sum(errors),
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_ms(text):
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * WRK_UNITS[match.group(2)] if match else float("nan")


def run_level_wrk(base_url, path, clients, duration, timeout):
    """The same measurement by wrk (one thread, `clients` keep-alive connections)."""
    command = [
        "wrk",
        "-t1",
        f"-c{clients}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={max(1, round(timeout))}s",
        "--latency",
        base_url.rstrip("/") + path,
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=duration + timeout + 30, check=False).stdout
    total = re.search(r"([0-9]+) requests in ([0-9.]+)(\w+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", out)
    sockets = re.search(r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    requests = int(total.group(1)) if total else 0
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.MULTILINE))
    return {
        "ok": requests - (int(non_2xx.group(1)) if non_2xx else 0),
        "errors": errors if total else max(errors, 1),
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": _wrk_ms(latency.get("50", "")),
        "p99_ms": _wrk_ms(latency.get("99", "")),
    }


def read_your_writes(base_url, pairs, timeout):
    """POST a product, then GET it at once: with the app's after-write cookie (causal reads,
    wsrep_sync_wait) and without it (a plain read). Each product is deleted afterwards."""
    client = Client(base_url, timeout)
    with_cookie, without_cookie, errors = [], [], 0
    for index in range(pairs):
        body = json.dumps({"name": f"bench-ryw-{uuid.uuid4().hex[:10]}", "price": "1.00", "stock": index})
        try:
            status, response, _ = client.request("POST", "/api/products", body, {"Content-Type": "application/json"})
            if status != 201:
                errors += 1
                continue
            location = urllib.parse.urlsplit(response.getheader("Location")).path
            cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
            for sample, headers in ((with_cookie, {"Cookie": cookie} if cookie else {}), (without_cookie, {})):
                began = time.monotonic()
                status, _, _ = client.request("GET", location, headers=headers)
                if status == 200:
                    sample.append(time.monotonic() - began)
                else:
                    errors += 1
            client.request("DELETE", location, headers={"Cookie": cookie} if cookie else {})
        except (OSError, http.client.HTTPException):
            errors += 1
    client.close()
    return sorted(with_cookie), sorted(without_cookie), errors


def product_count(base_url, timeout):
    """How many rows the measured list holds: the tests' write loads add rows to the lab's
    table, and every row costs the page and the JSON list, so a figure means little without it."""
    client = Client(base_url, timeout)
    try:
        # The list is paged; the status card's count is the table's (up to 10,000).
        return json.loads(client.request("GET", "/api/status")[2])["total_products"]
    finally:
        client.close()


def fill_products(base_url, wanted, timeout, added):
    """Top the list up to `wanted` rows with bench-fill-* products (the issue measured 21),
    so figures compare across labs; each one's path goes into `added` for remove_products."""
    client = Client(base_url, timeout)
    try:
        for index in range(max(0, wanted - product_count(base_url, timeout))):
            body = json.dumps({"name": f"bench-fill-{uuid.uuid4().hex[:10]}", "price": "9.99", "stock": index})
            status, response, _ = client.request("POST", "/api/products", body, {"Content-Type": "application/json"})
            if status != 201:
                raise SystemExit(f"adding a product for the measurement answered {status}")
            added.append(urllib.parse.urlsplit(response.getheader("Location")).path)
    finally:
        client.close()


def remove_products(base_url, paths, timeout):
    client = Client(base_url, timeout)
    try:
        for path in paths:
            client.request("DELETE", path)
    finally:
        client.close()


def percentile(sorted_values, pct):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.bench_app", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"app base URL, normally the published port (default {DEFAULT_URL})"
    )
    parser.add_argument("--direct-url", help="also measure this URL, e.g. the app container's address:5000")
    parser.add_argument(
        "--paths", default=",".join(DEFAULT_PATHS), help="comma-separated paths (default / and /api/products)"
    )
    parser.add_argument(
        "--clients", default=",".join(map(str, DEFAULT_CLIENTS)), help="comma-separated concurrency levels"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in seconds")
    parser.add_argument("--names", default="published,direct", help=argparse.SUPPRESS)
    parser.add_argument(
        "--products",
        type=int,
        default=21,
        help="measure with at least this many products in the list: bench-fill-* rows are added for the"
        " run and deleted after it (default 21, as in issue 13's figures; 0: the list as it is)",
    )
    parser.add_argument(
        "--read-your-writes",
        type=int,
        default=50,
        metavar="PAIRS",
        help="POST-then-GET pairs timing a read with and without causal reads (0: skip; default 50)",
    )
    parser.add_argument(
        "--inside",
        metavar="CONTAINER",
        help="also run the table inside this app container: nginx (:5000) against gunicorn alone (:5001),"
        " then gunicorn with database TLS off and on",
    )
    parser.add_argument(
        "--engine",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk, this script's threads, or wrk when installed (default)",
    )
    parser.add_argument("--ca", default="/etc/beauty-tls/ca.pem", help="CA file for the TLS-on gunicorn (--inside)")
    parser.add_argument("--tls-variants", action="store_true", help=argparse.SUPPRESS)
    # Which gunicorn to copy when more than one runs on this machine (local measurements).
    parser.add_argument("--gunicorn-pid", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def tls_state(url, timeout):
    """'on' or 'off' as the app reports its database session, '?' when it does not say."""
    try:
        status, _, data = Client(url, timeout).request("GET", "/api/status")
        cipher = json.loads(data).get("db_tls_cipher") if status == 200 else None
    except (OSError, http.client.HTTPException, ValueError):
        return "?"
    return "on" if cipher else "off" if status == 200 else "?"


def running_gunicorn(only_pid=None):
    """pid, argv and environment of the app's gunicorn master in this machine or container."""
    for entry in [str(only_pid)] if only_pid else os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = [a.decode() for a in handle.read().split(b"\0") if a]
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                ppid = handle.read().rsplit(")", 1)[1].split()[1]
            with open(f"/proc/{ppid}/cmdline", "rb") as handle:
                parent_is_gunicorn = b"gunicorn" in handle.read()
        except OSError:
            continue
        if not parent_is_gunicorn and any("gunicorn" in a for a in argv[:2]) and any("beauty" in a for a in argv):
            with open(f"/proc/{entry}/environ", "rb") as handle:
                env = dict(v.decode().split("=", 1) for v in handle.read().split(b"\0") if b"=" in v)
            return int(entry), argv, env
    return None


def start_variant(master, port, ca):
    """A copy of the app's gunicorn on 127.0.0.1:port, as the same user, with TLS set by ``ca``."""
    pid, argv, env = master
    argv = list(argv)
    for index, arg in enumerate(argv):
        if arg == "--bind":
            argv[index + 1] = f"127.0.0.1:{port}"
        elif arg.startswith("--bind="):
            argv[index] = f"--bind=127.0.0.1:{port}"
    env = dict(env, BEAUTY_DB_SSL_CA=ca)
    # Its own requests must not land in the service's metrics files (they share the
    # directory otherwise); the copy keeps its metrics in memory instead.
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    owner = os.stat(f"/proc/{pid}")
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except PermissionError:
        # Another user's cwd needs ptrace rights, which a container without CAP_SYS_PTRACE
        # lacks even for root; the app is installed in its venv, so any directory will do,
        # and the venv's parent (the unit's WorkingDirectory) is the one it runs in.
        cwd = os.path.dirname(os.path.dirname(os.path.dirname(argv[0]))) or "/"
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        user=owner.st_uid,
        group=owner.st_gid,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if Client(f"http://127.0.0.1:{port}", 5).get("/healthz") == 200:
                return process
        except (OSError, http.client.HTTPException):
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    stop_variant(process)
    return None


def stop_variant(process):
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tls_variants(args):
    """Inside the app's machine: gunicorn alone with database TLS off, then on."""
    master = running_gunicorn(args.gunicorn_pid)
    if master is None:
        print("no running gunicorn of the app found; TLS off/on rows skipped")
        return 1
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    levels = [int(c) for c in args.clients.split(",") if c.strip()]
    print(f"\nA copy of the app's gunicorn ({' '.join(master[1][1:])}) with database TLS off and on", flush=True)
    print_header()
    for label, ca, port in (("tls-off", "", 5011), ("tls-on", args.ca, 5012)):
        if ca and not os.path.isfile(ca):
            print(f"{label:<10} skipped: {ca} does not exist (TLS is not set up in this lab)")
            continue
        process = start_variant(master, port, ca)
        if process is None:
            # Expected for tls-off when the app account REQUIRES SSL (the tls scenario's lab).
            print(f"{label:<10} skipped: the copy on :{port} did not become healthy (does the account require TLS?)")
            continue
        try:
            measure(label, f"http://127.0.0.1:{port}", paths, levels, args, "python")
        finally:
            stop_variant(process)
    return 0


def cpu_jiffies(path="/proc/stat"):
    """(busy, idle) clock ticks of every core since boot, from /proc/stat's first line."""
    with open(path) as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq = fields[:7]
    return user + nice + system + irq + softirq, idle + iowait


def cpu_columns(before, after, requests):
    """(CPU ms per request, % idle) between two cpu_jiffies() readings."""
    busy, idle = after[0] - before[0], after[1] - before[1]
    per_request = busy * 1000 / os.sysconf("SC_CLK_TCK") / requests if requests else float("nan")
    return per_request, 100 * idle / (busy + idle) if busy + idle else float("nan")


def print_header():
    header = (
        f"{'via':<10} {'tls':<4} {'path':<15} {'clients':>7} {'requests':>8}"
        f" {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms/req':>10} {'idle %':>6}"
    )
    print(header)
    print("-" * len(header), flush=True)


def measure(label, url, paths, levels, args, engine):
    tls = tls_state(url, args.timeout)
    run = run_level_wrk if engine == "wrk" else run_level
    for path in paths:
        for clients in levels:
            before = cpu_jiffies()
            r = run(url, path, clients, args.duration, args.timeout)
            cpu_ms, idle = cpu_columns(before, cpu_jiffies(), r["ok"] + r["errors"])
            print(
                f"{label:<10} {tls:<4} {path:<15} {clients:>7} {r['ok']:>8} {r['errors']:>6} {r['rps']:>8.1f}"
                f" {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {cpu_ms:>10.2f} {idle:>6.0f}",
                flush=True,
            )


def run_inside(container, args):
    """The same measurement from inside the app container, where gunicorn's own port is reachable."""
    with open(os.path.abspath(__file__), "rb") as source:
        script = source.read()
    command = [
        "docker",
        "exec",
        "-i",
        container,
        "python3",
        "-",
        "--url",
        "http://127.0.0.1:5000",
        "--direct-url",
        "http://127.0.0.1:5001",
        "--names",
        "nginx,gunicorn",
        "--paths",
        args.paths,
        "--clients",
        args.clients,
        "--duration",
        str(args.duration),
        "--read-your-writes",
        "0",
        "--products",
        "0",
        "--engine",
        "python",
        "--ca",
        args.ca,
        "--tls-variants",
    ]
    print(f"\nInside {container}: nginx in front of gunicorn (:5000) against gunicorn alone (:5001)", flush=True)
    return subprocess.run(command, input=script, check=False).returncode


def main(argv=None):
    args = parse_args(argv)
    names = args.names.split(",")
    targets = [(names[0], args.url)]
    if args.direct_url:
        targets.append((names[1], args.direct_url))
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    levels = [int(c) for c in args.clients.split(",") if c.strip()]
    engine = args.engine
    if engine == "auto":
        engine = "wrk" if shutil.which("wrk") else "python"
    for label, url in targets:
        try:
            status = Client(url, args.timeout).get(paths[0])
        except (OSError, http.client.HTTPException) as exc:
            sys.exit(f"{label} {url} does not answer: {exc}")
        if status != 200:
            sys.exit(f"{label} {url}{paths[0]} answered {status}, not 200")
    for label, url in targets:
        print(f"{label}: {url}")
    filled = []
    try:
        fill_products(args.url, args.products, args.timeout, filled)
        return measure_all(args, targets, paths, levels, engine, filled)
    finally:
        remove_products(args.url, filled, args.timeout)


def measure_all(args, targets, paths, levels, engine, filled):
    print(
        f"{product_count(args.url, args.timeout)} products in the list ({len(filled)} bench-fill-* added for the run;"
        " the page and the JSON list grow with it)"
    )
    print(f"{args.duration:g} s per row, load from {engine}; errors = non-2xx/3xx answers or failed requests\n")
    print_header()
    for label, url in targets:
        measure(label, url, paths, levels, args, engine)
    if args.read_your_writes:
        caused, plain, errors = read_your_writes(args.url, args.read_your_writes, args.timeout)
        print(f"\nRead right after one's own write ({args.read_your_writes} pairs, {errors} errors), GET ms:")
        print(f"{'read':<34} {'p50 ms':>8} {'p95 ms':>8}")
        for label, sample in (("causal (after-write cookie)", caused), ("plain (no cookie)", plain)):
            print(f"{label:<34} {percentile(sample, 50) * 1000:>8.1f} {percentile(sample, 95) * 1000:>8.1f}")
    if args.inside:
        return run_inside(args.inside, args)
    if args.tls_variants:
        return tls_variants(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
