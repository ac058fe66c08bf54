"""Resident memory by stage of one process, for bench/bench_vs_candle.py --profile-memory.

Not a bench. :class:`StageProbe` samples /proc/self/status (VmRSS, RssAnon, RssFile) from a
thread every 5 ms; :meth:`StageProbe.mark` ends the current stage and starts the next, so each
stage records the memory when it began and the most seen while it ran. Disabled (the default for
timed runs), ``mark`` does nothing and no thread runs.
"""

from __future__ import annotations

import threading
import time

MiB = 2**20
FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile")


def status() -> dict:
    """The FIELDS of /proc/self/status, in bytes."""
    out = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in FIELDS:
                out[key] = int(value.split()[0]) * 1024
    return out


class StageProbe:
    """Per stage: the name, VmRSS/RssAnon/RssFile when it began, and the largest VmRSS (with its
    RssAnon part) sampled while it ran. ``stages`` is a list of dicts, in MiB."""

    def __init__(self, enabled: bool = True, interval: float = 0.005):
        self.enabled, self.interval = enabled, interval
        self.stages: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(self.interval)

    def sample(self) -> None:
        if not self.stages:
            return
        now = status()
        with self._lock:
            stage = self.stages[-1]
            if now["VmRSS"] / MiB > stage["peak"]:
                stage["peak"], stage["peak_anon"] = now["VmRSS"] / MiB, now["RssAnon"] / MiB

    def mark(self, name: str) -> None:
        """End the current stage (one last sample) and begin ``name``."""
        if not self.enabled:
            return
        self.sample()
        now = status()
        with self._lock:
            self.stages.append(
                {
                    "stage": name,
                    "start": now["VmRSS"] / MiB,
                    "anon": now["RssAnon"] / MiB,
                    "file": now["RssFile"] / MiB,
                    "peak": now["VmRSS"] / MiB,
                    "peak_anon": now["RssAnon"] / MiB,
                    "hwm": now["VmHWM"] / MiB,
                    "at": time.time(),
                }
            )

    def __enter__(self) -> StageProbe:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.mark("exit")
            self._stop.set()
            self._thread.join()


def stage_table(stages: list[dict]) -> list[str]:
    """Lines of a table: each stage's memory when it began, its peak, the peak's anonymous part
    (MiB) and how long the stage ran (until the next mark)."""
    lines = [
        f"    {'stage (memory when it began, most while it ran)':46s} {'start':>7s} {'peak':>7s} {'anon':>7s} {'secs':>6s}"
    ]
    for stage, following in zip(stages, [*stages[1:], None]):
        seconds = f"{following['at'] - stage['at']:6.1f}" if following else ""
        lines.append(
            f"    {stage['stage']:46s} {stage['start']:7.0f} {stage['peak']:7.0f} {stage['peak_anon']:7.0f} {seconds}"
        )
    return lines
