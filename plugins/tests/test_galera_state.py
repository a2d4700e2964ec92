"""Unit tests of the grastate.dat and wsrep status parsers (plugins/filter/galera_state.py)."""

import pytest
from galera_state import ZERO_UUID, FilterModule, galera_grastate, galera_status_rows

UUID = "6f1c3b9e-5d2a-11ef-9a3e-0242ac1e000b"

# As MariaDB 10.11 writes it after a clean stop.
CLEAN = f"""# GALERA saved state
version: 2.1
uuid:    {UUID}
seqno:   1234
safe_to_bootstrap: 1
"""


def test_a_cleanly_stopped_member_has_its_position():
    assert galera_grastate(CLEAN) == {
        "uuid": UUID,
        "seqno": 1234,
        "safe_to_bootstrap": True,
        "has_state": True,
        "crashed": False,
    }


def test_a_crashed_member_has_state_but_no_position():
    state = galera_grastate(CLEAN.replace("1234", "-1").replace("safe_to_bootstrap: 1", "safe_to_bootstrap: 0"))
    assert state == {"uuid": UUID, "seqno": -1, "safe_to_bootstrap": False, "has_state": True, "crashed": True}


@pytest.mark.parametrize("text", ["", None, "# GALERA saved state\n", "garbage\n\x00\x00"])
def test_a_missing_empty_or_unreadable_file_is_no_state(text):
    # No seqno line: not "crashed" either, so nothing asks --wsrep-recover for a position.
    assert galera_grastate(text) == {
        "uuid": "",
        "seqno": -1,
        "safe_to_bootstrap": False,
        "has_state": False,
        "crashed": False,
    }


def test_a_member_that_never_joined_has_the_zero_uuid_and_no_state():
    state = galera_grastate(f"version: 2.1\nuuid:    {ZERO_UUID}\nseqno:   -1\nsafe_to_bootstrap: 0\n")
    assert state["uuid"] == ZERO_UUID
    assert state["has_state"] is False
    assert state["crashed"] is True


def test_fields_are_read_whatever_the_spacing_and_the_first_one_counts():
    text = f"uuid:{UUID}\r\n\tseqno:\t\t42\r\nsafe_to_bootstrap:   1\nseqno: 7\n"
    state = galera_grastate(text)
    assert (state["uuid"], state["seqno"], state["safe_to_bootstrap"]) == (UUID, 42, True)


def test_a_seqno_that_is_not_a_number_reads_as_unknown_and_not_crashed():
    state = galera_grastate(f"uuid: {UUID}\nseqno: lots\n")
    assert (state["seqno"], state["crashed"], state["has_state"]) == (-1, False, True)


def test_only_whole_field_names_count():
    # "seqno" inside another key, or a uuid in a comment, is not the member's position.
    state = galera_grastate("# uuid: not-this-one\nmax_seqno: 99\nversion: 2.1\n")
    assert (state["uuid"], state["seqno"]) == ("", -1)


def test_grastate_refuses_a_non_string():
    with pytest.raises(TypeError, match="grastate.dat's text"):
        galera_grastate({"content": "dXVpZA=="})


def test_status_rows_from_stdout_with_tabs():
    stdout = "wsrep_cluster_size\t3\nwsrep_cluster_status\tPrimary\nwsrep_local_state_comment\tSynced\n"
    assert galera_status_rows(stdout) == {
        "wsrep_cluster_size": "3",
        "wsrep_cluster_status": "Primary",
        "wsrep_local_state_comment": "Synced",
    }


def test_status_rows_from_stdout_lines_with_spaces_and_values_with_spaces():
    lines = ["wsrep_cluster_status    Primary", "wsrep_local_state_comment \t Joining: receiving State Transfer  "]
    assert galera_status_rows(lines) == {
        "wsrep_cluster_status": "Primary",
        "wsrep_local_state_comment": "Joining: receiving State Transfer",
    }


def test_status_rows_keep_empty_and_none_values():
    # A standalone server (wsrep off) has an empty cluster uuid; a query may show it as 'none'.
    lines = ["wsrep_cluster_state_uuid\t", "wsrep_ready\tOFF", "wsrep_cluster_status\tnone", "", "   "]
    assert galera_status_rows(lines) == {
        "wsrep_cluster_state_uuid": "",
        "wsrep_ready": "OFF",
        "wsrep_cluster_status": "none",
    }


@pytest.mark.parametrize("output", [None, "", []])
def test_no_output_is_no_status(output):
    assert galera_status_rows(output) == {}


def test_status_rows_refuse_lines_that_are_not_text():
    with pytest.raises(TypeError, match="lines of text"):
        galera_status_rows([["wsrep_ready", "ON"]])


def test_filters_are_registered():
    assert FilterModule().filters() == {"galera_grastate": galera_grastate, "galera_status_rows": galera_status_rows}
