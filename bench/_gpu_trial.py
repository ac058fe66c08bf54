"""The Python side of bench/gpu_check.sh: an NT3-size dataset, one measured run per process, and
the table of all runs.

    python bench/_gpu_trial.py prepare --dataset DIR [--rows 1120] [--features 60483]
    python bench/_gpu_trial.py trial --dataset DIR --precision off|auto --out DIR [--epochs 4] [--label L]
    python bench/_gpu_trial.py bare  --dataset DIR --precision off|auto [--epochs 4] [--label L]
    python bench/_gpu_trial.py table RESULTS.jsonl

``prepare`` writes a prepared dataset of NT3's size (1,120 training rows, 140 val, 140 test, 60,483
features; bench/_train_bench_data.build_prepared). ``trial`` runs candle_lib.trial.run.run_trial on
the holdout role with NT3's default hyperparameters (CANDLE's 1D-CNN: conv [128, 20, 1, 128, 10, 1],
pool [1, 10], dense [200, 20], SGD, batch 20) and ``mixed_precision`` off (float32) or auto
(bfloat16 from compute capability 8.0, float16 on 7.x); ``bare`` is a plain Keras ``model.fit`` of
the same network, data, scaling, batch size and precision policy, timed over the same window
(on_epoch_begin -> on_epoch_end, with validation), without op determinism (plain Keras; a trial has
it). Each prints one ``RESULT {json}`` line (samples/s = n_train / the median epoch time of epochs
2..N). ``table`` prints every run of a results file (those lines, one per line) with its ratio to
the bare fit of the same precision, and a concurrent run's to the single trial of its precision.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _train_bench_driver as driver  # noqa: E402
from _train_bench_data import bare_inputs, build_prepared, timed_fit  # noqa: E402

NT3_TRAIN_ROWS, NT3_FEATURES = 1120, 60483  # NT3: 1,120 training samples of 60,483 genes


def nt3_params(precision: str, epochs: int) -> dict:
    """NT3's default hyperparameters with ``mixed_precision`` (off or auto) and ``epochs``."""
    from candle_lib.params.specs import resolve_params

    return resolve_params({"model": "nt3"}, {"mixed_precision": precision, "epochs": epochs})


def run_trial_worker(dataset: Path, precision: str, epochs: int, threads: int, out: Path) -> dict:
    """A holdout trial; its epoch times and what it ran on (metrics.json: device, precision)."""
    _, _, record = driver.holdout_trial(dataset, nt3_params(precision, epochs), out, threads)
    metrics = json.loads((out / "metrics.json").read_text())
    return {**record, "device": metrics["device"], "precision": metrics["precision"]}


def run_bare_worker(dataset: Path, precision: str, epochs: int, threads: int) -> dict:
    """The same network and data through a plain ``model.fit``, under the policy a trial picks."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import tensorflow as tf

    from candle_lib.hpc.devices import mixed_precision_policy, visible_gpus
    from candle_lib.hpc.gpu_slots import physical_device
    from candle_lib.models import build_model
    from candle_lib.trial.run import _optimizer

    params = nt3_params(precision, epochs)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    keras.utils.set_random_seed(params["rng_seed"])
    gpus = visible_gpus()
    policy = mixed_precision_policy(params["mixed_precision"], gpus)
    keras.mixed_precision.set_global_policy(policy)

    task, x_train, y_train, x_val, y_val = bare_inputs(params, dataset)
    net = build_model(params, x_val.shape[1], task.n_outputs, output_activation=task.output_activation)
    net.compile(optimizer=_optimizer(params["optimizer"], params["learning_rate"]), loss=task.loss)

    history, seconds = timed_fit(net, x_train, y_train, x_val, y_val, batch_size=params["batch_size"], epochs=epochs)
    device = f"gpu:{physical_device(gpus[0]['index'])}" if gpus else "cpu"
    return {
        "n_train": int(len(x_train)),
        "epoch_seconds": seconds,
        "val_loss": [float(v) for v in history["val_loss"]],
        "device": device,
        "precision": policy,
    }


def table_lines(results: list[dict]) -> list[str]:
    """One line per run: its label, kind, precision, device, samples/s, median epoch seconds
    (epochs 2..N), last val_loss and its ratio to the reference of the same precision setting
    (a trial's: the bare fit; a concurrent trial's: the single trial; the bare fit's: none)."""
    single = {r["setting"]: r for r in results if r["kind"] == "trial" and not r.get("concurrent")}
    bare = {r["setting"]: r for r in results if r["kind"] == "bare"}
    lines = [
        f"{'run':28s} {'precision':15s} {'device':7s} {'samples/s':>10s} {'epoch s':>8s} {'val_loss':>9s}  ratio",
    ]
    for r in results:
        rate = driver.samples_per_second(r)
        epoch = r["n_train"] / rate
        if r["kind"] == "trial" and r.get("concurrent"):
            ref, of = single.get(r["setting"]), "vs the trial alone"
        elif r["kind"] == "trial":
            ref, of = bare.get(r["setting"]), "trial/bare"
        else:
            ref, of = None, ""
        ratio = f"{rate / driver.samples_per_second(ref):.3f} {of}" if ref else "-"
        lines.append(
            f"{r['label']:28s} {r['precision']:15s} {r['device']:7s} {rate:10.1f} {epoch:8.2f} "
            f"{r['val_loss'][-1]:9.4f}  {ratio}"
        )
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("prepare", "trial", "bare", "table"))
    parser.add_argument("results", nargs="?", help="table: the file of RESULT lines")
    parser.add_argument("--dataset", type=Path)
    parser.add_argument("--rows", type=int, default=NT3_TRAIN_ROWS, help="prepare: training rows")
    parser.add_argument("--features", type=int, default=NT3_FEATURES, help="prepare: features")
    parser.add_argument("--precision", choices=("off", "auto"), default="off", help="mixed_precision")
    parser.add_argument("--epochs", type=int, default=4, help="epochs (epoch 1 is not timed)")
    parser.add_argument("--threads", type=int, default=4, help="TensorFlow intra/inter-op threads of both")
    parser.add_argument("--out", type=Path, help="trial: its directory")
    parser.add_argument("--label", help="the run's name in the table")
    parser.add_argument("--concurrent", action="store_true", help="trial: run beside another (table: vs alone)")
    args = parser.parse_args(argv)
    if args.action == "table":
        lines = Path(args.results).read_text().splitlines()
        results = [json.loads(line[len(driver.RESULT) :]) for line in lines if line.startswith(driver.RESULT)]
        print("\n".join(table_lines(results)))
        return 0
    if args.action == "prepare":
        summary = build_prepared(args.dataset, args.rows, args.features)
        print(f"prepared {summary['split_counts']} rows x {args.features} features in {args.dataset}")
        return 0
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (epoch 1 is not timed)")
    if args.action == "trial":
        result = run_trial_worker(args.dataset, args.precision, args.epochs, args.threads, args.out)
    else:
        result = run_bare_worker(args.dataset, args.precision, args.epochs, args.threads)
    label = args.label or f"{args.action} {args.precision}"
    return driver.print_result(
        {**result, "kind": args.action, "setting": args.precision, "label": label, "concurrent": args.concurrent}
    )


if __name__ == "__main__":
    sys.exit(main())
