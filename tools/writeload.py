"""A steady write load with a ledger: which writes were acknowledged, and are they on every node?

Two targets:
  ("db", host, port, user, password, database)
      INSERT one row per attempt into <database>.writeload_ledger through HAProxy.
  ("app", base_url)
      POST one product per attempt to <base_url>/api/products, named wl-<run_id>-<seq>.

A write counts as ACKNOWLEDGED only when COMMIT returned (db) or the app answered 201 (app).
Failed attempts may still have been written (the answer was lost); only acknowledged
writes missing from a node are lost writes.

    load = WriteLoad(("db", "127.0.0.1", 3300, "beauty_app", password, "beauty"), rate=20)
    load.start()
    ...                       # break something
    summary = load.stop()
    lost = load.missing_on_nodes(["mariadb-node1", "mariadb-node2", "mariadb-node3"])

CLI (passwords come from a file or an environment variable, never from argv):
    python -m tools.writeload --db 127.0.0.1:3300 --user beauty_app \\
        --password-file credentials/docker/db_app --rate 20 --duration 30 \\
        --check-nodes mariadb-node1,mariadb-node2,mariadb-node3
    python -m tools.writeload --app http://127.0.0.1:5000 --duration 30 --check-nodes ...
"""

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass

LEDGER_TABLE = "writeload_ledger"
LEDGER_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    run_id VARCHAR(64) NOT NULL,
    seq INT NOT NULL,
    payload VARCHAR(64) NOT NULL,
    created_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6),
    UNIQUE KEY run_seq (run_id, seq)
) ENGINE=InnoDB
"""
# run_id and database names end up inside SQL text run by `mariadb -e`; keep them inert.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
SAFE_DATABASE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
APP_NAME_PREFIX = "wl-"
# The app waits up to its DB_READ_TIMEOUT (10 s) and retries once; a client that gave up
# sooner would count writes the app completed as failures.
DEFAULT_TIMEOUT = {"db": 2.0, "app": 12.0}


@dataclass
class Attempt:
    seq: int
    started: float  # time.monotonic()
    ended: float
    ok: bool
    error: str = ""
    # db mode: where it failed (connect, insert, commit). A failed commit has an unknown outcome.
    phase: str = ""


def new_run_id():
    return time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(4)


class WriteLoad:
    """One background thread writing one row every 1/rate seconds until stop() or max_duration."""

    def __init__(self, target, rate=20.0, run_id=None, max_duration=None, timeout=None):
        if not target or target[0] not in ("db", "app"):
            raise ValueError("target must be ('db', host, port, user, password, database) or ('app', base_url)")
        self.mode = target[0]
        if self.mode == "db":
            if len(target) != 6:
                raise ValueError("db target is ('db', host, port, user, password, database)")
            _, self.host, self.port, self.user, self._password, self.database = target
            self.port = int(self.port)
            if not SAFE_DATABASE.match(self.database):
                raise ValueError(f"database name {self.database!r} must be letters, digits and _")
        else:
            if len(target) != 2:
                raise ValueError("app target is ('app', base_url)")
            self.base_url = target[1].rstrip("/")
            self.database = "beauty"
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = float(rate)
        self.run_id = run_id or new_run_id()
        if not SAFE_NAME.match(self.run_id):
            raise ValueError(f"run_id {self.run_id!r} must be letters, digits and '-' (max 64)")
        self.max_duration = max_duration
        self.timeout = float(timeout) if timeout else DEFAULT_TIMEOUT[self.mode]
        self.attempts = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._conn = None
        self._session = None
        self.started_at = None
        self.stopped_at = None

    # ----- lifecycle -------------------------------------------------------------------

    def start(self):
        if self._thread is not None:
            raise RuntimeError("this WriteLoad was already started")
        if self.mode == "db":
            self.ensure_table()
        else:
            import requests  # only app mode needs it

            self._session = requests.Session()
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"writeload-{self.run_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop writing (waits for the attempt in flight) and return the summary."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.stopped_at is None:
            self.stopped_at = time.monotonic()
        self._close()
        return self.summary()

    def wait(self):
        """Block until max_duration ends the run, then return the summary."""
        if self.max_duration is None:
            raise RuntimeError("wait() needs max_duration; use stop() otherwise")
        self._thread.join()
        return self.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _run(self):
        interval = 1.0 / self.rate
        due = self.started_at
        seq = 0
        while not self._stop.is_set():
            now = time.monotonic()
            if self.max_duration is not None and now - self.started_at >= self.max_duration:
                break
            if now < due:
                self._stop.wait(due - now)
                continue
            seq += 1
            attempt = self._write_db(seq) if self.mode == "db" else self._write_app(seq)
            with self._lock:
                self.attempts.append(attempt)
            due += interval
            # After a stall (a timeout), resume the steady rate instead of bursting to catch up.
            if time.monotonic() - due > interval:
                due = time.monotonic()
        self.stopped_at = time.monotonic()

    # ----- one write ---------------------------------------------------------------------

    def _connect(self):
        import MySQLdb

        seconds = max(1, round(self.timeout))
        return MySQLdb.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self._password,
            database=self.database,
            connect_timeout=seconds,
            read_timeout=seconds,
            write_timeout=seconds,
            autocommit=False,
        )

    def _close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - a dead connection may fail to close; it is gone either way
                pass
            self._conn = None
        if self._session is not None:
            self._session.close()

    def ensure_table(self):
        """Create the ledger table if it is missing (the app account has CREATE on its database)."""
        conn = self._connect()
        try:
            cur = conn.cursor()
            cur.execute(LEDGER_SCHEMA)
            conn.commit()
        finally:
            conn.close()

    def _write_db(self, seq):
        started = time.monotonic()
        phase = "connect"
        try:
            if self._conn is None:
                self._conn = self._connect()
            phase = "insert"
            cur = self._conn.cursor()
            cur.execute(
                f"INSERT INTO {LEDGER_TABLE} (run_id, seq, payload) VALUES (%s, %s, %s)",
                (self.run_id, seq, f"{self.run_id}:{seq}"),
            )
            cur.close()
            phase = "commit"
            self._conn.commit()
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, the load goes on
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception:  # noqa: BLE001 - closing a failed connection may fail too; it is dropped
                    pass
                self._conn = None
            return Attempt(seq, started, time.monotonic(), False, _describe(exc), phase)
        return Attempt(seq, started, time.monotonic(), True, "", "commit")

    def _write_app(self, seq):
        started = time.monotonic()
        body = {"name": f"{APP_NAME_PREFIX}{self.run_id}-{seq}", "price": "1.00", "stock": seq}
        try:
            response = self._session.post(
                f"{self.base_url}/api/products", json=body, timeout=(min(2.0, self.timeout), self.timeout)
            )
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, the load goes on
            return Attempt(seq, started, time.monotonic(), False, _describe(exc), "request")
        if response.status_code == 201:
            return Attempt(seq, started, time.monotonic(), True, "", "response")
        text = response.text.strip().replace("\n", " ")[:160]
        return Attempt(seq, started, time.monotonic(), False, f"HTTP {response.status_code}: {text}", "response")

    # ----- results ---------------------------------------------------------------------

    def acknowledged_seqs(self):
        with self._lock:
            return sorted(a.seq for a in self.attempts if a.ok)

    def failed_seqs(self):
        with self._lock:
            return sorted(a.seq for a in self.attempts if not a.ok)

    def error_windows(self):
        """[(start, end)] in seconds since start(): first failure until the next success (or stop)."""
        with self._lock:
            attempts = list(self.attempts)
        windows = []
        opened = None
        for attempt in attempts:
            if not attempt.ok and opened is None:
                opened = attempt.started
            elif attempt.ok and opened is not None:
                windows.append((opened - self.started_at, attempt.ended - self.started_at))
                opened = None
        if opened is not None:
            end = self.stopped_at if self.stopped_at is not None else time.monotonic()
            windows.append((opened - self.started_at, end - self.started_at))
        return windows

    def summary(self):
        with self._lock:
            attempts = list(self.attempts)
        acked = [a for a in attempts if a.ok]
        failed = [a for a in attempts if not a.ok]
        windows = self.error_windows()
        end = self.stopped_at if self.stopped_at is not None else time.monotonic()
        duration = end - self.started_at if self.started_at is not None else 0.0
        latencies = sorted(a.ended - a.started for a in acked)
        samples = Counter(a.error for a in failed)
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "target": self._describe_target(),
            "rate_requested": self.rate,
            "duration_s": round(duration, 2),
            # Below rate_requested when attempts took longer than 1/rate (one writer thread).
            "rate_achieved": round(len(attempts) / duration, 1) if duration else 0.0,
            "attempts": len(attempts),
            "acknowledged": len(acked),
            "failed": len(failed),
            # db mode: failed at COMMIT, so the row may or may not exist (not a loss either way).
            "failed_outcome_unknown": sum(1 for a in failed if a.phase in ("commit", "request")),
            "longest_error_window_s": round(max((e - s for s, e in windows), default=0.0), 2),
            "error_windows_s": [(round(s, 2), round(e, 2)) for s, e in windows],
            "latency_ms": {
                "p50": _ms(_percentile(latencies, 50)),
                "p95": _ms(_percentile(latencies, 95)),
                "max": _ms(latencies[-1] if latencies else None),
            },
            "error_samples": [f"{count}x {text}" for text, count in samples.most_common(5)],
        }

    def _describe_target(self):
        if self.mode == "db":
            return f"db {self.user}@{self.host}:{self.port}/{self.database}"
        return f"app {self.base_url}"

    # ----- verification ----------------------------------------------------------------

    def verification_query(self):
        if self.mode == "db":
            return f"SELECT seq FROM {self.database}.{LEDGER_TABLE} WHERE run_id = '{self.run_id}'"
        return f"SELECT name FROM {self.app_rows()}"

    def app_rows(self):
        """The products this run wrote through the app, as SQL: `<table> WHERE <this run>`."""
        # '_' and '%' never occur in a run_id, so LIKE matches this run only; names are parsed anyway.
        return f"{self.database}.products WHERE name LIKE '{APP_NAME_PREFIX}{self.run_id}-%'"

    def seqs_on_node(self, container):
        """The set of this run's seqs one node holds, read on that node as root over its socket.

        wsrep_sync_wait makes the read wait until the node has applied everything the cluster
        committed before it, so a lagging applier is not mistaken for a lost write."""
        sql = f"SET SESSION wsrep_sync_wait = 1; {self.verification_query()}"
        result = subprocess.run(
            ["docker", "exec", container, "mariadb", "-NB", "-e", sql],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise NodeUnreadable(container, result.stderr.strip() or f"exit {result.returncode}")
        values = [line.strip() for line in result.stdout.splitlines() if line.strip()]
        if self.mode == "db":
            return {int(v) for v in values}
        prefix = f"{APP_NAME_PREFIX}{self.run_id}-"
        return {int(v[len(prefix) :]) for v in values if v.startswith(prefix) and v[len(prefix) :].isdigit()}

    def missing_on_nodes(self, containers, retry_for=60.0):
        """{container: [acknowledged seqs missing there]}; an empty list everywhere means no lost writes.

        A node that cannot answer yet (still joining) is asked again for up to retry_for seconds;
        after that NodeUnreadable is raised, because an unread node proves nothing."""
        acked = set(self.acknowledged_seqs())
        missing = {}
        for container in containers:
            deadline = time.monotonic() + retry_for
            while True:
                try:
                    present = self.seqs_on_node(container)
                    break
                except NodeUnreadable:
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(1.0)
            missing[container] = sorted(acked - present)
        return missing

    def present_unacknowledged(self, container):
        """Failed seqs that were written anyway (answer lost): expected now and then, not an error."""
        return sorted(set(self.failed_seqs()) & self.seqs_on_node(container))


class NodeUnreadable(RuntimeError):
    def __init__(self, container, detail):
        super().__init__(f"cannot read the ledger on {container}: {detail}")
        self.container = container


def _describe(exc):
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:200]


def _percentile(sorted_values, pct):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)


def read_secret(path=None, env=None):
    """A password from a file (first line) or an environment variable; never from argv."""
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.readline().strip()
    if env:
        value = os.environ.get(env)
        if value is None:
            raise SystemExit(f"environment variable {env} is not set")
        return value
    raise SystemExit("give --password-file or --password-env")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tools.writeload",
        description="Write at a steady rate, then check that every acknowledged write is on every node.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", metavar="HOST:PORT", help="write ledger rows through this MariaDB/HAProxy address")
    where.add_argument("--app", metavar="URL", help="POST products to this app base URL")
    parser.add_argument("--user", default="beauty_app", help="database user (--db); default beauty_app")
    parser.add_argument("--password-file", help="file whose first line is the password (--db)")
    parser.add_argument("--password-env", default="WRITELOAD_PASSWORD", help="or this environment variable (--db)")
    parser.add_argument("--database", default="beauty")
    parser.add_argument("--rate", type=float, default=20.0, help="writes per second (default 20)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds to write (default 30)")
    parser.add_argument("--timeout", type=float, help="per-attempt timeout in s (default 2 db, 12 app)")
    parser.add_argument("--run-id", help="ledger run id (default: time + random)")
    parser.add_argument("--check-nodes", metavar="C1,C2,...", help="Galera node containers to verify via docker exec")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return parser.parse_args(argv)


def target_from_args(args):
    if args.app:
        return ("app", args.app)
    host, sep, port = args.db.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"--db must be HOST:PORT, not {args.db!r}")
    return ("db", host, int(port), args.user, read_secret(args.password_file, args.password_env), args.database)


def print_summary(summary, out=sys.stdout):
    print(
        f"run {summary['run_id']}  {summary['target']}  {summary['duration_s']} s"
        f" at {summary['rate_achieved']}/s (asked {summary['rate_requested']}/s)",
        file=out,
    )
    print(
        f"  attempts {summary['attempts']}  acknowledged {summary['acknowledged']}  failed {summary['failed']}"
        f" (outcome unknown {summary['failed_outcome_unknown']})",
        file=out,
    )
    lat = summary["latency_ms"]
    print(f"  latency ms p50 {lat['p50']}  p95 {lat['p95']}  max {lat['max']}", file=out)
    print(
        f"  longest error window {summary['longest_error_window_s']} s  windows {summary['error_windows_s']}", file=out
    )
    for sample in summary["error_samples"]:
        print(f"  error: {sample}", file=out)


def main(argv=None):
    args = parse_args(argv)
    load = WriteLoad(
        target_from_args(args), rate=args.rate, run_id=args.run_id, max_duration=args.duration, timeout=args.timeout
    )
    load.start()
    try:
        summary = load.wait()
    except KeyboardInterrupt:
        summary = load.stop()
    result = {"summary": summary}
    lost = False
    if args.check_nodes:
        nodes = [n.strip() for n in args.check_nodes.split(",") if n.strip()]
        missing = load.missing_on_nodes(nodes)
        result["missing_on_nodes"] = missing
        lost = any(missing.values())
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_summary(summary)
        for node, seqs in result.get("missing_on_nodes", {}).items():
            verdict = "all acknowledged writes present" if not seqs else f"MISSING {len(seqs)}: {seqs[:20]}"
            print(f"  {node}: {verdict}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
