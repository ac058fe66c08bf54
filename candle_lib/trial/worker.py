"""``python -m candle_lib.trial.worker``: one worker of a multi-worker trial (:mod:`.launch`)."""

from candle_lib.process_exit import end_process
from candle_lib.trial.launch import worker_main

if __name__ == "__main__":
    end_process(worker_main())  # without TensorFlow's teardown, as the other training processes
