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
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _train_bench_driver as driver  # noqa: E402
from _train_bench_data import MODELS, bench_params  # noqa: E402

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
    import candle_lib.models

    built: dict[str, int] = {}
    original = candle_lib.models.build_model

    def counted_build(*args, **kwargs):  # TrialRun.build imports it from the package at call time
        net = original(*args, **kwargs)
        built["parameters"] = int(net.count_params())
        return net

    candle_lib.models.build_model = counted_build
    params = variant_params(model, variant, epochs)
    spec, _, record = driver.holdout_trial(dataset, params, out, threads, name=f"the {variant} trial")
    return {
        **record,
        "parameters": built.get("parameters"),
        "model": json.loads((out / "params.json").read_text())["params"]["model"],
        "code": sorted(spec.get("code") or {}),
    }


# ------------------------------------------------------------------------------ the driver --


def check_same_model(model: str, latest: dict[str, dict]) -> None:
    """Stop when the two workers did not train the same architecture through the two paths."""
    builtin, plugin = latest["builtin"], latest["plugin"]
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
    fastest: dict[str, float] = {}
    for model in models:
        figures = driver.compare(results, model, "plugin", "builtin")
        fastest[model] = figures.fastest
        failed |= not figures.ok
        builtin, plugin = figures.second, figures.first
        print(
            f"{model:6s} {results[(model, 'builtin')][0]['parameters']:8d} {statistics.median(builtin):10.1f} "
            f"{statistics.median(plugin):9.1f} {figures.ratio:15.3f} {figures.paired:7.3f}  "
            f"{driver.span(builtin)} / {driver.span(plugin)}  "
            f"{'OK' if figures.ok else 'MISSED'} (target plugin/builtin >= {driver.TARGET})"
        )
    print("(samples/s = n_train / median epoch time of epochs 2..N; medians of interleaved rounds; plugin/builtin is")
    print(" the ratio of the medians, checked; 'paired' the median of each round's plugin/builtin, information)")
    print("fastest single epoch of all rounds, plugin/builtin (information): ", end="")
    print(", ".join(f"{model} {ratio:.3f}" for model, ratio in fastest.items()))
    return failed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    driver.add_driver_options(
        parser, kinds=VARIANTS, ratio="plugin/builtin", threads_help="TensorFlow intra/inter-op threads (default 1)"
    )
    args = driver.parse_driver_args(parser, argv)

    if args.worker:
        return driver.print_result(
            worker(Path(args.dataset), args.model, args.worker, args.epochs, args.threads, Path(args.out))
        )

    models, repeat = driver.plan_rounds(parser, args)
    with driver.bench_workdir(args, "bench_plugin_") as workdir:
        driver.announce("bench_plugin", args, repeat, note=f"; plugin = {PLUGIN}")
        datasets = driver.prepare_datasets(models, args, workdir)
        results = driver.interleaved_rounds(
            __file__, VARIANTS, datasets, args, workdir, repeat, after_model=check_same_model
        )
        failed = print_table(models, results)
    return 1 if (args.check and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
