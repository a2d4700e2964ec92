"""gunicorn settings that are code, not numbers: `gunicorn --config gunicorn.conf.py ...`.

The numbers (workers, threads, bind...) stay on the command line, where the demo_app
role's systemd unit sets them from its variables. A file beside wsgi.py, not a module of
the beauty package: importing that would load the whole app into the master, and
workers forked from it would then keep the old code across a HUP.
"""

import os

from prometheus_client import multiprocess


def child_exit(server, worker):
    # A dead worker's live gauges (its pool's connections) must stop counting; its
    # counters and histograms stay, so the totals never go backwards.
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        multiprocess.mark_process_dead(worker.pid, path)
