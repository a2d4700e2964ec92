"""A new version of the app replaces the old one on a running host (found while deploying
the metrics endpoint: the old modules stayed installed).

The role packs the source with one fixed mtime, so setuptools' build/ left by the last
install looked no older than the new files and pip installed the old modules again. Here
the app host is given such a leftover (an older __init__.py with that mtime) and a stale
install marker, as after an earlier version; the next run must install the checkout's code.

In the TLS scenario (it was molecule/default's): the app's role is the same with TLS on, and
this lab runs beside the default and faults scenarios, so the 70-90 s it costs leave the
lab's stream, which is `make test`'s longest."""

import hashlib

import requests

import lab

INSTALLED = "/opt/beauty/venv/lib/python3*/site-packages/beauty/__init__.py"
STALE = "/opt/beauty/src/build/lib/beauty/__init__.py"


def test_a_new_version_is_installed_over_an_old_build(inv, app_url):
    host = inv["groups"]["demo_app"][0]
    lab.docker_exec(
        host,
        "bash",
        "-c",
        f"mkdir -p $(dirname {STALE}) && echo 'raise SystemExit(\"old version\")' > {STALE}"
        f" && touch -d @1577836800 {STALE} && echo an-older-version > /opt/beauty/venv/.beauty-source.sha1",
    )
    result = lab.run_playbook("site.yml", "--limit", f"{host}:localhost", timeout=900)
    assert result.returncode == 0, result.stdout[-3000:]
    installed = lab.docker_exec(host, "bash", "-c", f"cat {INSTALLED}").stdout
    checkout = (lab.ROOT / "app" / "beauty" / "__init__.py").read_text()
    assert hashlib.sha256(installed.encode()).hexdigest() == hashlib.sha256(checkout.encode()).hexdigest(), (
        "the app host runs another version of beauty/__init__.py than the checkout"
    )
    assert requests.get(app_url + "/", timeout=10).status_code == 200
