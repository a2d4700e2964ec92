"""Filters for the galera and galera_arbitrator roles: Galera's failure-detection timers (evs.*).

How long the others keep waiting for a silent member is the write stall every client sees
when a member loses power: commits on the survivors wait until the member is evicted,
evs.suspect_timeout plus a view change. Shorter timers mean a shorter stall, but a member
that is only slow (a saturated CPU, a Wi-Fi hiccup) is then evicted by mistake and must
rejoin by IST or SST. The profiles below pick that trade-off per network (the inventory
names one in `galera_failure_detection`); these filters check a profile, or an operator's
own timers, against the bounds Galera documents and render them for wsrep_provider_options
(members) and GALERA_OPTIONS (garbd, which votes on evictions too and must suspect a
silent member as soon as the members do). Shared by both roles, so they live here.
"""

# Galera's names for the timers, in the order they are written.
OPTIONS = (
    ("keepalive_period", "evs.keepalive_period"),
    ("inactive_check_period", "evs.inactive_check_period"),
    ("suspect_timeout", "evs.suspect_timeout"),
    ("inactive_timeout", "evs.inactive_timeout"),
    ("install_timeout", "evs.install_timeout"),
    # How often a member resends its join message while the others agree on a new view:
    # Galera's 1 s default added about a second to every eviction in the lab.
    ("join_retrans_period", "evs.join_retrans_period"),
)


# Seconds. The stall a client sees when a member loses power is about suspect_timeout plus
# one inactive check and the view change (measured with `make bench`, see the README).
PROFILES = {
    # One machine, members on a Docker bridge: no packet is ever lost, only CPU can be late.
    "lab": {
        "keepalive_period": 0.25,
        "inactive_check_period": 0.25,
        "suspect_timeout": 1,
        "inactive_timeout": 3,
        "install_timeout": 3,
        "join_retrans_period": 0.3,
    },
    # Cabled laptops on one switch.
    "lan": {
        "keepalive_period": 0.5,
        "inactive_check_period": 0.5,
        "suspect_timeout": 2,
        "inactive_timeout": 6,
        "install_timeout": 5,
        "join_retrans_period": 0.5,
    },
    # Laptops on Wi-Fi: rides out several seconds of lost packets (roaming, power saving)
    # rather than evicting a member that is only out of reach for a moment.
    "wifi": {
        "keepalive_period": 1,
        "inactive_check_period": 1,
        "suspect_timeout": 8,
        "inactive_timeout": 20,
        "install_timeout": 10,
        "join_retrans_period": 1,
    },
}


def _seconds(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("%r is not a number of seconds" % (value,))
    return float(value)


def _timers(profile):
    return PROFILES.get(profile) if isinstance(profile, str) else profile


def galera_evs_problems(profile):
    """What is wrong with a profile name or a mapping of timers in seconds: [] when nothing."""
    if isinstance(profile, str) and profile not in PROFILES:
        return ["unknown profile %r: use one of %s, or a mapping of timers" % (profile, ", ".join(PROFILES))]
    timers = _timers(profile)
    if not isinstance(timers, dict):
        return ["the failure-detection timers must be a mapping of seconds, got %r" % (timers,)]
    problems = []
    missing = [key for key, _ in OPTIONS if key not in timers]
    unknown = sorted(set(timers) - {key for key, _ in OPTIONS})
    if missing:
        problems.append("missing: %s" % ", ".join(missing))
    if unknown:
        problems.append("unknown timers: %s (known: %s)" % (", ".join(unknown), ", ".join(k for k, _ in OPTIONS)))
    values = {}
    for key, _ in OPTIONS:
        if key in timers:
            try:
                values[key] = _seconds(timers[key])
            except TypeError as error:
                problems.append("%s: %s" % (key, error))
                continue
            if not 0.1 <= values[key] <= 3600:
                problems.append("%s is %g s; it must be between 0.1 s and 1 hour" % (key, values[key]))
    if problems:
        return problems
    keepalive, check, join = values["keepalive_period"], values["inactive_check_period"], values["join_retrans_period"]
    suspect, inactive, install = values["suspect_timeout"], values["inactive_timeout"], values["install_timeout"]
    # A member must get several keepalives and checks in before it may be suspected.
    if keepalive > suspect / 3:
        problems.append(
            "keepalive_period %g s is more than a third of suspect_timeout %g s: a member would be "
            "suspected after missing fewer than three keepalives" % (keepalive, suspect)
        )
    if check > suspect / 2:
        problems.append("inactive_check_period %g s is more than half of suspect_timeout %g s" % (check, suspect))
    if join > suspect / 2:
        problems.append(
            "join_retrans_period %g s is more than half of suspect_timeout %g s: agreeing on the "
            "view after an eviction would take longer than noticing it" % (join, suspect)
        )
    if suspect >= inactive:
        problems.append(
            "suspect_timeout %g s must be shorter than inactive_timeout %g s (suspecting comes before "
            "the hard limit)" % (suspect, inactive)
        )
    if not suspect <= install <= inactive:
        problems.append(
            "install_timeout %g s must lie between suspect_timeout %g s and inactive_timeout %g s"
            % (install, suspect, inactive)
        )
    return problems


def _duration(seconds):
    text = ("%.3f" % seconds).rstrip("0").rstrip(".")
    return "PT%sS" % text


def galera_evs_options(profile):
    """The profile as wsrep_provider_options entries: 'evs.keepalive_period=PT0.5S; ...'."""
    problems = galera_evs_problems(profile)
    if problems:
        raise ValueError("invalid failure-detection timers: " + "; ".join(problems))
    timers = _timers(profile)
    return "; ".join("%s=%s" % (name, _duration(_seconds(timers[key]))) for key, name in OPTIONS)


class FilterModule:
    def filters(self):
        return {"galera_evs_problems": galera_evs_problems, "galera_evs_options": galera_evs_options}
