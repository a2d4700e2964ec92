"""Client TLS: the app's sessions are encrypted, and logins without TLS or with a foreign CA fail."""

import requests

import lab
from tlslab import foreign_ca, login, refusal_code, session_cipher

FRONTEND_PORT = lab.PORTS["frontend"]


def test_app_sessions_report_a_tls_cipher(app_url, nodes):
    # Enough requests for round-robin to reach every member.
    ciphers = []
    for _ in range(3 * len(nodes)):
        resp = requests.get(f"{app_url}/api/status", timeout=10)
        assert resp.status_code == 200, resp.text
        ciphers.append(resp.json()["db_tls_cipher"])
    assert all(ciphers), f"a session of the app was not encrypted: {ciphers}"


def test_app_and_admin_accounts_require_ssl(nodes):
    rows = lab.sql(
        nodes[0], f"SELECT User, Host, ssl_type FROM mysql.user WHERE User IN ('{lab.APP_USER}', '{lab.ADMIN_USER}')"
    )
    assert rows, "the accounts are missing"
    assert all(r[2] == "ANY" for r in rows), f"an account does not REQUIRE SSL: {rows}"


def test_server_refuses_tcp_logins_without_tls(nodes):
    assert lab.sql(nodes[0], "SELECT @@require_secure_transport") == [["1"]]


def test_a_client_without_tls_is_refused(proxy):
    _, address = proxy
    for user, secret in ((lab.APP_USER, "db_app"), (lab.ADMIN_USER, "db_admin")):
        code = refusal_code(address, FRONTEND_PORT, user, lab.credential(secret), ca=None)
        assert code in (1045, 4151, 3159), f"{user} without TLS: unexpected error {code}"


def test_the_same_login_with_tls_works_and_is_encrypted(proxy, ca_file):
    _, address = proxy
    conn = login(address, FRONTEND_PORT, lab.APP_USER, lab.credential("db_app"), ca=ca_file)
    try:
        assert session_cipher(conn)
    finally:
        conn.close()


def test_a_server_certificate_from_another_ca_is_rejected(proxy, tmp_path):
    # The client checks the chain (VERIFY_CA): the right password is not enough.
    _, address = proxy
    code = refusal_code(address, FRONTEND_PORT, lab.APP_USER, lab.credential("db_app"), ca=foreign_ca(tmp_path))
    assert code == 2026, f"expected a TLS verification error (2026), got {code}"


def test_the_app_user_still_cannot_read_mysql_user(proxy, ca_file):
    _, address = proxy
    conn = login(address, FRONTEND_PORT, lab.APP_USER, lab.credential("db_app"), ca=ca_file)
    try:
        cur = conn.cursor()
        try:
            cur.execute("SELECT User FROM mysql.user")
        except Exception as exc:  # noqa: BLE001 - OperationalError or ProgrammingError; 1142 is asserted
            assert exc.args[0] == 1142, exc
        else:
            raise AssertionError("the app user read mysql.user")
    finally:
        conn.close()
