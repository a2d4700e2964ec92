"""playbooks/rotate_password.yml: the app's password changes while the app keeps serving,
the old password stops working, and the stats password follows the same command."""

import threading
import time
import uuid

import pytest
import requests

import lab
from tlslab import login, refusal_code

FRONTEND_PORT = lab.PORTS["frontend"]


def _client(app_url, stop, errors, done):
    while not stop.is_set():
        try:
            page = requests.get(app_url + "/", timeout=10)
            created = requests.post(
                f"{app_url}/api/products",
                json={"name": f"rotation-{uuid.uuid4().hex[:8]}", "price": "10", "stock": 1},
                timeout=10,
            )
            if page.status_code != 200 or created.status_code != 201:
                errors.append((page.status_code, created.status_code, created.text[:200], time.monotonic()))
            else:
                done.append(time.monotonic())
        except requests.RequestException as exc:
            errors.append((str(exc), time.monotonic()))
        time.sleep(0.05)  # pacing of the client, not a wait for a condition


def test_rotating_the_app_password_fails_no_request(app_url, proxy, ca_file):
    _, address = proxy
    old = lab.credential("db_app")
    stop, errors, done = threading.Event(), [], []
    worker = threading.Thread(target=_client, args=(app_url, stop, errors, done), daemon=True)
    worker.start()
    try:
        lab.wait_for(lambda: len(done) >= 5, 60, "the client's first requests")
        started = time.monotonic()
        result = lab.run_playbook("rotate_password.yml", "-e", "account=app")
        took = time.monotonic() - started
        served = len(done)
        lab.wait_for(lambda: len(done) >= served + 5, 60, "requests after the rotation")
    finally:
        stop.set()
        worker.join(30)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    print(f"rotation took {took:.1f} s; {len(done)} requests served, {len(errors)} failed")
    assert errors == [], f"requests failed during the rotation: {errors[:5]}"

    new = lab.credential("db_app")
    assert new != old and len(new) == 32
    assert not (lab.credentials_dir() / "db_app.next").exists()
    conn = login(address, FRONTEND_PORT, lab.APP_USER, new, ca=ca_file)
    conn.close()
    assert refusal_code(address, FRONTEND_PORT, lab.APP_USER, old, ca=ca_file) == 1045


def test_stats_page_is_served_over_tls_only(stats_url, ca_file):
    assert stats_url.startswith("https://")
    assert (
        requests.get(
            stats_url, auth=(lab.STATS_USER, lab.credential("haproxy_stats")), timeout=5, verify=ca_file
        ).status_code
        == 200
    )
    # The same port in clear text must not take the password.
    with pytest.raises(requests.ConnectionError):
        requests.get(stats_url.replace("https://", "http://"), auth=(lab.STATS_USER, "x"), timeout=5)


def test_rotating_the_stats_password(stats_url, ca_file):
    old = lab.credential("haproxy_stats")
    result = lab.run_playbook("rotate_password.yml", "-e", "account=haproxy_stats")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    new = lab.credential("haproxy_stats")
    assert new != old
    # A reload: the old password may be accepted until the new process takes over.
    lab.wait_for(
        lambda: requests.get(stats_url, auth=(lab.STATS_USER, old), timeout=5, verify=ca_file).status_code == 401,
        30,
        "the old stats password to be refused",
    )
    assert requests.get(stats_url, auth=(lab.STATS_USER, new), timeout=5, verify=ca_file).status_code == 200
