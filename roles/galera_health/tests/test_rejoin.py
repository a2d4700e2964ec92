"""The rejoin watch's rule: which states earn a member its one restart, and when.

The states are the ones Galera reports (SHOW GLOBAL STATUS), as read on the lab: a cut IST
(stop 20's CI run), an empty cluster address, gmcast.isolate and the group port dropped.
molecule/faults test_38 drops a real member out of its group and checks that its watch
restarts it by itself.
"""

import subprocess

import pytest

from conftest import SCRIPT, endpoint_python, load_module, wait_until


@pytest.fixture(scope="module")
def health():
    return load_module()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def state(cluster_status, local_state, comment, connected="ON"):
    return {
        "wsrep_cluster_status": cluster_status,
        "wsrep_local_state": str(local_state),
        "wsrep_local_state_comment": comment,
        "wsrep_connected": connected,
        "wsrep_ready": "OFF",
    }


SYNCED = state("Primary", 4, "Synced")
# After a view change cut its IST short: "IST didn't contain all write sets ... node restart required".
CUT_IST = state("non-Primary", 1, "Joining: receiving State Transfer")
NO_GROUP = state("Disconnected", 0, "Disconnected", connected="OFF")
# gmcast.isolate, or the minority side of a partition: it comes back by itself.
CUT_OFF = state("non-Primary", 0, "Initialized")


class Peers:
    def __init__(self, answer="10.0.0.2:9200"):
        self.answer = answer
        self.asked = 0

    def __call__(self):
        self.asked += 1
        return self.answer


def run(watch, clock, reading, peers, seconds, step=2):
    """Feed the same reading for `seconds`; return the reasons given to restart."""
    reasons = []
    end = clock.now + seconds
    while clock.now < end:
        why = watch.observe(reading, peers)
        if why:
            reasons.append(why)
        clock.now += step
    return reasons


@pytest.mark.parametrize("reading", [CUT_IST, NO_GROUP], ids=["cut-ist", "no-group"])
def test_a_stuck_member_is_restarted_once_after_the_delay(health, reading):
    clock, peers = Clock(), Peers()
    watch = health.RejoinWatch(30, clock=clock)
    assert run(watch, clock, reading, peers, 29) == []
    assert peers.asked == 0, "peers were asked before the member had been outside long enough"
    reasons = run(watch, clock, reading, peers, 600)
    assert len(reasons) == 1, reasons
    assert "10.0.0.2:9200 is Synced" in reasons[0]


def test_a_member_cut_off_from_its_peers_is_left_to_come_back(health):
    clock, peers = Clock(), Peers()
    watch = health.RejoinWatch(10, clock=clock)
    assert run(watch, clock, CUT_OFF, peers, 600) == []
    assert run(watch, clock, SYNCED, peers, 600) == []
    assert peers.asked == 0


def test_no_restart_without_a_peer_in_the_primary_component(health):
    clock = Clock()
    watch = health.RejoinWatch(10, clock=clock)
    assert run(watch, clock, CUT_IST, Peers(answer=None), 120) == []
    # The peer comes back: now there is a component to rejoin.
    assert len(run(watch, clock, CUT_IST, Peers(), 10)) == 1


def test_no_answer_restarts_the_count(health):
    clock, peers = Clock(), Peers()
    watch = health.RejoinWatch(30, clock=clock)
    for _ in range(10):
        assert run(watch, clock, CUT_IST, peers, 20) == []
        # Stopped, starting or receiving a full copy: it does not answer.
        assert run(watch, clock, None, peers, 4) == []
    assert peers.asked == 0


def test_a_second_restart_only_after_the_member_was_primary_again(health):
    clock, peers = Clock(), Peers()
    watch = health.RejoinWatch(10, clock=clock)
    assert len(run(watch, clock, CUT_IST, peers, 12)) == 1
    run(watch, clock, None, peers, 10)
    assert run(watch, clock, CUT_IST, peers, 300) == [], "restarted again without having rejoined"
    run(watch, clock, SYNCED, peers, 10)
    assert len(run(watch, clock, CUT_IST, peers, 12)) == 1


def run_watch(tmp_path, text, timeout=15, until=None):
    """Run `--rejoin` with these settings; return its output once `until` is in it, or when it exits."""
    config = tmp_path / "galera-health.conf"
    config.write_text(text, encoding="utf-8")
    log = tmp_path / "watch.log"
    with open(log, "w+", encoding="utf-8") as out:
        process = subprocess.Popen(
            [endpoint_python(), SCRIPT, "--config", str(config), "--rejoin"], stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_until(
                lambda: process.poll() is not None or (until and until in log.read_text(encoding="utf-8")),
                timeout,
                "the rejoin watch to say %r" % until,
            )
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
    return process.returncode, log.read_text(encoding="utf-8")


def test_the_watch_refuses_to_run_when_off(tmp_path):
    code, output = run_watch(tmp_path, "[rejoin]\nafter = 0\n")
    assert code == 2
    assert "rejoin.after is 0" in output and "the rejoin watch is off" in output


def test_a_watch_that_cannot_log_in_says_so(tmp_path, galera):
    # A login the server refuses (as after a change of root's authentication): the watch is blind.
    text = "[mariadb]\nsocket = %s\n[rejoin]\nafter = 10\nuser = no_such_account\n" % galera.socket
    _, output = run_watch(tmp_path, text, until="so the watch cannot act")
    assert "rejoin watch: restarts mariadb.service once" in output
    assert "cannot read the member's state as no_such_account" in output and "Access denied" in output, output
