"""Settings validation: bad values are refused before the service starts."""

import subprocess
import sys

import pytest

from conftest import SCRIPT, load_module


@pytest.fixture(scope="module")
def health():
    return load_module()


def write(tmp_path, text):
    path = tmp_path / "galera-health.conf"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults_are_safe(health, tmp_path):
    settings = health.load_settings(write(tmp_path, "[server]\n"))
    assert settings.bind_addresses == ["127.0.0.1"]
    assert settings.cache_ttl == 0.5
    assert settings.stale_after == 3
    assert settings.client_timeout == 1.5
    assert settings.max_clients == 128
    assert settings.tcp_probe == "off"


def test_several_bind_addresses_are_deduplicated(health, tmp_path):
    settings = health.load_settings(write(tmp_path, "[server]\nbind_address = 10.0.0.5, 127.0.0.1 10.0.0.5\n"))
    assert settings.bind_addresses == ["10.0.0.5", "127.0.0.1"]


@pytest.mark.parametrize(
    "section, key, value, complaint",
    [
        ("check", "cache_ttl", "0", "check.cache_ttl"),
        ("check", "cache_ttl", "-1", "check.cache_ttl"),
        ("check", "cache_ttl", "nan", "check.cache_ttl"),
        ("check", "cache_ttl", "soon", "check.cache_ttl"),
        ("check", "cache_ttl", "6", "check.cache_ttl"),
        ("check", "stale_after", "0.9", "twice check.cache_ttl"),
        ("check", "stale_after", "61", "check.stale_after"),
        ("server", "client_timeout", "0", "server.client_timeout"),
        ("server", "max_clients", "2", "server.max_clients"),
        ("server", "max_clients", "many", "server.max_clients"),
        ("server", "bind_address", " ", "server.bind_address"),
        ("server", "port", "70000", "server.port"),
        ("mariadb", "tcp_probe", "yes", "mariadb.tcp_probe"),
        ("mariadb", "tcp_port", "0", "mariadb.tcp_port"),
    ],
)
def test_bad_values_are_refused(health, tmp_path, section, key, value, complaint):
    path = write(tmp_path, "[%s]\n%s = %s\n" % (section, key, value))
    with pytest.raises(ValueError, match=complaint):
        health.load_settings(path)


def test_login_probe_needs_an_account(health, tmp_path):
    with pytest.raises(ValueError, match="tcp_user"):
        health.load_settings(write(tmp_path, "[mariadb]\ntcp_probe = login\n"))
    with pytest.raises(ValueError, match="tcp_password_file"):
        health.load_settings(write(tmp_path, "[mariadb]\ntcp_probe = login\ntcp_user = probe\ntcp_password_file = x\n"))


def test_check_config_exits_2_on_a_bad_value(tmp_path):
    path = write(tmp_path, "[check]\ncache_ttl = 0\n")
    result = subprocess.run(
        [sys.executable, SCRIPT, "--check-config", "--config", path],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "cache_ttl" in result.stderr


def test_the_watch_is_off_unless_set(health, tmp_path):
    settings = health.load_settings(write(tmp_path, "[server]\n"))
    assert settings.rejoin_after == 0
    assert settings.rejoin_service == "mariadb.service"


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("[rejoin]\nafter = 5\n", "rejoin.after must be 0 (off) or at least 10"),
        ("[rejoin]\nafter = 99999\n", "rejoin.after must be between 0 and 3600"),
        ("[rejoin]\nafter = soon\n", "rejoin.after must be a whole number"),
        ("[rejoin]\nafter = 60\nservice = ../x\n", "rejoin.service must be a systemd unit name"),
    ],
)
def test_bad_rejoin_settings_are_refused(health, tmp_path, text, complaint):
    with pytest.raises(ValueError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        health.load_settings(write(tmp_path, text))
