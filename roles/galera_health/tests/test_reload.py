"""SIGHUP applies new settings without closing the port, so HAProxy's checks never fail for it.

Scaling out or in rewrites every member's peer list in the same run; a restart there would
fail the checks of all members at once and HAProxy would have nothing to route to.
"""

import configparser
import signal
import threading

from conftest import wait_until


def rewrite(endpoint, section, **values):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(endpoint.config, encoding="utf-8")
    for key, value in values.items():
        parser.set(section, key, value)
    with open(endpoint.config, "w", encoding="utf-8") as handle:
        parser.write(handle)


def logged(endpoint, text):
    endpoint.log.flush()
    with open(endpoint.log.name, encoding="utf-8") as handle:
        return text in handle.read()


class Checker(threading.Thread):
    """HAProxy's part: one check after another until stopped; every failure is kept."""

    def __init__(self, endpoint):
        super().__init__(daemon=True)
        self.endpoint = endpoint
        self.answers = 0
        self.failures = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set() and self.answers < 20000:
            try:
                self.endpoint.get(timeout=2)
                self.answers += 1
            except OSError as error:
                self.failures.append(repr(error))

    def stop(self):
        self.done.set()
        self.join(timeout=10)


def test_reload_applies_new_settings_and_no_check_fails(endpoint, tmp_path):
    endpoint.wait_for(200, "Synced")
    checks = Checker(endpoint)
    checks.start()
    try:
        drained = tmp_path / "drained"
        drained.touch()
        rewrite(endpoint, "check", maintenance_file=str(drained), peers="127.0.0.1:1")
        endpoint.process.send_signal(signal.SIGHUP)
        endpoint.wait_for(503, "maintenance")
        wait_until(lambda: checks.answers > 20, 10, "checks answered after the reload")
    finally:
        checks.stop()
    assert endpoint.process.poll() is None, "the endpoint exited on SIGHUP"
    assert checks.failures == [], checks.failures[:5]
    assert logged(endpoint, "1 peer(s)")


def test_invalid_settings_are_refused_and_the_running_ones_stay(endpoint):
    endpoint.wait_for(200, "Synced")
    rewrite(endpoint, "check", cache_ttl="nan", maintenance_file="/nonexistent/drained")
    endpoint.process.send_signal(signal.SIGHUP)
    wait_until(lambda: logged(endpoint, "reload refused"), 10, "the refusal in the log")
    assert logged(endpoint, "check.cache_ttl must be")
    assert endpoint.process.poll() is None
    endpoint.wait_for(200, "Synced")


def test_a_new_port_needs_a_restart(endpoint):
    endpoint.wait_for(200, "Synced")
    rewrite(endpoint, "server", port=str(endpoint.port + 1))
    endpoint.process.send_signal(signal.SIGHUP)
    wait_until(lambda: logged(endpoint, "change only with a restart"), 10, "the refusal in the log")
    # Still on the old port, with the old settings.
    endpoint.wait_for(200, "Synced")
