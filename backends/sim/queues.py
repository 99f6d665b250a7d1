"""FIFO queues for a whole day of requests at once, by the Lindley recursion in numpy.

A server takes its jobs in arrival order: a job starts when it arrives or when
the one before it finishes, whichever is later. The finish time of job n is
    D_n = max(A_n, D_{n-1}) + S_n = C_n + max_{k <= n} (A_k - C_{k-1})
with C the running sum of service times, so a running maximum replaces the
per-job loop (`finish_times`, checked against the loop in tests/test_sim.py).
Millions of jobs on thousands of servers take about a second.
"""

from __future__ import annotations

import numpy as np


def finish_times(server: np.ndarray, arrive: np.ndarray, service: np.ndarray) -> np.ndarray:
    """When each job finishes on its server, every server a FIFO queue."""
    if len(arrive) == 0:
        return np.zeros(0)
    order = np.lexsort((arrive, server))
    s, a, w = server[order], arrive[order], service[order]
    first = np.ones(len(s), dtype=bool)
    first[1:] = s[1:] != s[:-1]
    segment = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    total = np.cumsum(w)
    before = total - w  # C_{n-1}, global
    base = before[starts][segment]  # work before this server's first job
    done = total - base  # C_n within the server
    key = a - (before - base)
    # A running maximum that restarts at every server: lift each server's keys
    # above everything before it, take the maximum, lower them again.
    lift = (np.nanmax(key) - np.nanmin(key) + 1.0) * segment
    peak = np.maximum.accumulate(key + lift) - lift
    finish = np.empty(len(a))
    finish[order] = done + peak
    return finish


def finish_times_loop(server: np.ndarray, arrive: np.ndarray, service: np.ndarray) -> np.ndarray:
    """The same, one job at a time: the reference the vectorised version is tested against."""
    finish = np.empty(len(arrive))
    free: dict[int, float] = {}
    for index in np.lexsort((arrive, server)):
        start = max(float(arrive[index]), free.get(int(server[index]), 0.0))
        free[int(server[index])] = finish[index] = start + float(service[index])
    return finish
