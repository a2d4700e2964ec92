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


def test_cpu_jiffies_reads_this_machine_and_only_grows():
    first = bench_app.cpu_jiffies()
    sum(i * i for i in range(200_000))  # some busy time
    second = bench_app.cpu_jiffies()
    assert all(isinstance(value, int) and value >= 0 for value in first)
    assert second[0] >= first[0] and second[1] >= first[1]
