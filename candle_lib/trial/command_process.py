"""Running a model's process: its output into the trial's log, a time limit, and nothing left
behind.

The process starts in a session (process group) of its own, so that a timeout ends it with
every process it started (SIGTERM to the group, SIGKILL after :data:`KILL_GRACE_SECONDS`); on
Linux it is also told to die with the trial's process (``PR_SET_PDEATHSIG``), so a job killed by
its scheduler leaves no training behind. Whatever of its group outlives it is killed when it
exits.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

STDERR_TAIL_LINES = 20
KILL_GRACE_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Finished:
    returncode: int  # negative: killed by that signal
    timed_out: bool
    stderr_tail: list
    seconds: float

    def exit_description(self) -> str:
        if self.returncode < 0:
            try:
                name = signal.Signals(-self.returncode).name
            except ValueError:
                name = f"signal {-self.returncode}"
            return f"killed by {name}"
        return f"exit status {self.returncode}"


def _die_with_parent() -> None:  # pragma: no cover -- runs in the child, between fork and exec
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _end_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process's group, SIGKILL after the grace period."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _pump(stream, log, label: str, lock: threading.Lock, tail=None) -> None:
    for line in stream:
        text = line.rstrip("\n")
        if tail is not None:
            tail.append(text)
        with lock:
            try:
                log(f"[{label}] {text}")
            except OSError:  # the log's disk may be full: the command's own result still counts
                pass
    stream.close()


def run_process(argv: list, *, cwd, env: dict, timeout: float, log) -> Finished:
    """Run ``argv`` in ``cwd`` until it exits or ``timeout`` seconds pass; every line of its
    stdout and stderr goes to ``log`` (as ``[stdout] ...`` / ``[stderr] ...``); the last
    :data:`STDERR_TAIL_LINES` lines of stderr are kept for the failure reason. An exception in
    the caller (e.g. the job is interrupted) ends the process group before it propagates."""
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        bufsize=1,
        start_new_session=True,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 -- only a prctl call, no locks taken
    )
    tail: collections.deque = collections.deque(maxlen=STDERR_TAIL_LINES)
    lock = threading.Lock()
    readers = [
        threading.Thread(target=_pump, args=(process.stdout, log, "stdout", lock), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, log, "stderr", lock, tail), daemon=True),
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _end_group(process)
    except BaseException:
        _end_group(process)
        raise
    finally:
        _signal_group(process.pid, signal.SIGKILL)  # what the command left running in its group
        for reader in readers:
            reader.join(timeout=KILL_GRACE_SECONDS)
    return Finished(process.returncode, timed_out, list(tail), time.monotonic() - started)
