"""Training throughput: the trial runner (candle_lib.trial.run.run_trial) vs a bare Keras ``fit``.

Issue 4 asks that a trial train at >= 0.95x the samples/s of a bare ``model.fit`` on the same
model, data and batch size. For each benched model (a dense DNN and an NT3-style 1D-CNN, see
bench/_train_bench_data.py) this bench writes one prepared dataset and times, in separate
subprocesses (so no TensorFlow state leaks between them), in interleaved rounds:

  ours   run_trial on the holdout role (train on 'train', validate on 'val' every epoch) with
         the model's resolved hyperparameters (NT3 defaults: sgd, lr 0.001, batch 20, maxabs
         scaling, a checkpoint every epoch). Its epoch times are the ``seconds`` column of the
         trial's history.csv (TrialMonitor: from on_epoch_begin to on_epoch_end, so training
         plus the validation pass). The checkpoint written after each epoch falls outside that
         window; it is timed on its own (Checkpointer.on_epoch_end wrapped in the worker) and
         shown as information ("ours+ckpt").
  bare   the same arrays (load_prepared, the same scaler fitted on the training rows), the same
         model (candle_lib.models.build_model), optimizer, loss, metrics and batch size,
         compiled the same way, then ``model.fit(x, y, batch_size, epochs, shuffle=True,
         validation_data=(x_val, y_val))`` with one callback timing on_epoch_begin ->
         on_epoch_end, i.e. the same window as ours. Both set TensorFlow's intra/inter-op
         threads to --threads and seed Keras; bare does not turn on op determinism (plain
         Keras; --bare-determinism does).

Epoch 1 (tracing, first-touch of the data) is left out of both: samples/s of one process is
n_train / (the median epoch time of epochs 2..N); the median, not the sum, so that a burst of
load from another process on a shared machine does not decide the figure. The table shows the
median over the rounds and the ratio ours/bare of the medians (checked: --check exits 1 when it
is below 0.95 for a model), and, as information, the median of the per-round ratios (each round
runs ours and bare back to back, in alternating order). On a shared machine single epochs vary
by +-30%: use --repeat 5 or more for a figure to quote.

    .venv/bin/python bench/bench_train_throughput.py            # full size, 3 rounds
    .venv/bin/python bench/bench_train_throughput.py --quick    # a smoke run (< 1 minute)
    .venv/bin/python bench/bench_train_throughput.py --check    # exit 1 if ours/bare < 0.95
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _train_bench_driver as driver  # noqa: E402
from _train_bench_data import bare_inputs, bench_params, timed_fit  # noqa: E402

KINDS = ("ours", "bare")


# ---------------------------------------------------------------- workers (one per process) --


def worker_ours(dataset: Path, model: str, epochs: int, threads: int, out: Path) -> dict:
    from candle_lib.trial import callbacks

    checkpoint_seconds: dict[int, float] = {}
    original = callbacks.Checkpointer.on_epoch_end

    def timed_checkpoint(self, epoch, logs=None):
        start = time.monotonic()
        original(self, epoch, logs)
        checkpoint_seconds[epoch + 1] = time.monotonic() - start

    callbacks.Checkpointer.on_epoch_end = timed_checkpoint
    _, history, record = driver.holdout_trial(dataset, bench_params(model, epochs=epochs), out, threads)
    return {**record, "checkpoint_seconds": [checkpoint_seconds.get(e, 0.0) for e in history["epoch"]]}


def worker_bare(dataset: Path, model: str, epochs: int, threads: int, determinism: bool) -> dict:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import numpy as np
    import tensorflow as tf

    from candle_lib.models import build_model
    from candle_lib.trial.run import _optimizer

    params = bench_params(model, epochs=epochs)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    keras.utils.set_random_seed(params["rng_seed"])
    if determinism:
        tf.config.experimental.enable_op_determinism()

    task, x_train, y_train, x_val, y_val = bare_inputs(params, dataset)
    net = build_model(params, x_val.shape[1], task.n_outputs, output_activation=task.output_activation)
    net.compile(
        optimizer=_optimizer(params["optimizer"], params["learning_rate"]),
        loss=task.loss,
        metrics=task.keras_metrics,
        jit_compile=params["jit_compile"],
    )

    history, seconds = timed_fit(net, x_train, y_train, x_val, y_val, batch_size=params["batch_size"], epochs=epochs)
    return {
        "n_train": int(len(x_train)),
        "epoch_seconds": seconds,
        "val_loss": [float(v) for v in history["val_loss"]],
        "finite": bool(np.isfinite(history["loss"]).all()),
    }


# ------------------------------------------------------------------------------ the driver --


def print_table(models: list[str], results: dict) -> bool:
    """The per-model table; True when a model missed the target."""
    failed = False
    print(
        f"\n{'model':6s} {'ours/s':>9s} {'ours+ckpt/s':>12s} {'bare/s':>9s} {'ours/bare':>10s} "
        f"{'(ours+ckpt)/bare':>17s} {'paired':>7s}  spread ours / bare (min..max)"
    )
    fastest_ratios: dict[str, float] = {}
    for model in models:
        figures = driver.compare(results, model, "ours", "bare")
        ours_ckpt = statistics.median(
            driver.samples_per_second(r, with_checkpoint=True) for r in results[(model, "ours")]
        )
        ours, bare = statistics.median(figures.first), statistics.median(figures.second)
        fastest_ratios[model] = figures.fastest
        failed |= not figures.ok
        print(
            f"{model:6s} {ours:9.1f} {ours_ckpt:12.1f} {bare:9.1f} {figures.ratio:10.3f} {ours_ckpt / bare:17.3f} "
            f"{figures.paired:7.3f}  {driver.span(figures.first)} / {driver.span(figures.second)}  "
            f"{'OK' if figures.ok else 'MISSED'} (target ours/bare >= {driver.TARGET})"
        )
    print(
        "(samples/s = n_train / median epoch time of epochs 2..N; medians of interleaved rounds; "
        "ours/bare is the ratio of the medians,"
    )
    print(
        " checked; 'paired' the median of each round's ours/bare; ours+ckpt adds the per-epoch checkpoint write; "
        "the last two are information)"
    )
    print(
        "fastest single epoch of all rounds, ours/bare (information; the least disturbed by other load): "
        + ", ".join(f"{m} {r:.3f}" for m, r in fastest_ratios.items())
    )
    return failed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    driver.add_driver_options(
        parser,
        kinds=KINDS,
        ratio="ours/bare",
        threads_help="TensorFlow intra/inter-op threads of both (default 1, as run_trial)",
    )
    parser.add_argument(
        "--bare-determinism",
        action="store_true",
        help="also enable op determinism in the bare fit (ours always has it)",
    )
    args = driver.parse_driver_args(parser, argv)

    if args.worker:
        dataset = Path(args.dataset)
        if args.worker == "ours":
            return driver.print_result(worker_ours(dataset, args.model, args.epochs, args.threads, Path(args.out)))
        return driver.print_result(worker_bare(dataset, args.model, args.epochs, args.threads, args.bare_determinism))

    models, repeat = driver.plan_rounds(parser, args)
    with driver.bench_workdir(args, "bench_train_throughput_") as workdir:
        driver.announce("bench_train_throughput", args, repeat)
        datasets = driver.prepare_datasets(models, args, workdir)
        extra_args = ("--bare-determinism",) if args.bare_determinism else ()
        results = driver.interleaved_rounds(__file__, KINDS, datasets, args, workdir, repeat, extra_args=extra_args)
        failed = print_table(models, results)
    return 1 if (args.check and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
