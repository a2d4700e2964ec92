"""tools.bench_app's CPU columns: CPU time per request and the idle share, from /proc/stat."""

import math
import os

from tools import bench_app


def test_cpu_columns_divide_the_busy_time_by_the_requests():
    hz = os.sysconf("SC_CLK_TCK")
    # Two readings: 2 s of busy time and 2 s of idle time between them, over 100 requests.
    per_request, idle = bench_app.cpu_columns((1000, 5000), (1000 + 2 * hz, 5000 + 2 * hz), 100)
    assert math.isclose(per_request, 20.0)
    assert math.isclose(idle, 50.0)


def test_cpu_columns_without_requests_or_ticks_are_not_numbers():
    per_request, idle = bench_app.cpu_columns((10, 10), (10, 10), 0)
    assert math.isnan(per_request) and math.isnan(idle)


def test_cpu_jiffies_adds_up_busy_and_idle_fields(tmp_path):
    # user nice system idle iowait irq softirq steal guest guest_nice; steal is another VM's.
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 2 30 4000 50 6 7 800 0 0\ncpu0 50 1 15 2000 25 3 3 400 0 0\n")
    assert bench_app.cpu_jiffies(stat) == (100 + 2 + 30 + 6 + 7, 4000 + 50)
