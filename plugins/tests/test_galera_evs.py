"""Unit tests of the failure-detection filters (plugins/filter), and of the profiles they ship."""

import pytest
from galera_evs import PROFILES, FilterModule, galera_evs_options, galera_evs_problems

LAB = {
    "keepalive_period": 0.25,
    "inactive_check_period": 0.25,
    "suspect_timeout": 1,
    "inactive_timeout": 3,
    "install_timeout": 3,
    "join_retrans_period": 0.3,
}


def test_options_are_rendered_as_iso_durations_in_galera_order():
    assert galera_evs_options(LAB) == (
        "evs.keepalive_period=PT0.25S; evs.inactive_check_period=PT0.25S; evs.suspect_timeout=PT1S; "
        "evs.inactive_timeout=PT3S; evs.install_timeout=PT3S; evs.join_retrans_period=PT0.3S"
    )


@pytest.mark.parametrize("name", ["lab", "lan", "wifi"])
def test_every_shipped_profile_is_valid(name):
    assert galera_evs_problems(name) == []
    assert galera_evs_options(name) == galera_evs_options(PROFILES[name])


def test_shipped_profiles_are_ordered_from_fast_to_conservative():
    shipped = PROFILES
    assert shipped["lab"]["suspect_timeout"] < shipped["lan"]["suspect_timeout"] < shipped["wifi"]["suspect_timeout"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"keepalive_period": 0.4}, "more than a third of suspect_timeout"),
        ({"inactive_check_period": 0.6}, "more than half of suspect_timeout"),
        ({"suspect_timeout": 3, "keepalive_period": 0.5}, "must be shorter than inactive_timeout"),
        ({"join_retrans_period": 0.6}, "more than half of suspect_timeout"),
        ({"install_timeout": 0.9}, "must lie between suspect_timeout"),
        ({"install_timeout": 4}, "must lie between suspect_timeout"),
        ({"suspect_timeout": 0.05}, "between 0.1 s and 1 hour"),
        ({"inactive_timeout": 1e9}, "between 0.1 s and 1 hour"),
        ({"suspect_timeout": "5s"}, "is not a number of seconds"),
        ({"suspect_timeout": True}, "is not a number of seconds"),
        ({"gossip": 1}, "unknown timers: gossip"),
    ],
)
def test_bad_timers_are_named(change, message):
    problems = galera_evs_problems({**LAB, **change})
    assert any(message in problem for problem in problems), problems


def test_a_missing_timer_is_named_and_options_refuse_to_render():
    partial = {key: value for key, value in LAB.items() if key != "install_timeout"}
    assert galera_evs_problems(partial) == ["missing: install_timeout"]
    with pytest.raises(ValueError, match="missing: install_timeout"):
        galera_evs_options(partial)


def test_a_non_mapping_or_an_unknown_profile_is_refused():
    assert "must be a mapping" in galera_evs_problems(["lab"])[0]
    assert galera_evs_problems("fast") == ["unknown profile 'fast': use one of lab, lan, wifi, or a mapping of timers"]
    assert galera_evs_options("lab") == galera_evs_options(LAB)


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"galera_evs_problems", "galera_evs_options"}
