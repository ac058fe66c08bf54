"""``python -m candle_lib.trial.worker``: one worker of a multi-worker trial (:mod:`.launch`)."""

import sys

from candle_lib.trial.launch import worker_main

if __name__ == "__main__":
    sys.exit(worker_main())
