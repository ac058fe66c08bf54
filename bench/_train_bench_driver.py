"""The driver shared by the two training-speed benches: bench_train_throughput.py (a trial vs a
bare ``model.fit``) and bench_plugin.py (a plug-in model vs the same model built in).

Each bench compares two kinds of worker on the same models (bench/_train_bench_data.py) with the
same method, which lives here:

- :func:`add_driver_options` / :func:`parse_driver_args` / :func:`plan_rounds`: the options both
  benches take (--quick, --models, --rows, --features, --epochs, --repeat, --threads, --check,
  --workdir and the hidden --worker/--dataset/--model/--out of a worker process) and their checks;
- :func:`bench_workdir`: the directory of the datasets (temporary unless --workdir), timed;
- :func:`announce` / :func:`prepare_datasets`: the first line of the output; one prepared dataset
  per benched model, described in one line each;
- :func:`holdout_trial`: a worker's run of a trial and the epoch times it reports;
- :func:`run_worker`: one measurement in a fresh subprocess (no TensorFlow state leaks between
  measurements), whose last ``RESULT {json}`` line of stdout (:func:`print_result`) is its result;
- :func:`interleaved_rounds`: the rounds, each running both kinds back to back for every model,
  in alternating order so that drifting load hits both;
- :func:`samples_per_second` / :func:`compare`: n_train / the median epoch time of epochs 2..N
  (epoch 1 traces the model and first touches the data), and the ratios the tables show
  (:func:`span`: min..max of the rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from _train_bench_data import MODELS, REPO, bench_params, build_prepared

TARGET = 0.95  # both issues (4: ours/bare, 15: plugin/builtin) ask for at least 0.95x
# (training rows, features) per model: an epoch of a few seconds on one CPU core
FULL_SIZES = {"dense": (6000, 5000), "nt3": (3000, 2000)}
QUICK_SIZES = {"dense": (600, 500), "nt3": (400, 400)}
RESULT = "RESULT "

Results = dict[tuple[str, str], list[dict]]  # (model, kind) -> one worker result per round


def add_driver_options(
    parser: argparse.ArgumentParser, *, kinds: tuple[str, str], ratio: str, threads_help: str
) -> None:
    """The options of both benches; ``kinds`` are its two workers, ``ratio`` names the checked figure."""
    parser.add_argument("--quick", action="store_true", help="small data, 3 epochs, 1 round: a smoke run")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated, of: " + ", ".join(MODELS))
    parser.add_argument("--rows", type=int, help="training rows (default per model)")
    parser.add_argument("--features", type=int, help="features (default per model)")
    parser.add_argument("--epochs", type=int, help="epochs per run (default 6; epoch 1 is not timed)")
    parser.add_argument("--repeat", type=int, help="interleaved rounds (default 3; at least 3 unless --quick)")
    parser.add_argument("--threads", type=int, default=1, help=threads_help)
    parser.add_argument("--check", action="store_true", help=f"exit 1 when {ratio} < {TARGET}")
    parser.add_argument("--workdir", help="where to write the datasets (default: a temporary directory, removed after)")
    parser.add_argument("--worker", choices=kinds, help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)


def parse_driver_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse; --epochs defaults to 3 with --quick, else 6, and must be at least 2."""
    args = parser.parse_args(argv)
    args.epochs = args.epochs or (3 if args.quick else 6)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (epoch 1 is not timed)")
    return args


def plan_rounds(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[list[str], int]:
    """The benched models (checked against MODELS) and the number of rounds (at least 3 unless --quick)."""
    repeat = args.repeat or (1 if args.quick else 3)
    if not args.quick and repeat < 3:
        parser.error("--repeat must be at least 3 (or use --quick)")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    return models, repeat


def holdout_trial(dataset: Path, params: dict, out: Path, threads: int, name: str = "the trial"):
    """A worker's measured run: candle_lib.trial.run.run_trial of the holdout role (train on 'train',
    validate on 'val' every epoch) with ``params`` on ``dataset``, written to ``out``; exits the
    worker when it did not end ok. Returns the trial's spec, its history.csv and the record both
    benches report: n_train, epoch_seconds (history's on_epoch_begin -> on_epoch_end) and val_loss."""
    import pandas as pd

    from candle_lib.trial.run import run_trial
    from candle_lib.trial.spec import HOLDOUT, trial_spec

    spec = trial_spec(params, role=HOLDOUT, data=dataset.name)
    result = run_trial(dataset, spec, out, threads=threads, log=lambda message: None)
    if result["status"] != "ok":
        raise SystemExit(f"{name} failed: {result['failure_reason']}")
    history = pd.read_csv(out / "history.csv")
    record = {
        "n_train": result["n_train"],
        "epoch_seconds": history["seconds"].tolist(),
        "val_loss": history["val_loss"].tolist(),
    }
    return spec, history, record


def print_result(result: dict) -> int:
    """A worker's last line: what :func:`run_worker` reads back."""
    print(RESULT + json.dumps(result), flush=True)
    return 0


@contextmanager
def bench_workdir(args: argparse.Namespace, prefix: str) -> Iterator[Path]:
    """--workdir (kept), or a temporary directory removed after; prints the total time at the end."""
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix=prefix))
    workdir = workdir.resolve()  # the workers run in the repository root
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        yield workdir
        print(f"total {time.monotonic() - started:.0f} s")
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def announce(bench: str, args: argparse.Namespace, repeat: int, note: str = "") -> None:
    """The bench's first line: epochs, rounds, threads, CPUs (and ``note``)."""
    print(
        f"{bench}: {args.epochs} epochs per run (epoch 1 not timed), {repeat} round(s), "
        f"threads={args.threads}, {os.cpu_count()} CPU(s){note}"
    )


def prepare_datasets(models: list[str], args: argparse.Namespace, workdir: Path) -> dict[str, Path]:
    """One prepared dataset per model (--rows/--features, else the model's quick or full size)."""
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    datasets = {}
    for model in models:
        rows, cols = args.rows or sizes[model][0], args.features or sizes[model][1]
        datasets[model] = workdir / f"prep-{model}"
        summary = build_prepared(datasets[model], rows, cols)
        params = bench_params(model)
        layers = {k: params[k] for k in ("conv", "pool", "dense") if k in MODELS[model]}
        print(
            f"  {model}: {summary['split_counts']} rows x {cols} features "
            f"({summary['train_bytes'] / 1e6:.0f} MB of training rows), batch {params['batch_size']}, "
            f"{params['optimizer']}, {params['scaling']} scaling, layers {layers}"
        )
    return datasets


def run_worker(
    script: str | Path,
    kind: str,
    dataset: Path,
    model: str,
    *,
    epochs: int,
    threads: int,
    out: Path,
    extra_args: tuple[str, ...] = (),
) -> dict:
    """Run ``script --worker kind`` in a fresh process in the repository root; return its result.
    ``out`` (the trial directory a worker may write) is removed after."""
    command = [sys.executable, str(script), "--worker", kind, "--dataset", str(dataset), "--model", model]
    command += ["--epochs", str(epochs), "--threads", str(threads), "--out", str(out), *extra_args]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", PYTHONPATH=str(REPO))
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=3600)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"{kind} worker for {model} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    shutil.rmtree(out, ignore_errors=True)
    return json.loads(lines[-1][len(RESULT) :])


def interleaved_rounds(
    script: str | Path,
    kinds: tuple[str, str],
    datasets: dict[str, Path],
    args: argparse.Namespace,
    workdir: Path,
    repeat: int,
    *,
    extra_args: tuple[str, ...] = (),
    after_model: Callable[[str, dict[str, dict]], None] | None = None,
) -> Results:
    """``repeat`` rounds; in each, for every model, both kinds back to back (in the order of ``kinds``
    in even rounds, reversed in odd ones). Prints each run; ``after_model(model, {kind: result})``
    sees the round's two results of a model (to stop when they are not comparable)."""
    results: Results = {(m, k): [] for m in datasets for k in kinds}
    width = max(len(k) for k in kinds)
    for round_ in range(repeat):
        for model, dataset in datasets.items():
            for kind in kinds if round_ % 2 == 0 else kinds[::-1]:  # alternate, so drift hits both
                out = workdir / f"trial-{model}-{kind}-{round_}"
                result = run_worker(
                    script,
                    kind,
                    dataset,
                    model,
                    epochs=args.epochs,
                    threads=args.threads,
                    out=out,
                    extra_args=extra_args,
                )
                results[(model, kind)].append(result)
                print(
                    f"  round {round_ + 1} {model:5s} {kind:{width}s}: {samples_per_second(result):9.1f} samples/s  "
                    f"epochs {[f'{s:.2f}' for s in result['epoch_seconds']]}",
                    flush=True,
                )
            if after_model:
                after_model(model, {kind: results[(model, kind)][-1] for kind in kinds})
    return results


def samples_per_second(result: dict, with_checkpoint: bool = False, fastest: bool = False) -> float:
    """n_train / the median (``fastest``: the shortest) epoch time of epochs 2..N, plus each
    epoch's checkpoint write when ``with_checkpoint``."""
    seconds = result["epoch_seconds"][1:]
    if with_checkpoint:
        seconds = [s + c for s, c in zip(seconds, result["checkpoint_seconds"][1:])]
    return result["n_train"] / (min(seconds) if fastest else statistics.median(seconds))


@dataclass(frozen=True)
class Comparison:
    """One model's figures over the rounds: samples/s of the first and the second kind per round,
    the ratio of their medians (the checked figure), the median of each round's ratio (``paired``)
    and the ratio of the fastest single epochs of all rounds."""

    first: list[float]
    second: list[float]
    ratio: float
    paired: float
    fastest: float

    @property
    def ok(self) -> bool:
        return self.ratio >= TARGET


def span(values: list[float]) -> str:
    """``min..max`` of samples/s figures, rounded to whole samples."""
    return f"{min(values):.0f}..{max(values):.0f}"


def compare(results: Results, model: str, first_kind: str, second_kind: str) -> Comparison:
    """The figures of first_kind/second_kind for ``model`` (see :class:`Comparison`)."""
    first = [samples_per_second(r) for r in results[(model, first_kind)]]
    second = [samples_per_second(r) for r in results[(model, second_kind)]]
    fastest = max(samples_per_second(r, fastest=True) for r in results[(model, first_kind)]) / max(
        samples_per_second(r, fastest=True) for r in results[(model, second_kind)]
    )  # the least disturbed epoch of all rounds: other load only ever slows an epoch down
    return Comparison(
        first=first,
        second=second,
        ratio=statistics.median(first) / statistics.median(second),
        paired=statistics.median(a / b for a, b in zip(first, second)),  # each round's, run back to back
        fastest=fastest,
    )
