"""The ``candle`` command with probes, for bench/bench_vs_candle.py.

Not a bench: one measured process of the ``candle_trial`` kind.

    python bench/_trial_probe.py --marks FILE [--profile-memory] [switches] -- trial --data DIR ...

runs ``candle_lib.cli.main`` on the arguments after ``--`` and ends the process as the ``candle`` console
script does (same imports, in the same order: the probes are put in place when the command
calls ``run_trial``, before it imports Keras). Always: wall-clock marks of the first training
batch's start and the last one's end, written to ``--marks`` as JSON with the command's exit
code. With ``--profile-memory``: the resident memory at each stage of the trial
(bench/_memory_stages.py): load, scale, build, each epoch, each checkpoint, predict, saving
the model, writing the results.

Switches that take one piece out, to attribute the peak (for --profile-memory runs only; a
checkpoint is switched off with the command's own ``--set checkpoint_every=0``):
``--no-validation`` (no validation pass during training), ``--no-predict`` (zeros instead of
the model's predictions), ``--eval-batch N`` (validation and prediction batches of N rows
instead of candle_lib.trial.run.evaluation_batch_size's).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory_stages import StageProbe  # noqa: E402


def before(owner, attribute: str, action) -> None:
    """Call ``action(*args)`` before ``owner.attribute`` runs."""
    original = getattr(owner, attribute)

    @functools.wraps(original)
    def wrapped(*args, **kwargs):
        action(*args)
        return original(*args, **kwargs)

    setattr(owner, attribute, wrapped)


def after(owner, attribute: str, action) -> None:
    """Call ``action(*args)`` after ``owner.attribute`` ran."""
    original = getattr(owner, attribute)

    @functools.wraps(original)
    def wrapped(*args, **kwargs):
        value = original(*args, **kwargs)
        action(*args)
        return value

    setattr(owner, attribute, wrapped)


def install(args, probe: StageProbe, marks: dict) -> None:
    """Wrap candle_lib.trial.run.run_trial so that the probes go in when the command calls it."""
    from candle_lib.trial import run as trial_run

    original_run_trial = trial_run.run_trial

    def run_trial(*a, **k):
        import numpy as np

        probe.mark("import tensorflow + keras")
        from candle_lib.trial import callbacks

        monitor = callbacks.TrialMonitor

        def first_batch(self, batch, logs=None):
            marks.setdefault("first_batch", time.time())

        monitor.on_train_batch_begin = first_batch
        after(monitor, "on_train_batch_end", lambda *_: marks.__setitem__("last_batch_end", time.time()))
        if probe.enabled:
            run = trial_run.TrialRun
            before(run, "__init__", lambda *_: probe.mark("load (prepared dataset, feed)"))
            before(run, "scale", lambda *_: probe.mark("scale (fit, read rows, scale)"))
            before(run, "build", lambda *_: probe.mark("build + compile"))
            before(run, "resume", lambda *_: probe.mark("resume (none) + dataset"))
            before(monitor, "on_epoch_begin", lambda _s, epoch, *r: probe.mark(f"epoch {epoch + 1} (train + validate)"))
            before(
                callbacks.Checkpointer,
                "on_epoch_end",
                lambda _s, epoch, *r: probe.mark(f"checkpoint after epoch {epoch + 1}"),
            )
            before(run, "predict", lambda *_: probe.mark("predict"))
            before(run, "write", lambda *_: probe.mark("write results"))
            import keras

            before(keras.Model, "save", lambda *_: probe.mark("save model.keras"))

        def switches(self, *rest, **kw):
            if args.no_validation:
                self.validate_during_training = False
            if args.eval_batch:
                self.eval_batch = args.eval_batch

        after(trial_run.TrialRun, "__init__", switches)
        if args.no_predict:
            trial_run.TrialRun.predict = lambda self: np.zeros((len(self.feed.predicted_rows), self.task.n_outputs))
        result = original_run_trial(*a, **k)
        probe.mark("after run_trial (CLI exit)")
        marks.update(n_train=result["n_train"], n_eval=result["n_eval"])
        return result

    trial_run.run_trial = run_trial


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--marks", required=True)
    parser.add_argument("--profile-memory", action="store_true")
    parser.add_argument("--no-validation", action="store_true")
    parser.add_argument("--no-predict", action="store_true")
    parser.add_argument("--eval-batch", type=int)
    args = parser.parse_args(argv[:split])
    marks: dict = {}
    with StageProbe(enabled=args.profile_memory) as probe:
        probe.mark("start (CLI: parse, check the dataset)")
        install(args, probe, marks)
        from candle_lib.cli import main as candle_main

        code = candle_main(argv[split + 1 :])
    marks.update(exit_code=code, stages=probe.stages)
    Path(args.marks).write_text(json.dumps(marks))
    return code


if __name__ == "__main__":
    from candle_lib.process_exit import end_process

    end_process(main())  # as the console script ends (candle_lib.cli.console_main)
