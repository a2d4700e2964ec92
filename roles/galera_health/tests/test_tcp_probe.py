"""The optional TCP probe: the check sees what a TCP client (the app) would see."""

from conftest import free_port, wait_until

PROBE_USER = "healthprobe"
PROBE_PASSWORD = "probe-secret-for-tests"


def login_settings(galera, tmp_path, port=None):
    password_file = tmp_path / "probe-password"
    password_file.write_text(PROBE_PASSWORD + "\n", encoding="utf-8")
    return {
        "tcp_probe": "login",
        "tcp_address": "127.0.0.1",
        "tcp_port": str(port or galera.port),
        "tcp_user": PROBE_USER,
        "tcp_password_file": str(password_file),
    }


def ensure_probe_account(galera):
    galera.execute(
        "CREATE USER IF NOT EXISTS %s@'127.0.0.1' IDENTIFIED BY %s WITH MAX_USER_CONNECTIONS 2",
        (PROBE_USER, PROBE_PASSWORD),
    )


def aborted_connects(galera):
    return int(galera.status("Aborted_connects"))


def test_login_probe_passes_and_leaves_no_aborted_connects(galera, endpoint_factory, tmp_path):
    ensure_probe_account(galera)
    before = aborted_connects(galera)
    endpoint = endpoint_factory(mariadb=login_settings(galera, tmp_path))
    endpoint.wait_for(200, "Synced")
    logins_before = int(galera.status("Connections"))
    # Several refreshes, each with a TCP login, must pass by.
    endpoint.wait_for(200, "Synced")

    wait_until(lambda: int(galera.status("Connections")) - logins_before >= 8, 10, "refreshes")
    assert aborted_connects(galera) == before


def test_login_probe_drains_a_node_whose_tcp_port_refuses(galera, endpoint_factory, tmp_path):
    ensure_probe_account(galera)
    endpoint = endpoint_factory(mariadb=login_settings(galera, tmp_path, port=free_port()))
    endpoint.wait_for(503, "refuses TCP clients")


def test_login_probe_reports_a_refused_login(galera, endpoint_factory, tmp_path):
    ensure_probe_account(galera)
    settings = login_settings(galera, tmp_path)
    (tmp_path / "probe-password").write_text("wrong\n", encoding="utf-8")
    endpoint = endpoint_factory(mariadb=settings)
    endpoint.wait_for(503, "(1045)")


def test_greeting_probe_passes_but_counts_aborted_connects(galera, endpoint_factory):
    """The measurement behind tcp_probe's default: a greeting-only probe is not free."""
    before = aborted_connects(galera)
    endpoint = endpoint_factory(
        mariadb={"tcp_probe": "greeting", "tcp_address": "127.0.0.1", "tcp_port": str(galera.port)}
    )
    endpoint.wait_for(200, "Synced")

    wait_until(lambda: aborted_connects(galera) - before >= 3, 10, "Aborted_connects to grow")


def test_greeting_probe_drains_a_node_whose_tcp_port_refuses(endpoint_factory):
    endpoint = endpoint_factory(
        mariadb={"tcp_probe": "greeting", "tcp_address": "127.0.0.1", "tcp_port": str(free_port())}
    )
    endpoint.wait_for(503, "refuses TCP clients")
