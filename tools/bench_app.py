"""App throughput: requests/s and latency for the list page and the JSON list, at 1, 8 and 32 clients.

    python -m tools.bench_app                                   # published port (the user's path)
    python -m tools.bench_app --direct-url http://172.30.0.30:5000   # and the container address
    python -m tools.bench_app --inside beauty-app   # and nginx against gunicorn alone, in the container

Through a published port every request also crosses docker-proxy, which costs throughput
on this machine; --direct-url measures the same app without it. The load generator runs on
the same cores as the lab, so the figures are for comparing, not absolute capacity.
No pass/fail: it prints a table.
"""

import argparse
import http.client
import json
import os
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
        "p95_ms": percentile(latencies, 95) * 1000,
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
        "--read-your-writes",
        type=int,
        default=50,
        metavar="PAIRS",
        help="POST-then-GET pairs timing a read with and without causal reads (0: skip; default 50)",
    )
    parser.add_argument(
        "--inside",
        metavar="CONTAINER",
        help="also run the table inside this app container: nginx (:5000) against gunicorn alone (:5001)",
    )
    return parser.parse_args(argv)


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
    for label, url in targets:
        try:
            status = Client(url, args.timeout).get(paths[0])
        except (OSError, http.client.HTTPException) as exc:
            sys.exit(f"{label} {url} does not answer: {exc}")
        if status != 200:
            sys.exit(f"{label} {url}{paths[0]} answered {status}, not 200")
    for label, url in targets:
        print(f"{label}: {url}")
    print(f"{args.duration:g} s per row; errors = non-200 answers or failed requests\n")
    header = (
        f"{'via':<10} {'path':<15} {'clients':>7} {'requests':>8}"
        f" {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, url in targets:
        for path in paths:
            for clients in levels:
                r = run_level(url, path, clients, args.duration, args.timeout)
                print(
                    f"{label:<10} {path:<15} {clients:>7} {r['ok']:>8} {r['errors']:>6} {r['rps']:>8.1f}"
                    f" {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f}",
                    flush=True,
                )
    if args.read_your_writes:
        caused, plain, errors = read_your_writes(args.url, args.read_your_writes, args.timeout)
        print(f"\nRead right after one's own write ({args.read_your_writes} pairs, {errors} errors), GET ms:")
        print(f"{'read':<34} {'p50 ms':>8} {'p95 ms':>8}")
        for label, sample in (("causal (after-write cookie)", caused), ("plain (no cookie)", plain)):
            print(f"{label:<34} {percentile(sample, 50) * 1000:>8.1f} {percentile(sample, 95) * 1000:>8.1f}")
    if args.inside:
        return run_inside(args.inside, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
