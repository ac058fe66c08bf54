"""Run one unmodified CANDLE benchmark module as CANDLE Supervisor's model runner does, and write
what it returns in the trial contract's form.

Usage (the trial runs it, by path, under the ``interpreter`` the user names)::

    python candle_benchmark_runner.py BENCHMARK.py OVERRIDES.json OUTPUT_DIR

It imports only the standard library and the benchmark (never candle_lib: the benchmark's
interpreter need not have it). In the current directory (the trial's), with the benchmark's
directory first on ``sys.path`` and ``sys.argv`` holding only the module's path (its
``initialize_parameters()`` parses the command line), it:

1. imports the module from its file;
2. calls ``initialize_parameters()`` and sets in the returned dict every entry of OVERRIDES.json
   (the trial's values of the keys of the benchmark's ``*_default_model.txt``, and output_dir and
   save_path);
3. calls ``run(params)``; it returns a Keras History (or its ``history`` dict): metric -> one
   value per epoch;
4. writes into OUTPUT_DIR ``history.json`` (that dict as it is), ``history.csv`` (one row per
   epoch: epoch, then each metric) and ``metrics.json``: the last epoch's value of each metric,
   ``val_*`` under its own name and the others as ``train_<name>`` (``loss`` -> ``train_loss``).

A benchmark that returns no History, or one without ``val_loss``, exits with status 2 and says
so on stderr. An exception in the benchmark propagates (exit status 1, its traceback on stderr).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import sys

OBJECTIVE = "val_loss"


def _number(value):
    """A metric value as a float (NumPy scalars and 0-d arrays included); NaN stays NaN."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def load_module(path: str):
    """The benchmark module, imported from its file with its directory first on sys.path."""
    directory = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, directory)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def history_dict(returned) -> dict | None:
    """{metric: [value per epoch]} of what run() returned (a History or its dict), else None."""
    history = getattr(returned, "history", returned)
    if not isinstance(history, dict):
        return None
    return {str(key): [_number(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
            for key, values in history.items()}  # fmt: skip


def final_metrics(history: dict) -> dict:
    metrics = {}
    for key, values in history.items():
        if values:
            metrics[key if key.startswith("val_") else f"train_{key}"] = values[-1]
    return metrics


def write_outputs(history: dict, output_dir: str) -> None:
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "history.json"), "w") as handle:
        json.dump(history, handle, indent=1)
    keys = list(history)
    n_epochs = max((len(v) for v in history.values()), default=0)
    with open(os.path.join(output_dir, "history.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", *keys])
        for epoch in range(n_epochs):
            row = [history[k][epoch] if epoch < len(history[k]) else None for k in keys]
            writer.writerow([epoch + 1, *["" if v is None else repr(v) for v in row]])
    metrics = final_metrics(history)
    with open(os.path.join(output_dir, "metrics.json"), "w") as handle:
        json.dump(metrics, handle, indent=1)  # NaN is written as NaN: the trial reads it as a failed objective


def main(argv: list) -> int:
    if len(argv) != 4:
        print("usage: candle_benchmark_runner.py BENCHMARK.py OVERRIDES.json OUTPUT_DIR", file=sys.stderr)
        return 2
    benchmark, overrides_path, output_dir = argv[1:]
    with open(overrides_path) as handle:
        overrides = json.load(handle)
    sys.argv = [benchmark]
    module = load_module(benchmark)
    params = module.initialize_parameters()
    for key, value in overrides.items():
        print(f"candle_benchmark_runner: {key} = {value!r}", flush=True)
        params[key] = value
    history = history_dict(module.run(params))
    if history is None:
        print(f"{benchmark}: run(params) returned no Keras History (or dict of metric -> values)", file=sys.stderr)
        return 2
    write_outputs(history, output_dir)
    if OBJECTIVE not in history or not history[OBJECTIVE]:
        print(f"{benchmark}: the History has no {OBJECTIVE} (it has {sorted(history)})", file=sys.stderr)
        return 2
    print(f"candle_benchmark_runner: {OBJECTIVE} = {history[OBJECTIVE][-1]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
