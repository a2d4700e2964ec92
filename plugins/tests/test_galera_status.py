"""Unit tests of status.yml's report (plugins/filter/galera_status.py)."""

import pytest
from galera_status import FilterModule, galera_status_report

UUID = "6f1c3b9e-5d2a-11ef-9a3e-0242ac1e000b"
OTHER_UUID = "7a2d4c0f-6e3b-11ef-8b4f-0242ac1e000c"
MEMBERS = ["mariadb-node1", "mariadb-node2", "mariadb-node3"]


def wsrep(size="3", state="Synced", status="Primary", uuid=UUID, ready="ON"):
    return {
        "wsrep_local_state_comment": state,
        "wsrep_cluster_size": size,
        "wsrep_cluster_status": status,
        "wsrep_cluster_state_uuid": uuid,
        "wsrep_last_committed": "42",
        "wsrep_flow_control_paused": "0",
        "wsrep_ready": ready,
    }


def servers(**states):
    names = {"node1": "UP", "node2": "UP", "node3": "UP", **states}
    return {name: {"status": status, "sessions": 2, "check": "L7OK"} for name, status in names.items()}


def healthy():
    """hostvars of a healthy lab: three members, one HAProxy, one app."""
    facts = {
        host: {"galera_node_name": host.split("-")[1], "ops_wsrep": wsrep(), "ops_wsrep_error": ""} for host in MEMBERS
    }
    facts["haproxy-lb"] = {"ops_haproxy_servers": servers(), "ops_haproxy_error": ""}
    facts["beauty-app"] = {"ops_app_health": {"status": 200, "json": {"status": "ok", "node": "node2"}, "msg": "OK"}}
    return facts


def report(facts, arbitrators=(), proxies=("haproxy-lb",), apps=("beauty-app",), members=MEMBERS, size=None):
    return galera_status_report(
        facts,
        members=members,
        arbitrators=arbitrators,
        proxies=proxies,
        apps=apps,
        backend="galera",
        expected_size=size if size is not None else len(members) + len(arbitrators),
    )


def test_a_healthy_cluster_has_a_full_table_and_no_problem():
    result = report(healthy())
    assert result["problems"] == []
    assert result["table"] == [
        "member        state     size status     last_comm fc_paused haproxy (sessions)",
        "mariadb-node1 Synced       3 Primary           42 0.000000  UP (2)",
        "mariadb-node2 Synced       3 Primary           42 0.000000  UP (2)",
        "mariadb-node3 Synced       3 Primary           42 0.000000  UP (2)",
        f"cluster state uuid {UUID}: node1, node2, node3",
        "app beauty-app: answers, database via node2",
    ]


def test_a_member_that_is_down_is_a_row_and_problems():
    facts = healthy()
    facts["mariadb-node2"].update(ops_wsrep={}, ops_wsrep_error="ERROR 2002 (HY000): Can't connect")
    facts["mariadb-node1"]["ops_wsrep"] = wsrep(size="2")
    facts["mariadb-node3"]["ops_wsrep"] = wsrep(size="2")
    facts["haproxy-lb"]["ops_haproxy_servers"] = servers(node2="DOWN")
    result = report(facts)
    assert "mariadb-node2 DOWN         - -                  - -          UP (2)" not in result["table"]
    assert "mariadb-node2 DOWN         - -                  - -         DOWN (2)" in result["table"]
    assert "mariadb-node2: ERROR 2002 (HY000): Can't connect" in result["table"]
    assert result["problems"] == [
        "mariadb-node1: cluster size 2, expected 3",
        "mariadb-node2: host or mariadb not answering (ERROR 2002 (HY000): Can't connect)",
        "haproxy-lb: backend galera/node2 is DOWN",
        "mariadb-node3: cluster size 2, expected 3",
    ]


def test_a_non_primary_member_is_named_for_each_thing_wrong():
    facts = healthy()
    facts["mariadb-node3"]["ops_wsrep"] = wsrep(size="1", state="Initialized", status="non-Primary", ready="OFF")
    problems = report(facts)["problems"]
    assert problems == [
        "mariadb-node3: Initialized, not Synced",
        "mariadb-node3: non-Primary, not Primary",
        "mariadb-node3: wsrep_ready OFF",
        "mariadb-node3: cluster size 1, expected 3",
    ]


def test_a_long_state_is_cut_to_its_column_and_numbers_are_read_as_jinja_did():
    facts = healthy()
    facts["mariadb-node1"]["ops_wsrep"].update(wsrep_local_state_comment="Donor/Desynced")
    facts["mariadb-node1"]["ops_wsrep"]["wsrep_flow_control_paused"] = "0.123456789"
    facts["mariadb-node2"]["ops_wsrep"].update(wsrep_local_state_comment="Joining: receiving State Transfer")
    facts["mariadb-node3"]["ops_wsrep"].update(wsrep_cluster_size="3.0", wsrep_flow_control_paused="n/a")
    result = report(facts)
    # Jinja's truncate leaves up to 5 characters over the length (its leeway).
    assert result["table"][1].startswith("mariadb-node1 Donor/Desynced    3 Primary           42 0.123457 ")
    assert result["table"][2].startswith("mariadb-node2 Joining:     3 ")
    assert result["table"][3] == "mariadb-node3 Synced     3.0 Primary           42 0.000000  UP (2)"
    assert "mariadb-node3: cluster size 3.0, expected 3" not in result["problems"]
    assert result["problems"] == [
        "mariadb-node1: Donor/Desynced, not Synced",
        "mariadb-node2: Joining: receiving State Transfer, not Synced",
    ]


def test_garbd_is_counted_in_the_expected_size():
    members = ["arb-node1", "arb-node2"]
    facts = {h: {"galera_node_name": h, "ops_wsrep": wsrep(size="3"), "ops_wsrep_error": ""} for h in members}
    facts["arb-garbd"] = {"ops_garbd_raw": {"stdout": "active", "rc": 0}}
    facts["haproxy-lb"] = {"ops_haproxy_servers": {h: {"status": "UP", "sessions": 0} for h in members}}
    facts["haproxy-lb"]["ops_haproxy_error"] = ""
    facts["beauty-app"] = healthy()["beauty-app"]
    result = report(facts, members=members, arbitrators=["arb-garbd"])
    assert result["problems"] == []
    assert "arb-garbd garbd        - active             - -         arbitrator (no data)" in result["table"]


def test_a_wrong_size_names_garbd_only_when_there_is_one():
    facts = healthy()
    facts["mariadb-node1"]["ops_wsrep"]["wsrep_cluster_size"] = "2"
    assert "mariadb-node1: cluster size 2, expected 3" in report(facts)["problems"]
    facts["arb-garbd"] = {"ops_garbd_raw": {"stdout": "active"}}
    problems = report(facts, arbitrators=["arb-garbd"])["problems"]
    assert "mariadb-node1: cluster size 2, expected 4 (members and garbd)" in problems
    assert "mariadb-node2: cluster size 3, expected 4 (members and garbd)" in problems


def test_a_garbd_that_is_stopped_or_unreachable_is_a_problem():
    facts = healthy()
    facts["arb-garbd"] = {"ops_garbd_raw": {"stdout": "inactive", "rc": 3}}
    facts["arb-garbd2"] = {"ops_garbd_raw": {"unreachable": True, "msg": "Failed to connect"}}
    result = report(facts, arbitrators=["arb-garbd", "arb-garbd2"], size=3)
    assert result["problems"] == ["arb-garbd: garbd inactive, not active", "arb-garbd2: garbd unreachable, not active"]
    # The member column is as wide as the longest name, arbitrators included.
    assert result["table"][0].startswith("member        state")


def test_members_that_disagree_on_the_uuid_are_a_problem_and_grouped_in_the_table():
    facts = healthy()
    facts["mariadb-node2"]["ops_wsrep"]["wsrep_cluster_state_uuid"] = OTHER_UUID
    result = report(facts)
    assert result["problems"] == [f"members disagree on the cluster state uuid: {UUID}, {OTHER_UUID}"]
    assert f"cluster state uuid {UUID}: node1, node3" in result["table"]
    assert f"cluster state uuid {OTHER_UUID}: node2" in result["table"]


def test_a_server_down_or_missing_in_haproxy_is_a_problem():
    facts = healthy()
    facts["haproxy-lb"]["ops_haproxy_servers"] = servers(node1="DOWN", node3="MAINT")
    del facts["haproxy-lb"]["ops_haproxy_servers"]["node2"]
    result = report(facts)
    assert result["problems"] == [
        "haproxy-lb: backend galera/node1 is DOWN",
        "haproxy-lb: backend galera/node2 is missing",
        "haproxy-lb: backend galera/node3 is MAINT",
    ]
    assert result["table"][2].endswith(" ? (?)")


def test_a_runtime_api_not_read_is_one_problem_not_one_per_member():
    facts = healthy()
    facts["haproxy-lb"] = {"ops_haproxy_servers": {}, "ops_haproxy_error": "[Errno 2] No such file or directory"}
    facts["haproxy-lb2"] = {}  # left out by --limit: none of its facts
    result = report(facts, proxies=["haproxy-lb", "haproxy-lb2"])
    assert result["problems"] == [
        "haproxy-lb: HAProxy runtime API not read ([Errno 2] No such file or directory)",
        "haproxy-lb2: HAProxy runtime API not read (not read)",
    ]
    assert "haproxy haproxy-lb: runtime API not read: [Errno 2] No such file or directory" in result["table"]
    assert "haproxy haproxy-lb2: runtime API not read: not read" in result["table"]
    assert result["table"][1].endswith(" ? (?) ? (?)")


@pytest.mark.parametrize(
    ("health", "line"),
    [
        (
            {"status": -1, "msg": "Status code was -1 and not [200, 503]: Request failed: <urlopen error [Errno 111]>"},
            "app beauty-app: NOT ANSWERING (-1 Status code was -1 and not [200, 503]: Request failed:...)",
        ),
        (
            {"status": 503, "json": {"status": "db down"}, "msg": "HTTP Error 503"},
            "app beauty-app: NOT ANSWERING (503 HTTP Error 503)",
        ),
        ({"status": 200, "msg": "OK (12 bytes)"}, "app beauty-app: NOT ANSWERING (200 OK (12 bytes))"),
        (None, "app beauty-app: NOT ANSWERING (- not asked)"),
    ],
)
def test_an_app_that_does_not_answer_is_named(health, line):
    facts = healthy()
    if health is None:
        del facts["beauty-app"]["ops_app_health"]
    else:
        facts["beauty-app"]["ops_app_health"] = health
    result = report(facts)
    assert line in result["table"]
    if health is None or health["status"] != 200:
        assert result["problems"] == ["beauty-app: app not answering /healthz"]
    else:
        # 200 without JSON: the table says so, but the app answers.
        assert result["problems"] == []


def test_a_host_without_facts_reads_as_not_read():
    facts = healthy()
    facts["mariadb-node3"] = {"galera_node_name": "node3"}
    result = report(facts)
    assert "mariadb-node3: not read" in result["table"]
    assert "mariadb-node3: host or mariadb not answering (not read)" in result["problems"]


def test_a_multi_line_error_is_printed_one_line_each():
    facts = healthy()
    facts["mariadb-node2"].update(ops_wsrep={}, ops_wsrep_error="first line\nsecond line")
    result = report(facts)
    assert result["problems"][:2] == ["mariadb-node2: host or mariadb not answering (first line", "second line)"]


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"galera_status_report": galera_status_report}
