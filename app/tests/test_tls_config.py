"""TLS to the database: the CA setting turns it on, and /api/status tells whether it is on."""

from beauty.config import parse_key_value_file
from beauty.db import tls_options


def test_no_ca_means_no_tls_options():
    assert tls_options({"DB_SSL_CA": ""}) == {}


def test_a_ca_means_verified_tls_that_must_succeed():
    assert tls_options({"DB_SSL_CA": "/etc/beauty-tls/ca.pem"}) == {
        "ssl": {"ca": "/etc/beauty-tls/ca.pem"},
        "ssl_mode": "REQUIRED",
    }


def test_the_config_file_names_the_ca(tmp_path, monkeypatch):
    from beauty import create_app

    conf = tmp_path / "beauty.conf"
    conf.write_text("BEAUTY_DB_SSL_CA=/etc/beauty-tls/ca.pem\nBEAUTY_SECRET_KEY=x\n")
    assert parse_key_value_file(conf)["BEAUTY_DB_SSL_CA"] == "/etc/beauty-tls/ca.pem"
    monkeypatch.setenv("BEAUTY_CONFIG", str(conf))
    assert create_app().config["DB_SSL_CA"] == "/etc/beauty-tls/ca.pem"


def test_status_says_the_local_test_session_is_not_encrypted(client):
    # The test server runs without TLS; in the lab the TLS scenario expects a cipher here.
    assert client.get("/api/status").get_json()["db_tls_cipher"] is None
