"""Plug-in overhead: a model trained through the user-builder path vs the same model built in.

Issue 15 asks that a model of the user's (a Keras builder, ``model: path/file.py:function``)
train at >= 0.95x the samples/s of the same model as a built-in family. For each benched model
(the dense DNN and the NT3-style 1D-CNN of bench/_train_bench_data.py, at the sizes of
bench_train_throughput.py) this bench writes one prepared dataset and times, in separate
subprocesses (so no TensorFlow state leaks between them), in interleaved rounds, the same
``candle_lib.trial.run.run_trial`` on the holdout role (train on 'train', validate on 'val'
every epoch) with:

  builtin  ``model: dense`` / ``model: nt3``, the model's resolved hyperparameters (NT3
           defaults otherwise: sgd, lr 0.001, batch 20, maxabs scaling, a checkpoint every epoch);
  plugin   the same hyperparameters with ``model: "bench/_plugin_models.py:build"`` (a path
           relative to the repository root, the workers' directory) and the two hyperparameters
           that module declares in its HYPERPARAMETERS (``layout``: dense or nt3,
           ``width_multiplier``: 1), resolved as a config's are (candle_lib.params.declared).
           The builder returns the same architecture, built by the same code; the nt3 one gets
           2-D rows and adds the channel axis with a Reshape layer (see bench/_plugin_models.py).
           The trial id also hashes the builder's file: that is the plug-in's spec, too.

Both workers check that the trial ended ok, and report the built model's parameter count (the
driver stops when builtin and plugin differ: then they are not the same model). Epoch times
are the ``seconds`` column of the trial's history.csv (from on_epoch_begin to on_epoch_end:
training plus the validation pass). Epoch 1 (tracing, first touch of the data) is left out:
samples/s of one process is n_train / (the median epoch time of epochs 2..N). The table shows
the median over the rounds and the ratio plugin/builtin of the medians (checked: --check exits
1 when it is below 0.95 for a model), and, as information, the median of the per-round ratios
(each round runs builtin and plugin back to back, in alternating order) and that of the fastest
single epochs of all rounds (the least disturbed by other load). On a shared machine
single epochs vary by +-30%: use --repeat 5 or more for a figure to quote.

    .venv/bin/python bench/bench_plugin.py            # full size, 3 rounds
    .venv/bin/python bench/bench_plugin.py --quick    # a smoke run (about a minute)
    .venv/bin/python bench/bench_plugin.py --check    # exit 1 if plugin/builtin < 0.95
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _train_bench_data import MODELS, REPO, bench_params, build_prepared  # noqa: E402
from bench_train_throughput import FULL_SIZES, QUICK_SIZES, RESULT, TARGET, samples_per_second  # noqa: E402

PLUGIN = "bench/_plugin_models.py:build"  # relative to the repository root, the workers' directory
VARIANTS = ("builtin", "plugin")


def variant_params(model: str, variant: str, epochs: int) -> dict:
    """The resolved hyperparameters of ``model`` built in, or through the plug-in (its module's
    declared hyperparameters resolved as a config's are). Run from the repository root."""
    if variant == "builtin":
        return bench_params(model, epochs=epochs)
    from candle_lib.params.declared import config_specs
    from candle_lib.params.specs import resolve_params

    specs = config_specs({"model": {"model": PLUGIN}})
    plugin = {"model": PLUGIN, "layout": model, "width_multiplier": 1, "epochs": epochs}
    return resolve_params(MODELS[model], plugin, specs=specs)


# ---------------------------------------------------------------- the worker (one per process) --


def worker(dataset: Path, model: str, variant: str, epochs: int, threads: int, out: Path) -> dict:
    import pandas as pd

    import candle_lib.models
    from candle_lib.trial.run import run_trial
    from candle_lib.trial.spec import HOLDOUT, trial_spec

    built: dict[str, int] = {}
    original = candle_lib.models.build_model

    def counted_build(*args, **kwargs):  # TrialRun.build imports it from the package at call time
        net = original(*args, **kwargs)
        built["parameters"] = int(net.count_params())
        return net

    candle_lib.models.build_model = counted_build
    spec = trial_spec(variant_params(model, variant, epochs), role=HOLDOUT, data=dataset.name)
    result = run_trial(dataset, spec, out, threads=threads, log=lambda message: None)
    if result["status"] != "ok":
        raise SystemExit(f"the {variant} trial failed: {result['failure_reason']}")
    history = pd.read_csv(out / "history.csv")
    return {
        "n_train": result["n_train"],
        "epoch_seconds": history["seconds"].tolist(),
        "val_loss": history["val_loss"].tolist(),
        "parameters": built.get("parameters"),
        "model": json.loads((out / "params.json").read_text())["params"]["model"],
        "code": sorted(spec.get("code") or {}),
    }


# ------------------------------------------------------------------------------ the driver --


def run_worker(variant: str, dataset: Path, model: str, args, workdir: Path, round_: int) -> dict:
    out = workdir / f"trial-{model}-{variant}-{round_}"
    command = [sys.executable, __file__, "--worker", variant, "--dataset", str(dataset), "--model", model]
    command += ["--epochs", str(args.epochs), "--threads", str(args.threads), "--out", str(out)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", PYTHONPATH=str(REPO))
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=3600)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"{variant} worker for {model} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    shutil.rmtree(out, ignore_errors=True)
    return json.loads(lines[-1][len(RESULT) :])


def check_same_model(model: str, builtin: dict, plugin: dict) -> None:
    """Stop when the two workers did not train the same architecture through the two paths."""
    if plugin["model"] != PLUGIN or not plugin["code"]:
        raise RuntimeError(f"{model}: the plugin trial ran model {plugin['model']!r} (code {plugin['code']})")
    if builtin["parameters"] != plugin["parameters"]:
        raise RuntimeError(
            f"{model}: the builtin model has {builtin['parameters']} parameters, the plugin's {plugin['parameters']}"
        )


def print_table(models: list[str], results: dict) -> bool:
    """The per-model table; True when a model missed the target."""
    failed = False
    print(
        f"\n{'model':6s} {'params':>8s} {'builtin/s':>10s} {'plugin/s':>9s} {'plugin/builtin':>15s} {'paired':>7s}",
        end="",
    )
    print("  spread builtin / plugin (min..max)")
    for model in models:
        builtin = [samples_per_second(r) for r in results[(model, "builtin")]]
        plugin = [samples_per_second(r) for r in results[(model, "plugin")]]
        ratio = statistics.median(plugin) / statistics.median(builtin)
        paired = statistics.median(p / b for p, b in zip(plugin, builtin))  # each round's, run back to back
        ok = ratio >= TARGET
        failed |= not ok
        print(
            f"{model:6s} {results[(model, 'builtin')][0]['parameters']:8d} {statistics.median(builtin):10.1f} "
            f"{statistics.median(plugin):9.1f} {ratio:15.3f} {paired:7.3f}  "
            f"{min(builtin):.0f}..{max(builtin):.0f} / {min(plugin):.0f}..{max(plugin):.0f}  "
            f"{'OK' if ok else 'MISSED'} (target plugin/builtin >= {TARGET})"
        )
    print("(samples/s = n_train / median epoch time of epochs 2..N; medians of interleaved rounds; plugin/builtin is")
    print(" the ratio of the medians, checked; 'paired' the median of each round's plugin/builtin, information)")
    fastest = {  # the least disturbed epoch of all rounds: other load only ever slows an epoch down
        model: max(samples_per_second(r, fastest=True) for r in results[(model, "plugin")])
        / max(samples_per_second(r, fastest=True) for r in results[(model, "builtin")])
        for model in models
    }
    print("fastest single epoch of all rounds, plugin/builtin (information): ", end="")
    print(", ".join(f"{model} {ratio:.3f}" for model, ratio in fastest.items()))
    return failed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, 3 epochs, 1 round: a smoke run")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated, of: " + ", ".join(MODELS))
    parser.add_argument("--rows", type=int, help="training rows (default per model)")
    parser.add_argument("--features", type=int, help="features (default per model)")
    parser.add_argument("--epochs", type=int, help="epochs per run (default 6; epoch 1 is not timed)")
    parser.add_argument("--repeat", type=int, help="interleaved rounds (default 3; at least 3 unless --quick)")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow intra/inter-op threads (default 1)")
    parser.add_argument("--check", action="store_true", help=f"exit 1 when plugin/builtin < {TARGET}")
    parser.add_argument("--workdir", help="where to write the datasets (default: a temporary directory, removed after)")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.epochs = args.epochs or (3 if args.quick else 6)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (epoch 1 is not timed)")

    if args.worker:
        result = worker(Path(args.dataset), args.model, args.worker, args.epochs, args.threads, Path(args.out))
        print(RESULT + json.dumps(result), flush=True)
        return 0

    repeat = args.repeat or (1 if args.quick else 3)
    if not args.quick and repeat < 3:
        parser.error("--repeat must be at least 3 (or use --quick)")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_plugin_"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        datasets = {}
        print(
            f"bench_plugin: {args.epochs} epochs per run (epoch 1 not timed), {repeat} round(s), "
            f"threads={args.threads}, {os.cpu_count()} CPU(s); plugin = {PLUGIN}"
        )
        for model in models:
            rows, cols = args.rows or sizes[model][0], args.features or sizes[model][1]
            datasets[model] = workdir / f"prep-{model}"
            summary = build_prepared(datasets[model], rows, cols)
            params = bench_params(model)
            print(
                f"  {model}: {summary['split_counts']} rows x {cols} features, batch {params['batch_size']}, "
                f"{params['optimizer']}, {params['scaling']} scaling, "
                f"layers { ({k: params[k] for k in ('conv', 'pool', 'dense') if k in MODELS[model]}) }"
            )

        results: dict[tuple[str, str], list[dict]] = {(m, v): [] for m in models for v in VARIANTS}
        for round_ in range(repeat):
            for model in models:
                order = VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]  # alternate, so drift hits both
                for variant in order:
                    result = run_worker(variant, datasets[model], model, args, workdir, round_)
                    results[(model, variant)].append(result)
                    print(
                        f"  round {round_ + 1} {model:5s} {variant:7s}: {samples_per_second(result):9.1f} samples/s  "
                        f"epochs {[f'{s:.2f}' for s in result['epoch_seconds']]}",
                        flush=True,
                    )
                check_same_model(model, results[(model, "builtin")][-1], results[(model, "plugin")][-1])

        failed = print_table(models, results)
        print(f"total {time.monotonic() - started:.0f} s")
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if (args.check and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
