"""Process trees from ``/proc`` (Linux): parents, CPU time, resident memory, disk I/O
(standard library only: the reference tools' sides use it too)."""

from __future__ import annotations

import contextlib
import os
import resource
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def read_stat(pid: int) -> tuple[int, float, int] | None:
    """``(parent pid, CPU seconds, resident bytes)`` of a live process, else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # fields[0] is field 3 of proc(5)
    cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    return int(fields[1]), cpu, int(fields[21]) * PAGE  # ppid, cpu, rss


def tree_pids(root: int) -> list[int]:
    """``root`` and all its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_stat(int(entry))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def tree_cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        stat = read_stat(pid)
        if stat is not None:
            total += stat[1]
    return total


def tree_io(pids: list[int]) -> tuple[int, int]:
    """Bytes read from / written to storage by these processes (``/proc/<pid>/io``)."""
    read = written = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/io").read_text().splitlines():
                key, _, value = line.partition(":")
                if key == "read_bytes":
                    read += int(value)
                elif key == "write_bytes":
                    written += int(value)
    return read, written


def own_rss_bytes() -> int:
    stat = read_stat(os.getpid())
    return stat[2] if stat else 0


def own_cpu_seconds() -> float:
    """CPU this process has used, every thread."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def children_cpu_seconds() -> float:
    """CPU this process's children used, once waited for."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (``/proc/stat``, all cores)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    return (sum(values) - values[3] - values[4]) / TICK  # less idle and iowait
