"""Issue 14: Prometheus, its exporters and the dashboard, as site.yml deployed them in the lab.

Every request goes to the lab's containers or this machine's published port. The faults
scenario makes the alerts fire (test_60_alerts.py); here the healthy system is checked:
what is scraped, who may read what, that each request is logged once, and the dashboard in a
real browser (its screenshot is artifacts/dashboard.png; docs/dashboard.png is a copy). Costs
about 30 s.
"""

import os
import time

import pytest
import requests

import lab
import monitoring

EXPECTED_JOBS = {"prometheus": 1, "mysqld": 3, "haproxy": 1, "beauty-app": 1}


def test_prometheus_refuses_requests_without_the_password(inv):
    url = monitoring.prometheus_url(inv)
    assert requests.get(f"{url}/api/v1/targets", timeout=10).status_code == 401
    assert (
        requests.get(f"{url}/api/v1/targets", auth=(lab.PROMETHEUS_USER, "wrong-password"), timeout=10).status_code
        == 401
    )
    # The published port, as make demo prints it, is the same Prometheus.
    published = requests.get(f"http://127.0.0.1:{lab.PORTS['prometheus']}/-/ready", auth=monitoring.auth(), timeout=10)
    assert published.status_code == 200, published.text


def test_every_member_haproxy_and_the_app_are_scraped(inv):
    def all_up():
        up = monitoring.targets_up(inv)
        return all(len(up.get(job, [])) == count for job, count in EXPECTED_JOBS.items()) and up

    up = lab.wait_for(all_up, 60, f"every target up: {EXPECTED_JOBS}", interval=1)
    sizes = monitoring.query(inv, "mysql_global_status_wsrep_cluster_size")
    assert sorted(r["metric"]["member"] for r in sizes) == ["node1", "node2", "node3"], sizes
    assert {r["value"][1] for r in sizes} == {"3"}, sizes
    assert monitoring.query(inv, "galera:expected_cluster_size")[0]["value"][1] == "3"
    # HAProxy's exporter names the Galera backend's servers as the members are named.
    servers = monitoring.query(inv, "haproxy_server_status{proxy='galera', state='UP'} == 1")
    assert sorted(r["metric"]["server"] for r in servers) == ["node1", "node2", "node3"], (servers, up)


def test_a_healthy_cluster_fires_no_alert(inv):
    lab.wait_for(lambda: not monitoring.alerts(inv), 90, "no alert firing on the healthy cluster", interval=1)
    rules = monitoring.api(inv, "rules")["groups"]
    names = {rule["name"] for group in rules for rule in group["rules"]}
    expected = {"GaleraMemberDown", "GaleraClusterSizeBelowExpected", "GaleraNonPrimary", "HAProxyGaleraServerDown"}
    assert expected <= names, names


def test_exporters_answer_prometheus_only(inv, nodes):
    app_host = inv["groups"]["demo_app"][0]
    haproxy_ip = inv["hostvars"][inv["groups"]["haproxy"][0]]["lab_ipv4"]
    metrics = f"http://{haproxy_ip}:{lab.PORTS['haproxy_metrics']}/metrics"
    # HAProxy's exporter refuses any source but Prometheus (and HAProxy's own host).
    refused = lab.docker_exec(app_host, "curl", "-sS", "-m", "5", "-o", "/dev/null", metrics, check=False)
    assert refused.returncode != 0, refused
    monitor = inv["groups"]["monitoring"][0]
    allowed = lab.docker_exec(monitor, "curl", "-sS", "-m", "5", metrics)
    assert "haproxy_server_status" in allowed.stdout
    # The mysqld exporter's account: no password exists, and it may only read server status.
    grants = "\n".join(row[0] for row in lab.sql(nodes[0], "SHOW GRANTS FOR 'prometheus'@'localhost'"))
    assert "unix_socket" in grants and "PROCESS" in grants, grants
    for forbidden in ("SELECT", "INSERT", "UPDATE", "DELETE", "ALL PRIVILEGES", "SUPER"):
        assert forbidden not in grants.replace("BINLOG MONITOR", "").replace("SLAVE MONITOR", ""), grants


def test_the_app_links_its_cluster_panel_to_the_dashboard(app_url, inv):
    page = requests.get(f"{app_url}/", timeout=10).text
    public = inv["hostvars"][inv["groups"]["demo_app"][0]]["monitoring_public_url"]
    assert 'id="cluster-dashboard"' in page
    assert f'href="{public}/consoles/galera.html"' in page


def test_the_dashboard_shows_every_member_in_a_browser(inv):
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium = os.environ.get("BEAUTY_CHROMIUM", "/usr/bin/chromium")
    shot = lab.ROOT / "artifacts" / "dashboard.png"
    shot.parent.mkdir(exist_ok=True)
    problems = []
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        try:
            user, password = monitoring.auth()
            context = browser.new_context(
                viewport={"width": 1280, "height": 1400}, http_credentials={"username": user, "password": password}
            )
            page = context.new_page()
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(f"http://127.0.0.1:{lab.PORTS['prometheus']}/consoles/galera.html", wait_until="networkidle")
            rows = page.locator("#galera-members tbody tr")
            assert rows.count() == 3
            assert page.locator("#galera-members").inner_text().count("Synced") == 3
            # Each graph draws its lines with an SVG once Prometheus' query_range answered.
            for graph in ("graph-state", "graph-writes", "graph-haproxy-share", "graph-app"):
                page.wait_for_selector(f"#{graph} svg path", state="attached", timeout=15_000)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert not problems, problems
    assert shot.stat().st_size > 20_000


def test_each_request_is_logged_once_by_nginx(inv, app_url):
    # nginx writes the access log; gunicorn's own copy of every line went through journald and
    # cost about a fifth of a page's CPU (make bench), so the app's journal holds no request.
    app_host = inv["groups"]["demo_app"][0]
    marker = f"log-once-{os.getpid()}-{int(time.time() * 1000)}"
    assert requests.get(f"{app_url}/?{marker}", timeout=10).status_code == 200

    def logged():
        log = lab.docker_exec(app_host, "grep", "-c", marker, "/var/log/nginx/access.log", check=False)
        return log.stdout.strip() == "1"

    lab.wait_for(logged, 10, f"nginx's access log names {marker} once", interval=0.2)
    journal = lab.docker_exec(app_host, "journalctl", "-u", "beauty-app", "--no-pager", "-o", "cat").stdout
    assert marker not in journal, "gunicorn logged the request to the journal too"
