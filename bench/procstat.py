"""Server resources from /proc, summed over every process of a process group: CPU time, memory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _group(pgid: int) -> Iterator[tuple[Path, list[str]]]:
    """(/proc/<pid>, stat fields after the command name) for each process in the group."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended between listing and reading
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            yield stat.parent, fields


def group_cpu_seconds(pgid: int) -> float:
    ticks = sum(int(f[11]) + int(f[12]) for _, f in _group(pgid))  # utime, stime (14, 15)
    return ticks / _TICKS


def group_rss_bytes(pgid: int) -> int:
    total = 0
    for folder, _ in _group(pgid):
        try:
            status = (folder / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total
