"""(d) playbooks/rolling_restart.yml under write load through the app: no write may fail.

Through the app, the user's path: it opens a connection per request and retries once. A
client holding one connection for ever (the db load) loses that connection when its member
restarts, whatever the playbook does, so that path is not the measure here."""

import time

import pytest

import lab


def test_rolling_restart_loses_no_write(nodes, write_load, report):
    if not (lab.ROOT / "playbooks" / "rolling_restart.yml").exists():
        pytest.skip("playbooks/rolling_restart.yml is missing")
    load = write_load(through="app")
    start = time.monotonic()
    result = lab.run_playbook("rolling_restart.yml")
    playbook_s = time.monotonic() - start
    summary = load.stop()
    assert result.returncode == 0, f"rolling_restart.yml failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    missing = load.missing_on_nodes(nodes)
    report(
        "d) rolling restart (playbooks/rolling_restart.yml)",
        summary,
        {
            "rolling_restart.yml run time": f"{playbook_s:.1f} s",
            "recovery time": "n/a (no member was unavailable to clients)",
            "acknowledged writes missing per node": {n: len(s) for n, s in missing.items()},
        },
    )
    assert summary["failed"] == 0, f"{summary['failed']} writes failed: {summary['error_samples']}"
    assert all(not seqs for seqs in missing.values()), f"acknowledged writes lost: {missing}"
