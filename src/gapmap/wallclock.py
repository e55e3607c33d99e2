"""When this process started, on the ``time.perf_counter()`` clock: time limits count from it.

A time limit the user gives a command is the wall clock of the whole command, starting Python
and importing included, not only of the part that solves. On Linux the kernel records the
moment the process started (``/proc/self/stat``, in clock ticks since boot, beside
``/proc/uptime``); elsewhere the moment this module was first imported stands in for it.
"""

from __future__ import annotations

import os
import time

__all__ = ["cpu_clock", "cpu_share", "process_started", "seconds_since_start"]

_IMPORTED = time.perf_counter()


def _age_seconds() -> float | None:
    """Seconds since this process started, by the kernel's account (None if unknown)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            stat = f.read()
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        # the command name (field 2) may hold spaces: count fields after its closing bracket
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[19])  # field 22 of the whole line: start time, clock ticks
        return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def process_started() -> float:
    """The ``time.perf_counter()`` value at which this process started.

    Returns
    -------
    float
        At most the moment this module was imported.

    Examples
    --------
    >>> import time
    >>> process_started() <= time.perf_counter()
    True
    """
    age = _age_seconds()
    now = time.perf_counter()
    return min(_IMPORTED, now - age) if age is not None else _IMPORTED


def seconds_since_start() -> float:
    """Wall seconds since this process started (:func:`process_started`)."""
    return time.perf_counter() - process_started()


def cpu_clock() -> tuple[float, float]:
    """Now on the ``time.perf_counter()`` clock, and the CPU seconds this process has used so
    far: a start for :func:`cpu_share`.

    Examples
    --------
    >>> wall, cpu = cpu_clock()
    >>> cpu >= 0.0
    True
    """
    t = os.times()
    return time.perf_counter(), t.user + t.system


def cpu_share(
    lowest: float = 0.15, *, since: tuple[float, float] | None = None, cores: int = 1
) -> float:
    """The share of ``cores`` this process has had (CPU time over wall time, at most 1, at
    least ``lowest``), since it started or since ``since``: on a busy machine, work still to
    do after a deadline will take about its idle time divided by this.

    Parameters
    ----------
    lowest
        The least share returned.
    since
        A start from :func:`cpu_clock` (default: the process's start).
    cores
        How many cores the process could keep busy (its threads at work).

    Examples
    --------
    >>> 0.0 < cpu_share() <= 1.0
    True
    >>> 0.0 < cpu_share(since=cpu_clock(), cores=2) <= 1.0
    True
    """
    t = os.times()
    cpu = t.user + t.system
    if since is None:
        wall = seconds_since_start()
    else:
        wall, cpu = time.perf_counter() - since[0], cpu - since[1]
    if wall <= 0.5:  # too soon to tell
        return 1.0
    return min(1.0, max(lowest, cpu / (wall * max(1, cores))))
