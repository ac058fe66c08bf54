"""Fixed cost per trial in a bundle (``hpo.trials_per_job``): a trial's wall time outside its
training batches, for the trials after the first one of the bundle (issue 18: under 1 s).

Writes a small prepared dataset, then runs ``run_bundle`` (candle_lib.trial.run, as the
workflow's bundle job does) on ``--trials`` distinct trials of a small dense classifier (the
learning rate differs from trial to trial), in this one process. For every trial it records:

  wall      run_trial, from call to return;
  batches   the training work: the number of training batches x the median time of one (the
            first batch of a trial also traces the training function: that is fixed cost);
  fixed     wall - batches: load, scale, build + compile, tracing of the training, validation
            and prediction functions, the validation passes (counted whole, though they grow
            with the data), checkpoints, prediction, writing;

and each stage of the trial (TrialRun's load, scale, build, resume, train, predict, write;
train split into tracing before the first batch, the batches, and after the last batch). The
first trial pays for TensorFlow's start; the figure of the issue is the median fixed cost of
the trials after it. ``--check`` exits 1 when that median is 1 s or more.

    .venv/bin/python bench/bench_bundle_overhead.py                # 8 trials, 2 epochs each
    .venv/bin/python bench/bench_bundle_overhead.py --trials 4 --check
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _train_bench_data import build_prepared  # noqa: E402

GOAL_SECONDS = 1.0
STAGES = ("__init__", "scale", "build", "resume", "train", "predict", "write")


def timed(owner, attribute: str, record) -> None:
    """Wrap ``owner.attribute`` so that each call adds its seconds to ``record()[attribute]``."""
    original = getattr(owner, attribute)

    @functools.wraps(original)
    def wrapped(*args, **kwargs):
        started = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            current = record()
            current[attribute] = current.get(attribute, 0.0) + time.monotonic() - started

    setattr(owner, attribute, wrapped)


def run(args, workdir: Path) -> list[dict]:
    """The bundle, run here; per trial its stage seconds and batch marks."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from candle_lib.params.specs import resolve_params
    from candle_lib.trial import callbacks
    from candle_lib.trial import run as trial_run
    from candle_lib.trial.spec import HOLDOUT, trial_id, trial_spec

    prepared = workdir / "prep-bench"
    build_prepared(prepared, args.rows, args.features, eval_fraction=0.1)
    specs = {}
    for index in range(args.trials):
        params = resolve_params(
            {"model": "dense", "dense": [64, 16], "epochs": args.epochs, "batch_size": 32},
            {"learning_rate": 0.001 * (index + 1)},
        )
        spec = trial_spec(params, role=HOLDOUT, data=prepared.name)
        specs[trial_id(spec)] = spec

    records: list[dict] = []
    current = lambda: records[-1]  # noqa: E731 -- the trial that runs now
    for stage in STAGES:
        timed(trial_run.TrialRun, stage, current)
    original_run_trial = trial_run.run_trial

    def run_trial(*a, **k):
        records.append({"started": time.monotonic()})
        result = original_run_trial(*a, **k)
        records[-1]["ended"] = time.monotonic()
        return result

    trial_run.run_trial = run_trial
    monitor = callbacks.TrialMonitor
    original_batch_end = monitor.on_train_batch_end

    def batch_begin(self, batch, logs=None):
        now = time.monotonic()
        records[-1].setdefault("first_batch", now)
        records[-1]["batch_begin"] = now

    def batch_end(self, batch, logs=None):
        original_batch_end(self, batch, logs)
        now = time.monotonic()
        records[-1]["last_batch_end"] = now
        records[-1].setdefault("batch_seconds", []).append(now - records[-1]["batch_begin"])

    monitor.on_train_batch_begin, monitor.on_train_batch_end = batch_begin, batch_end
    statuses = trial_run.run_bundle(prepared, specs, workdir / "trials", threads=args.threads, log=lambda m: None)
    if set(statuses.values()) != {"ok"}:
        raise SystemExit(f"a trial failed: {statuses}")
    for record in records:
        record["wall"] = record["ended"] - record["started"]
        record["batches"] = len(record["batch_seconds"]) * statistics.median(record["batch_seconds"])
        record["fixed"] = record["wall"] - record["batches"]
        train_started = record["started"] + sum(record.get(s, 0.0) for s in ("__init__", "scale", "build", "resume"))
        record["to_first_batch"] = record["first_batch"] - train_started
        record["first_batch_extra"] = record["batch_seconds"][0] - statistics.median(record["batch_seconds"])
        record["after_last_batch"] = train_started + record["train"] - record["last_batch_end"]
    return records


COLUMNS = (
    ("wall", "wall"),
    ("batches", "batches"),
    ("fixed", "fixed"),
    ("load", "__init__"),
    ("scale", "scale"),
    ("build", "build"),
    ("resume", "resume"),
    ("fit->1st batch", "to_first_batch"),
    ("1st batch extra", "first_batch_extra"),
    ("last batch->fit end", "after_last_batch"),  # the last validation pass, checkpoint
    ("predict", "predict"),
    ("write", "write"),
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=8, help="trials in the bundle (default 8)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per trial (default 2)")
    parser.add_argument("--rows", type=int, default=400, help="training rows (default 400)")
    parser.add_argument("--features", type=int, default=500, help="features (default 500)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads (default 2)")
    parser.add_argument("--check", action="store_true", help=f"exit 1 unless the median is under {GOAL_SECONDS:g} s")
    args = parser.parse_args(argv)
    if args.trials < 2:
        parser.error("--trials: at least 2 (the figure is of the trials after the first)")
    workdir = Path(tempfile.mkdtemp(prefix="bench_bundle_"))
    try:
        print(
            f"bench_bundle_overhead: {args.trials} trials x {args.epochs} epochs, {args.rows} training rows x "
            f"{args.features} features, dense [64, 16], threads={args.threads}, load average {os.getloadavg()[0]:.2f}"
        )
        records = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("seconds per trial:")
    print("  trial " + " ".join(f"{name:>{max(7, len(name))}s}" for name, _ in COLUMNS))
    for index, record in enumerate(records, start=1):
        print(f"  {index:5d} " + " ".join(f"{record.get(key, 0.0):{max(7, len(name))}.3f}" for name, key in COLUMNS))
    later = records[1:]
    medians = {key: statistics.median(r.get(key, 0.0) for r in later) for _, key in COLUMNS}
    print("  median of trials 2.. " + json.dumps({name: round(medians[key], 3) for name, key in COLUMNS}))
    fixed = medians["fixed"]
    met = fixed < GOAL_SECONDS
    print(
        f"fixed cost per trial after the first: {fixed:.3f} s (goal < {GOAL_SECONDS:g} s: {'met' if met else 'MISSED'})"
    )
    return 1 if (args.check and not met) else 0


if __name__ == "__main__":
    sys.exit(main())
