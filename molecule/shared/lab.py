"""Helpers the molecule scenarios share: inventory, credentials, SQL on a node, waiting.

Everything here talks to the project's own lab containers on this machine (docker exec,
loopback ports, the lab network); nothing reaches any other address.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = Path(os.environ.get("BEAUTY_TEST_INVENTORY", ROOT / "inventories/docker/hosts.yml"))

# The values the roles default to (roles/shared): ports by short name, e.g. PORTS["frontend"]
# for shared_frontend_port, and the MariaDB socket. Tests read them here, never restate them.
_SHARED = yaml.safe_load((ROOT / "roles/shared/defaults/main.yml").read_text())
PORTS = {
    key.removeprefix("shared_").removesuffix("_port"): int(value)
    for key, value in _SHARED.items()
    if key.endswith("_port")
}
MARIADB_SOCKET = _SHARED["shared_mariadb_socket"]
# The app's database and the accounts the galera role creates.
DATABASE = _SHARED["shared_database"]
APP_USER = _SHARED["shared_app_db_user"]
ADMIN_USER = _SHARED["shared_admin_db_user"]
# The web logins of HAProxy's statistics page and of Prometheus.
STATS_USER = _SHARED["shared_stats_user"]
PROMETHEUS_USER = _SHARED["shared_prometheus_user"]
# While this file exists a member's health endpoint answers 503 and HAProxy takes it out.
MAINTENANCE_FILE = yaml.safe_load((ROOT / "roles/galera_health/defaults/main.yml").read_text())[
    "galera_health_maintenance_file"
]


def ansible_env() -> dict:
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["PATH"] = f"{ROOT / '.venv/bin'}:{env.get('PATH', '')}"
    # The tests read playbooks' output: molecule forces colour on (ANSIBLE_FORCE_COLOR),
    # and an escape code before a line's text hides it from a pattern anchored at its start.
    env.pop("ANSIBLE_FORCE_COLOR", None)
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


def inventory(path: Path = INVENTORY) -> dict:
    """The inventory as ansible-inventory sees it: {'groups': {...}, 'hostvars': {...}}."""
    out = subprocess.run(
        ["ansible-inventory", "-i", str(path), "--list"],
        check=True,
        capture_output=True,
        text=True,
        env=ansible_env(),
        cwd=ROOT,
    ).stdout
    data = json.loads(out)
    groups = {name: body.get("hosts", []) for name, body in data.items() if isinstance(body, dict) and name != "_meta"}
    return {"groups": groups, "hostvars": data["_meta"]["hostvars"]}


def credentials_dir(environment: str = "docker") -> Path:
    """The inventory's credentials_dir; BEAUTY_TEST_CREDENTIALS names it for a private lab."""
    override = os.environ.get("BEAUTY_TEST_CREDENTIALS")
    return Path(override) if override else ROOT / "credentials" / environment


def credential(name: str, environment: str = "docker") -> str:
    return (credentials_dir(environment) / name).read_text().strip()


def run_playbook(
    playbook: str, *args: str, inventory_path: Path = INVENTORY, timeout: int = 900
) -> subprocess.CompletedProcess:
    # The scenario's own extra vars (tls: tls_enabled=true), so a day-2 playbook sees the same system.
    extra = os.environ.get("BEAUTY_TEST_EXTRA_VARS")
    if extra:
        args = (*args, "-e", extra)
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory_path), f"playbooks/{playbook}", *args],
        capture_output=True,
        text=True,
        env=ansible_env(),
        cwd=ROOT,
        timeout=timeout,
    )


def docker_exec(container: str, *cmd: str, check: bool = True, timeout: int = 60) -> subprocess.CompletedProcess:
    # Output is text for the tests, but some commands also print what a peer sent them
    # (openssl s_client prints Galera's binary handshake): such bytes become U+FFFD.
    return subprocess.run(
        ["docker", "exec", container, *cmd],
        check=check,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
    )


def start_container(container: str) -> None:
    """docker start, then wait until the node's systemd has booted (lab/boot-container.sh)."""
    subprocess.run(
        [str(ROOT / "lab/boot-container.sh"), container], check=True, capture_output=True, text=True, timeout=240
    )


def connected(network: str, container: str) -> bool:
    """Whether the container is attached to the network (docker network disconnect cuts it off)."""
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", container],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return f'"{network}"' in out


def sql(container: str, query: str, database: str | None = None) -> list[list[str]]:
    """Runs a query on one node as root over its unix socket (no password exists there)."""
    cmd = ["mariadb", "--batch", "--skip-column-names", "-e", query]
    if database:
        cmd.append(database)
    out = docker_exec(container, *cmd).stdout
    return [line.split("\t") for line in out.splitlines()]


def wsrep(container: str) -> dict[str, str]:
    try:
        rows = sql(container, "SHOW GLOBAL STATUS LIKE 'wsrep_%'")
    except subprocess.CalledProcessError:
        return {}
    return {name: value for name, value in rows}


def is_synced(container: str) -> bool:
    s = wsrep(container)
    return (
        s.get("wsrep_local_state_comment") == "Synced"
        and s.get("wsrep_cluster_status") == "Primary"
        and s.get("wsrep_ready") == "ON"
    )


def wait_for(condition, timeout: float, what: str, interval: float = 0.5):
    """Polls condition() until it returns something truthy; fails naming what it waited for."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except Exception as exc:  # noqa: BLE001 - a probe may fail while a node is down; keep polling
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def haproxy_servers(stats_url: str, password: str, user: str = STATS_USER) -> dict[str, str]:
    """{server name: status} for the Galera backend, from HAProxy's CSV stats."""
    resp = requests.get(f"{stats_url};csv", auth=(user, password), timeout=3)
    resp.raise_for_status()
    rows = csv.DictReader(io.StringIO(resp.text.lstrip("# ")))
    return {
        r["svname"]: r["status"] for r in rows if r["svname"] not in ("FRONTEND", "BACKEND") and r["pxname"] != "stats"
    }


def haproxy_is_down(stats_url: str, password: str, server: str) -> bool:
    """True once HAProxy has taken the server out (not while it is only 'UP 1/2', going down)."""
    return lab_status(stats_url, password, server).startswith(("DOWN", "MAINT", "DRAIN", "NOLB"))


def lab_status(stats_url: str, password: str, server: str) -> str:
    return haproxy_servers(stats_url, password).get(server, "MISSING")
