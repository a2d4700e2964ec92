"""Helpers for the monitoring tests: Prometheus' HTTP API on the lab's monitoring host.

Prometheus is asked at its container address on the lab network (no docker-proxy in the
path), with the password the credentials play generated; nothing leaves this machine.
"""

from __future__ import annotations

import requests

import lab


def prometheus_url(inv: dict) -> str:
    host = inv["groups"]["monitoring"][0]
    return f"http://{inv['hostvars'][host]['lab_ipv4']}:{lab.PORTS['prometheus']}"


def auth() -> tuple[str, str]:
    return (lab.PROMETHEUS_USER, lab.credential("prometheus"))


def api(inv: dict, path: str, **params) -> dict:
    """GET /api/v1/<path>; returns its `data`, failing on an HTTP or API error."""
    response = requests.get(f"{prometheus_url(inv)}/api/v1/{path}", params=params, auth=auth(), timeout=10)
    response.raise_for_status()
    body = response.json()
    assert body.get("status") == "success", body
    return body["data"]


def query(inv: dict, expr: str) -> list[dict]:
    return api(inv, "query", query=expr)["result"]


def alerts(inv: dict, state: str = "firing") -> list[dict]:
    """Active alerts in `state` (firing or pending), each {'labels': ..., 'state': ...}."""
    return [a for a in api(inv, "alerts")["alerts"] if a["state"] == state]


def firing(inv: dict, name: str, **labels: str) -> list[dict]:
    """The firing alerts called `name` whose labels include `labels`."""
    return [
        a
        for a in alerts(inv)
        if a["labels"].get("alertname") == name and all(a["labels"].get(k) == v for k, v in labels.items())
    ]


def targets_up(inv: dict) -> dict[str, list[str]]:
    """{job: [instance, ...]} of the active targets whose last scrape succeeded."""
    out: dict[str, list[str]] = {}
    for target in api(inv, "targets", state="active")["activeTargets"]:
        if target["health"] == "up":
            out.setdefault(target["labels"]["job"], []).append(target["labels"]["instance"])
    return out
