"""Ending a process that has loaded TensorFlow without waiting for its teardown.

When the interpreter exits after TensorFlow was imported, TensorFlow's C++ destructors (its
thread pools, kernels, the oneDNN caches) run at the end: measured here 1.4-1.9 s of wall time
after the last useful instruction of a trial (``bench/bench_vs_candle.py``, the "last batch ->
exit" figure of issue 18), paid again by every trial of a search. :func:`end_process` ends the
process the way Python would, minus that teardown: it runs the ``atexit`` functions (logging's
shutdown, temporary directories' finalizers, multiprocessing's joins), flushes the standard
streams, and calls ``os._exit``. It is called only where a command or a workflow step is done:
every file it wrote is closed by then.
"""

from __future__ import annotations

import atexit
import os
import sys


def end_process(code: int = 0):
    """Exit with ``code``: at once (no interpreter teardown) when TensorFlow is loaded, else
    through ``SystemExit`` as usual. Never returns."""
    if "tensorflow" not in sys.modules:
        raise SystemExit(code)
    atexit._run_exitfuncs()  # what Python runs at exit before its teardown
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):  # closed, or not a stream any more
            pass
    os._exit(code)
