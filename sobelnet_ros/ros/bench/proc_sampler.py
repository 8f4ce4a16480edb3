"""CPU, resident memory (and GPU memory on CUDA) of a process over time, read from /proc.

A background thread samples the process (and its children) at a fixed
interval; Linux only. GPU memory comes from ``nvidia-smi`` when present.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field

import numpy as np

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as stream:
            kids = [int(x) for x in stream.read().split()]
    except OSError:
        return []
    return kids + [grandchild for kid in kids for grandchild in _children(kid)]


def _cpu_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stream:
            fields = stream.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def _rss_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/statm") as stream:
            return int(stream.read().split()[1]) * _PAGE
    except OSError:
        return None


def gpu_memory_mb(pids: list[int]) -> float | None:
    """GPU memory used by these processes (MiB) according to nvidia-smi, else None."""
    if not shutil.which("nvidia-smi"):
        return None
    try:
        query = ["--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"]
        done = subprocess.run(
            ["nvidia-smi", *query], capture_output=True, text=True, timeout=5, check=True
        )
        text = done.stdout
    except (OSError, subprocess.SubprocessError):
        return None
    used = [float(m) for p, m in (line.split(",") for line in text.splitlines() if "," in line)
            if int(p) in pids]  # fmt: skip
    return sum(used) if used else None


@dataclass
class ProcessSampler:
    """Samples ``pid`` and its children every ``interval_s`` until stopped."""

    pid: int
    interval_s: float = 1.0
    gpu: bool = False  # also ask nvidia-smi (slower; only when the node is on CUDA)
    times_s: list[float] = field(default_factory=list)
    cpu_percent: list[float] = field(default_factory=list)  # 100 = one full core
    rss_mb: list[float] = field(default_factory=list)
    gpu_mb: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> ProcessSampler:
        self._thread = threading.Thread(target=self._run, name="proc-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5 * self.interval_s + 5)

    def _run(self) -> None:
        start = time.monotonic()
        last_t, last_ticks = start, self._ticks()
        while not self._stop.wait(self.interval_s):
            pids = [self.pid, *_children(self.pid)]
            rss = [r for r in (_rss_bytes(p) for p in pids) if r is not None]
            if not rss:
                return  # the process is gone
            now, ticks = time.monotonic(), self._ticks()
            self.times_s.append(round(now - start, 3))
            self.cpu_percent.append(
                round(100.0 * (ticks - last_ticks) / _TICKS / (now - last_t), 1)
            )
            self.rss_mb.append(round(sum(rss) / 2**20, 2))
            if self.gpu and (mb := gpu_memory_mb(pids)) is not None:
                self.gpu_mb.append(mb)
            last_t, last_ticks = now, ticks

    def _ticks(self) -> int:
        return sum(t for t in (_cpu_ticks(p) for p in [self.pid, *_children(self.pid)]) if t)

    def summary(self, warmup_s: float = 0.0) -> dict[str, float | int | None]:
        """Mean/max CPU, RSS at start (first sample after ``warmup_s``), end, max and growth."""
        if not self.rss_mb:
            return {"samples": 0}
        times = np.array(self.times_s)
        steady = np.flatnonzero(times >= warmup_s)
        first = int(steady[0]) if len(steady) else 0
        rss_start, rss_end = self.rss_mb[first], self.rss_mb[-1]
        return {
            "samples": len(self.rss_mb),
            "cpu_mean_percent": round(float(np.mean(self.cpu_percent)), 1),
            "cpu_max_percent": round(float(np.max(self.cpu_percent)), 1),
            "rss_start_mb": rss_start,
            "rss_start_at_s": self.times_s[first],
            "rss_end_mb": rss_end,
            "rss_max_mb": round(float(np.max(self.rss_mb)), 2),
            "rss_growth_percent": round(100.0 * (rss_end - rss_start) / rss_start, 2),
            "gpu_memory_max_mb": max(self.gpu_mb) if self.gpu_mb else None,
        }

    def series(self) -> dict[str, list[float]]:
        return {"time_s": self.times_s, "cpu_percent": self.cpu_percent, "rss_mb": self.rss_mb}
