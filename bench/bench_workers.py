"""Scaling of one trial over workers on CPU: samples/s of one process against ``strategy:
multi_worker`` over N local workers, on the same cores and the same global batch.

For each benched model (bench/_train_bench_data.py: the dense DNN and the NT3-style 1D-CNN) this
bench writes one prepared dataset and runs, each in a fresh process tree, in interleaved rounds:

  process  ``candle_lib.trial.run.run_trial`` of the holdout role, strategy default, with
           ``--threads`` TensorFlow threads (the whole job's cores);
  workers  the same trial, strategy multi_worker, through the training job's own entry
           (``candle_lib.trial.launch.run_trial_job``, the local launcher) over ``--workers``
           processes of ``--threads / --workers`` threads each: every worker computes the
           gradient of its share of each global batch, and the workers sum them over gRPC.

samples/s = training rows / the median epoch time of epochs 2..N (the ``seconds`` of the
chief's history.csv: training plus the validation pass; epoch 1 traces the model). The table
shows the medians over the rounds and workers/process. This is a figure of what splitting a
node's cores between workers costs or buys (on one node a process already uses every core; the
point of workers is more nodes), not a target: no --check.

    .venv/bin/python bench/bench_workers.py                 # 2 workers on 2 threads, 3 rounds
    .venv/bin/python bench/bench_workers.py --quick         # a smoke run
    .venv/bin/python bench/bench_workers.py --workers 4 --threads 8 --models nt3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _train_bench_driver as driver  # noqa: E402
from _train_bench_data import bench_params  # noqa: E402

KINDS = ("process", "workers")


def worker(dataset: Path, model: str, kind: str, epochs: int, threads: int, workers: int, out: Path) -> dict:
    """One measured trial (in this process, or launched over ``workers`` local workers)."""
    import pandas as pd

    from candle_lib.trial.launch import run_trial_job
    from candle_lib.trial.spec import HOLDOUT, trial_spec

    strategy = "default" if kind == "process" else "multi_worker"
    spec = trial_spec(bench_params(model, epochs=epochs, strategy=strategy), role=HOLDOUT, data=dataset.name)
    resources = {"gpus_per_trial": 0, "workers_per_trial": workers, "worker_launcher": "local"}
    per_process = threads if kind == "process" else max(1, threads // workers)
    result = run_trial_job(resources, dataset, spec, out, threads=per_process)
    if result["status"] != "ok":
        raise SystemExit(f"{kind} failed: {result['failure_reason']}")
    history = pd.read_csv(out / "history.csv")
    return {"n_train": result["n_train"], "epoch_seconds": history["seconds"].tolist(), "workers": result["workers"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    driver.add_driver_options(
        parser,
        kinds=KINDS,
        ratio="(not checked)",
        threads_help="cores of the job: the process's threads; split evenly between the workers",
    )
    parser.add_argument("--workers", type=int, default=2, help="workers of the multi-worker trial (default 2)")
    args = driver.parse_driver_args(parser, argv)
    if args.worker:
        result = worker(
            Path(args.dataset), args.model, args.worker, args.epochs, args.threads, args.workers, Path(args.out)
        )
        return driver.print_result(result)
    if args.check:
        parser.error("this bench measures, it has no target: --check does not apply")
    models, repeat = driver.plan_rounds(parser, args)
    with driver.bench_workdir(args, "bench-workers-") as workdir:
        driver.announce("bench_workers", args, repeat, f", {args.workers} workers")
        datasets = driver.prepare_datasets(models, args, workdir)
        results = driver.interleaved_rounds(
            __file__, KINDS, datasets, args, workdir, repeat, extra_args=("--workers", str(args.workers))
        )
        print(f"\n| model | process, {args.threads} threads | {args.workers} workers | workers/process |")
        print("|---|---|---|---|")
        for model in models:
            speed = {k: statistics.median(driver.samples_per_second(r) for r in results[(model, k)]) for k in KINDS}
            print(
                f"| {model} | {speed['process']:.0f} samples/s | {speed['workers']:.0f} samples/s | "
                f"{speed['workers'] / speed['process']:.2f}x |"
            )
        print(json.dumps({"threads": args.threads, "workers": args.workers, "rounds": repeat}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
