"""Running one workflow step: output to its log, and bad input as one clear error line.

Used by the thin adapters in scripts/; knows nothing of Snakemake.
"""

from __future__ import annotations

import contextlib
import sys
import traceback

from candle_lib.errors import CandleInputError


def run_logged(log_path: str, step, *args, **kwargs):
    """Call ``step`` with stdout/stderr going to ``log_path``.

    A :class:`CandleInputError` ends the process with exit code 1 and one line
    ``ERROR: <file>: <where>: <what>`` in the log and on the console; any other exception is
    logged with its traceback and re-raised.
    """
    console = sys.__stderr__
    with open(log_path, "a", buffering=1) as log, contextlib.redirect_stderr(log), contextlib.redirect_stdout(log):
        try:
            return step(*args, **kwargs)
        except CandleInputError as exc:
            message = f"ERROR: {exc}"
            print(message, file=log)
            print(message, file=console, flush=True)
            raise SystemExit(1) from None
        except Exception:
            traceback.print_exc(file=log)
            raise
