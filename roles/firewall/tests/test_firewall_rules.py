"""Unit tests of the firewall role's filter: which project rules are stale."""

from firewall_rules import FilterModule, firewall_stale_rules

ADDED = """Added user rules (see 'ufw status' for running firewall):
ufw allow 22/tcp comment 'beauty-galera ssh'
ufw allow from 172.31.5.12 to any port 4567 proto tcp comment 'beauty-galera galera'
ufw allow from 172.31.5.14 to any port 4567 proto tcp comment 'beauty-galera galera'
ufw allow from 172.31.5.14 to any port 4567 proto udp comment 'beauty-galera galera'
ufw allow 5000/tcp comment 'beauty-galera app'
ufw allow from 10.0.0.1 to any port 80 proto tcp
ufw allow from 10.0.0.2 to any port 4567 proto tcp comment 'beauty-galera-other galera'
""".splitlines()

WANTED = [
    {"from": "any", "port": 22, "proto": "tcp"},
    {"from": "172.31.5.12", "port": 4567, "proto": "tcp"},
    {"from": "any", "port": 5000, "proto": "tcp"},
]


def test_rules_of_a_host_that_left_are_stale():
    stale = firewall_stale_rules(ADDED, WANTED, "beauty-galera")
    assert [(r["from"], r["port"], r["proto"]) for r in stale] == [
        ("172.31.5.14", 4567, "tcp"),
        ("172.31.5.14", 4567, "udp"),
    ]
    assert stale[0]["comment"] == "beauty-galera galera"


def test_the_operators_own_rules_are_never_stale():
    # No comment, or another project's prefix that merely starts the same way: never touched.
    stale = firewall_stale_rules(ADDED, [], "beauty-galera")
    assert {r["from"] for r in stale} == {"any", "172.31.5.12", "172.31.5.14"}
    assert len(stale) == 5


def test_ports_given_as_strings_match():
    wanted = [{"from": "any", "port": "22", "proto": "tcp"}] + WANTED[1:]
    stale = firewall_stale_rules(ADDED, wanted, "beauty-galera")
    assert ("any", 22, "tcp") not in {(r["from"], r["port"], r["proto"]) for r in stale}


def test_nothing_is_stale_when_everything_is_wanted():
    wanted = WANTED + [
        {"from": "172.31.5.14", "port": 4567, "proto": "tcp"},
        {"from": "172.31.5.14", "port": 4567, "proto": "udp"},
    ]
    assert firewall_stale_rules(ADDED, wanted, "beauty-galera") == []


def test_the_filter_is_registered():
    assert FilterModule().filters()["firewall_stale_rules"] is firewall_stale_rules
