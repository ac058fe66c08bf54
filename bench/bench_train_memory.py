"""Peak memory of a trial vs the TensorFlow baseline plus 1.5x its training data.

Issue 4 asks that a trial's peak memory stay under the TensorFlow baseline plus 1.5 times the
size of its training data. This bench writes one prepared dataset with a large training part
(full size: 3,000 training rows x 20,000 float32 features = 240 MB, plus 375 val and 375 test
rows; see bench/_train_bench_data.py) and measures, each in a fresh subprocess:

  baseline  the fixed cost of TensorFlow for this model, with no data: import tensorflow and
            keras, candle_lib.trial.tf_setup.configure_tensorflow (threads, seed, op determinism, as a
            trial does), build the same model (candle_lib.models.build_model, same number of
            features), compile it with the same optimizer/loss/metrics, then model.fit for one
            step on one batch of batch_size random rows (with that batch as validation data,
            so the evaluation step is traced too) and one model.predict of it. It imports no
            pandas/pyarrow/scikit-learn: what the trial imports beyond TensorFlow counts
            against its data budget.
  trial     candle_lib.trial.run.run_trial of the holdout role (train on 'train', validate on
            'val' every epoch) on the prepared dataset: loading (memory-mapped), scaling,
            training, checkpoints, prediction, writing the trial directory.

Peak memory is the process's peak resident set size, VmHWM of /proc/self/status (the same as
getrusage's ru_maxrss); it counts the pages of the memory-mapped matrix that the process has
touched (RssFile) as well as its own allocations (RssAnon). A thread samples VmRSS every 5 ms and
the worker names the stage it is in (load, scale, build, dataset, epoch k, predict, write), so
the report says at which stage the peak happened and how it splits into anonymous and
file-backed pages.

    .venv/bin/python bench/bench_train_memory.py            # 3,000 x 20,000 training rows (240 MB)
    .venv/bin/python bench/bench_train_memory.py --quick    # 600 x 4,000 (10 MB), a smoke run
    .venv/bin/python bench/bench_train_memory.py --check    # exit 1 if peak >= baseline + 1.5 x data
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _train_bench_data import (  # noqa: E402
    MODELS,
    REPO,
    RssSampler,
    bench_params,
    build_prepared,
    rss_status,
)

FACTOR = 1.5
RESULT = "RESULT "
MB = 1e6


def peak_bytes() -> int:
    """Peak RSS of this process: VmHWM, cross-checked with ru_maxrss (KiB on Linux)."""
    return max(rss_status()["VmHWM"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


# ---------------------------------------------------------------- workers (one per process) --


def worker_baseline(model: str, n_features: int, epochs: int, threads: int) -> dict:
    import numpy as np

    from candle_lib.trial.tf_setup import configure_tensorflow

    params = bench_params(model, epochs=epochs)
    configure_tensorflow(threads, params["rng_seed"], mixed_precision=params["mixed_precision"])
    import keras

    from candle_lib.models import build_model

    after_import = rss_status()
    n_classes = 2
    net = build_model(params, n_features, n_classes)  # softmax output, as a one-hot classification trial
    optimizers = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
    optimizer = optimizers[params["optimizer"]](learning_rate=params["learning_rate"])
    net.compile(
        optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"], jit_compile=params["jit_compile"]
    )
    rng = np.random.default_rng(0)
    shape = (
        (params["batch_size"], n_features, 1)
        if params["model"] in ("nt3", "tc1")
        else (params["batch_size"], n_features)
    )
    x = rng.random(shape, dtype=np.float32)
    y = np.eye(n_classes, dtype=np.float32)[np.arange(params["batch_size"]) % n_classes]
    net.fit(x, y, batch_size=params["batch_size"], epochs=1, validation_data=(x, y), verbose=0)
    net.predict(x, batch_size=params["batch_size"], verbose=0)
    return {"peak": peak_bytes(), "after_import": after_import["VmRSS"], "end": rss_status()}


def worker_trial(dataset: Path, model: str, epochs: int, threads: int, out: Path) -> dict:
    from candle_lib.trial import callbacks
    from candle_lib.trial import run as training
    from candle_lib.trial.spec import HOLDOUT, trial_spec

    stages: list[dict] = []
    sampler = RssSampler()

    def mark(name: str) -> None:
        sampler.sample()  # close the previous stage with a last sample
        status = rss_status()
        stages.append(
            {
                "stage": name,
                "rss": status["VmRSS"],
                "hwm": status["VmHWM"],
                "anon": status["RssAnon"],
                "file": status["RssFile"],
            }
        )
        sampler.stage = name

    def wrap(owner, attribute: str, before: str, after: str | None = None):
        original = getattr(owner, attribute, None)
        if original is None:  # another version of candle_lib.trial.run: fewer stage marks
            return

        def wrapped(*args, **kwargs):
            mark(before)
            value = original(*args, **kwargs)
            if after:
                mark(after)
            return value

        setattr(owner, attribute, wrapped)

    # stage names: "<what runs now>"; a mark is taken as each stage begins
    wrap(training.TrialRun, "feed", "feed: scale x_train, x_eval, targets")
    wrap(training.TrialRun, "scaled_inputs", "scale (fit, x_train, x_eval)", "train: targets")
    wrap(training.TrialRun, "build", "build model")
    wrap(training, "training_dataset", "training_dataset()", "fit: epoch 1")
    original_epoch_end = callbacks.TrialMonitor.on_epoch_end

    def epoch_end(self, epoch, logs=None):
        original_epoch_end(self, epoch, logs)
        mark(f"checkpoint + fit: epoch {epoch + 2}" if epoch + 1 < self.epochs else "checkpoint + predict + write")

    callbacks.TrialMonitor.on_epoch_end = epoch_end

    spec = trial_spec(bench_params(model, epochs=epochs), role=HOLDOUT, data=dataset.name)
    with sampler:
        mark("import + load")
        result = training.run_trial(dataset, spec, out, threads=threads, log=lambda message: None)
        mark("end")
    if result["status"] != "ok":
        raise SystemExit(f"the trial failed: {result['failure_reason']}")
    return {
        "peak": peak_bytes(),
        "sampled_peak": sampler.peak,
        "peak_stage": sampler.peak_stage,
        "max_anon": sampler.max_anon,
        "max_file": sampler.max_file,
        "stages": stages,
        "n_train": result["n_train"],
        "n_eval": result["n_eval"],
    }


# ------------------------------------------------------------------------------ the driver --


def run_worker(kind: str, args, extra: list[str]) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        "--model",
        args.model,
        "--epochs",
        str(args.epochs),
        "--threads",
        str(args.threads),
        *extra,
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", PYTHONPATH=str(REPO))
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} worker failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(lines[-1][len(RESULT) :])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="600 x 4,000 training rows instead of 3,000 x 20,000")
    parser.add_argument("--rows", type=int, help="training rows")
    parser.add_argument("--features", type=int, help="features")
    parser.add_argument(
        "--model",
        default="dense",
        choices=sorted(MODELS),
        help="benched model (default dense; nt3 is slow on wide data)",
    )
    parser.add_argument("--epochs", type=int, default=2, help="epochs of the trial (default 2)")
    parser.add_argument(
        "--eval-fraction",
        type=float,
        default=0.1,
        help="share of all rows in val, and as many in test (default 0.1: 80/10/10; the project's default config: 0.2)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each worker; the table shows the largest peak")
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 when trial peak >= baseline + {FACTOR} x training data"
    )
    parser.add_argument("--workdir", help="where to write the dataset (default: a temporary directory, removed after)")
    parser.add_argument("--worker", choices=("baseline", "trial"), help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker == "baseline":
        print(RESULT + json.dumps(worker_baseline(args.model, args.features, args.epochs, args.threads)), flush=True)
        return 0
    if args.worker == "trial":
        print(
            RESULT
            + json.dumps(worker_trial(Path(args.dataset), args.model, args.epochs, args.threads, Path(args.out))),
            flush=True,
        )
        return 0

    rows = args.rows or (600 if args.quick else 3000)
    cols = args.features or (4000 if args.quick else 20000)
    args.features = cols
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_train_memory_"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        dataset = workdir / "prep-memory"
        summary = build_prepared(dataset, rows, cols, eval_fraction=args.eval_fraction)
        params = bench_params(args.model)
        train_bytes = summary["train_bytes"]
        print(
            f"bench_train_memory: {summary['split_counts']} rows x {cols} features, matrix.npy {(dataset / 'matrix.npy').stat().st_size / MB:.0f} MB, "
            f"training rows {train_bytes / MB:.0f} MB; model {args.model} { ({k: params[k] for k in ('conv', 'pool', 'dense') if k in MODELS[args.model]}) }, "
            f"batch {params['batch_size']}, {params['optimizer']}, {params['scaling']} scaling, {args.epochs} epochs, threads={args.threads}"
        )
        baselines, trials = [], []
        for round_ in range(max(1, args.repeat)):
            baselines.append(run_worker("baseline", args, ["--features", str(cols)]))
            out = workdir / f"trial-{round_}"
            trials.append(run_worker("trial", args, ["--dataset", str(dataset), "--out", str(out)]))
            shutil.rmtree(out, ignore_errors=True)
            print(
                f"  round {round_ + 1}: baseline peak {baselines[-1]['peak'] / MB:.0f} MB, trial peak {trials[-1]['peak'] / MB:.0f} MB",
                flush=True,
            )

        baseline = max(b["peak"] for b in baselines)
        trial = max(trials, key=lambda t: t["peak"])
        budget = baseline + FACTOR * train_bytes
        over = trial["peak"] - baseline
        ok = trial["peak"] < budget
        print(
            f"\nTensorFlow baseline peak   {baseline / MB:8.0f} MB   (after importing TF/Keras: {baselines[0]['after_import'] / MB:.0f} MB)"
        )
        print(
            f"training data              {train_bytes / MB:8.0f} MB   ({trial['n_train']} rows x {cols} float32; {trial['n_eval']} val rows = {trial['n_eval'] * cols * 4 / MB:.0f} MB more)"
        )
        print(
            f"trial peak                 {trial['peak'] / MB:8.0f} MB   = baseline + {over / MB:.0f} MB = baseline + {over / train_bytes:.2f} x training data"
        )
        print(
            f"budget baseline + {FACTOR} x data {budget / MB:6.0f} MB   {'OK' if ok else 'MISSED'} (trial peak must stay below)"
        )
        both = train_bytes + summary["val_bytes"]
        print(
            f"(information: peak - baseline = {over / both:.2f} x the training + validation rows the trial holds, {both / MB:.0f} MB)"
        )
        peak = trial["sampled_peak"]
        print(
            f"\nsampled peak {peak['VmRSS'] / MB:.0f} MB during stage '{trial['peak_stage']}': "
            f"{peak['RssAnon'] / MB:.0f} MB anonymous + {peak['RssFile'] / MB:.0f} MB file-backed (mapped matrix, libraries); "
            f"largest anonymous {trial['max_anon'] / MB:.0f} MB, largest file-backed {trial['max_file'] / MB:.0f} MB"
        )
        print(
            f"\n{'trial stage (mark taken as it begins)':40s} {'VmRSS':>8s} {'VmHWM':>8s} {'anon':>8s} {'file':>8s}   (MB)"
        )
        for stage in trial["stages"]:
            print(
                f"{stage['stage']:40s} {stage['rss'] / MB:8.0f} {stage['hwm'] / MB:8.0f} {stage['anon'] / MB:8.0f} {stage['file'] / MB:8.0f}"
            )
        print(f"total {time.monotonic() - started:.0f} s")
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
