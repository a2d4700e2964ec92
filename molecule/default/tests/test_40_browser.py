"""Issue 3: the app's browser test (headless Debian chromium) against the deployed lab."""

import os
import subprocess
import sys

import lab


def test_browser_flow_against_the_deployed_app(app_url):
    env = dict(os.environ, BEAUTY_BASE_URL=app_url)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "app/tests/test_browser.py"],
        cwd=lab.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-1000:]
