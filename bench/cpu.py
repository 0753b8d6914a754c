"""CPU time a benchmark's server used: a process and its children, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU seconds used so far by a process and its children (Linux /proc; 0.0 elsewhere).

    Children that exit are counted through the parent's cutime/cstime once reaped, so the
    difference between two readings stays right while workers or backends come and go.
    """
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        entries = list(Path("/proc").iterdir())
    except (OSError, ValueError, AttributeError):
        return 0.0
    total = 0
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid, ppid = int(entry.name), int(fields[1])
        if pid == root_pid:
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        elif ppid == root_pid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks
