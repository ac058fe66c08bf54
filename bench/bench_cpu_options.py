"""What the CPU options of a trial do to NT3's epoch time and its accuracy (issue 18).

One prepared dataset (bench/_train_bench_data.py: log2(FPKM-UQ + 1)-like values with a two-class
signal) and CANDLE's NT3 network with its defaults (conv [128, 20, 1, 128, 10, 1], pool [1, 10],
dense [200, 20], dropout 0.1, SGD lr 0.001, batch 20, MaxAbs scaling: ``model: nt3`` with nothing
changed). Each variant is the same ``run_trial`` (holdout role: train on 'train', validate on
'val' every epoch) in a fresh process, in interleaved rounds:

  float32     the defaults (oneDNN on, as TensorFlow ships it on x86);
  bfloat16    ``mixed_precision: bfloat16`` (Keras' mixed_bfloat16 policy: bfloat16 compute,
              float32 weights; oneDNN runs it on AVX512_BF16 / AMX where the CPU has them);
  xla         ``jit_compile: true`` (the training step XLA-compiled; seeded, not bit-reproducible);
  onednn_off  ``TF_ENABLE_ONEDNN_OPTS=0`` in the environment (TensorFlow's own CPU kernels);
  caller_thread  ``TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD=1``: the thread that runs a oneDNN
              operation takes part of its work instead of handing all of it to the pool;
  system_alloc   ``TF_ONEDNN_USE_SYSTEM_ALLOCATOR=1``: TensorFlow's oneDNN CPU allocator takes
              large buffers from malloc rather than keeping them in its own pool (memory goes
              back to the system when a tensor is freed; each large buffer is new pages).

The table: the median epoch time of epochs 2..N (history.csv ``seconds``: training plus the
validation pass) over the rounds, its ratio to float32's, the peak memory of the process
(ru_maxrss, median), the last epoch's val_loss and val_accuracy with their difference to
float32's (the accuracy effect; the same seed, so float32 itself repeats exactly), and whether
every epoch's val_loss equals float32's to the bit (``same``).

    .venv/bin/python bench/bench_cpu_options.py                          # 1,120 rows x 2,000, 3 epochs, 2 rounds
    .venv/bin/python bench/bench_cpu_options.py --quick                  # a smoke run
    .venv/bin/python bench/bench_cpu_options.py --features 6000 --threads 2   # the work of bench_vs_candle
    .venv/bin/python bench/bench_cpu_options.py --quick --rows 400 --epochs 30 --set optimizer=adam --variants float32,bfloat16
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _train_bench_driver as driver  # noqa: E402
from _train_bench_data import build_prepared  # noqa: E402

VARIANTS = {  # name -> (hyperparameters changed, environment set before TensorFlow starts)
    "float32": ({}, {}),
    "bfloat16": ({"mixed_precision": "bfloat16"}, {}),
    "xla": ({"jit_compile": True}, {}),
    "onednn_off": ({}, {"TF_ENABLE_ONEDNN_OPTS": "0"}),
    "caller_thread": ({}, {"TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD": "1"}),
    "system_alloc": ({}, {"TF_ONEDNN_USE_SYSTEM_ALLOCATOR": "1"}),
}
ROWS, FEATURES, QUICK_ROWS, QUICK_FEATURES = 1120, 2000, 200, 400


def settings(pairs: list[str]) -> dict:
    """--set key=value pairs as hyperparameters (values read as YAML: 0.01, adam, [64])."""
    import yaml

    return {key: yaml.safe_load(value) for key, _, value in (pair.partition("=") for pair in pairs)}


def worker(dataset: Path, variant: str, epochs: int, threads: int, out: Path, changed: dict) -> dict:
    changes, environment = VARIANTS[variant]
    os.environ.update(environment)  # before the trial imports TensorFlow
    from candle_lib.params.specs import resolve_params

    params = resolve_params({"model": "nt3", "epochs": epochs, **changed, **changes})
    _, history, record = driver.holdout_trial(dataset, params, out, threads, name=variant)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return record | {"val_accuracy": history["val_accuracy"].tolist(), "peak_mib": peak}


def table(results: dict[str, list[dict]]) -> list[str]:
    def epoch(result):
        return statistics.median(result["epoch_seconds"][1:])

    base = statistics.median(epoch(r) for r in results["float32"])
    reference = results["float32"][0]
    lines = [
        "| variant | epoch s | vs float32 | peak MiB | val_loss | change | val_accuracy | change | same |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        seconds = statistics.median(epoch(r) for r in runs)
        peak = statistics.median(r.get("peak_mib", float("nan")) for r in runs)
        loss, accuracy = runs[0]["val_loss"][-1], runs[0]["val_accuracy"][-1]
        same = all(r["val_loss"] == reference["val_loss"] for r in runs)
        lines.append(
            f"| {name} | {seconds:.2f} | {seconds / base:.2f}x | {peak:,.0f} | {loss:.4f} "
            f"| {loss - reference['val_loss'][-1]:+.4f} | {accuracy:.4f} | {accuracy - reference['val_accuracy'][-1]:+.4f} "
            f"| {'yes' if same else 'no'} |"
        )
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data, 2 epochs, 1 round: a smoke run")
    parser.add_argument("--rows", type=int, help=f"training rows (default {ROWS})")
    parser.add_argument("--features", type=int, help=f"features (default {FEATURES})")
    parser.add_argument("--epochs", type=int, help="epochs per run (default 3; epoch 1 is not timed)")
    parser.add_argument("--repeat", type=int, help="interleaved rounds (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads of each trial (default 2)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, of: " + ", ".join(VARIANTS))
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="a hyperparameter of every variant, e.g. --set optimizer=adam (to reach an accuracy worth comparing)",
    )  # fmt: skip
    parser.add_argument("--workdir", help="where to write the dataset (default: a temporary directory)")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.epochs = args.epochs or (2 if args.quick else 3)
    if args.worker:
        result = worker(Path(args.dataset), args.worker, args.epochs, args.threads, Path(args.out), settings(args.set))
        return driver.print_result(result)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if "float32" not in variants or set(variants) - set(VARIANTS):
        parser.error(f"--variants must include float32 and name only: {', '.join(VARIANTS)}")
    repeat = args.repeat or (1 if args.quick else 2)
    rows = args.rows or (QUICK_ROWS if args.quick else ROWS)
    features = args.features or (QUICK_FEATURES if args.quick else FEATURES)
    with driver.bench_workdir(args, "bench-cpu-options-") as workdir:
        print(f"bench_cpu_options: NT3 defaults, {args.epochs} epochs (epoch 1 not timed), {repeat} round(s), "
              f"threads={args.threads}, {os.cpu_count()} CPU(s)")  # fmt: skip
        dataset = workdir / "prep-nt3"
        summary = build_prepared(dataset, rows, features)
        print(f"  data: {summary['split_counts']} rows x {features} features")
        results: dict[str, list[dict]] = {v: [] for v in variants}
        for round_ in range(repeat):
            for variant in variants if round_ % 2 == 0 else variants[::-1]:
                result = driver.run_worker(
                    __file__, variant, dataset, "nt3", epochs=args.epochs, threads=args.threads,
                    out=workdir / f"trial-{variant}-{round_}", extra_args=tuple(f"--set={pair}" for pair in args.set),
                )  # fmt: skip
                results[variant].append(result)
                print(f"  round {round_ + 1} {variant:10s}: epochs {[f'{s:.2f}' for s in result['epoch_seconds']]}")
        print("\n" + "\n".join(table(results)))
        print(json.dumps({"rows": rows, "features": features, "epochs": args.epochs, "rounds": repeat}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
