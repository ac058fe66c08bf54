"""What a model run out of process is given (``command_input/``) and what it gives back
(``command_output/``); the contract is in :mod:`candle_lib.trial.command`.

Nothing here imports TensorFlow: the role's rows, the scaling and the targets come from the
trial's feed (:mod:`candle_lib.trial.feed_kinds`), whose expression and drug-response scaling
are NumPy and scikit-learn.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from candle_lib.atomic import write_json
from candle_lib.trial.feed_kinds import DrugResponseFeed
from candle_lib.trial.tasks import ClassificationTask

INPUT_DIR = "command_input"
OUTPUT_DIR = "command_output"
CHECKPOINT_DIR = "command_checkpoint"
BENCHMARK_OVERRIDES = "benchmark_params.json"  # in INPUT_DIR: what the benchmark runner sets in params

# what the command writes into OUTPUT_DIR
METRICS_FILE = "metrics.json"
IMPROVE_SCORES_FILE = "val_scores.json"  # an IMPROVE script's scores of the rows it validates on
PREDICTIONS_FILE = "predictions.npy"
HISTORY_FILE = "history.csv"

JOIN_BLOCK_BYTES = 16 * 2**20  # drug responses are joined to their features this many bytes at a time


def objective_name(form: str, task, prefix: str) -> str:
    """The metric a trial of this form is judged by: what a Keras trial reports (``<prefix>_loss``
    for a classifier, ``<prefix>_mse`` for a regressor, prefix val or test), except a CANDLE
    benchmark's, which is the ``val_loss`` of its own History."""
    if form == "candle_benchmark":
        return "val_loss"
    return f"{prefix}_loss" if isinstance(task, ClassificationTask) else f"{prefix}_mse"


@dataclass(frozen=True)
class CommandInputs:
    folder: Path
    n_train: int
    n_eval: int
    n_predict: int


def _task_description(feed, task, params: dict, objective: str) -> dict:
    predicted = {feed.prefix: int(len(feed.eval_rows)), **{s: int(len(r)) for s, r in feed.extra.items()}}
    return {
        "task": "classification" if isinstance(task, ClassificationTask) else "regression",
        "classes": list(feed.classes) if isinstance(task, ClassificationTask) else [],
        "encoding": feed.encoding if isinstance(task, ClassificationTask) else None,
        "n_features": int(feed.n_features),
        "n_outputs": int(task.n_outputs),
        "output_activation": task.output_activation or "softmax",
        "objective": {"metric": objective, "direction": "minimize"},
        "eval_prefix": feed.prefix,
        "predicted_splits": predicted,
        "n_train": int(len(feed.train_rows)),
        "n_eval": int(len(feed.eval_rows)),
        "n_predict": int(len(feed.predicted_rows)),
        "rng_seed": params["rng_seed"],
    }


def _rows_table(feed) -> pd.DataFrame:
    parts = []
    for name, rows in (("train", feed.train_rows), ("predict", feed.predicted_rows)):
        part = feed.samples.iloc[rows]
        parts.append(
            pd.DataFrame(
                {
                    "set": name,
                    "position": np.arange(len(rows)),
                    "row": np.asarray(rows, dtype=np.int64),
                    "sample_id": part["sample_id"].astype(str).to_numpy(),
                    "split": part["split"].astype(str).to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _save_joined(path: Path, feed: DrugResponseFeed, scaled: dict, rows: np.ndarray) -> None:
    """Joined drug-response inputs written block by block, so the whole matrix is never held."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(len(rows), feed.n_features))
    block = max(1, JOIN_BLOCK_BYTES // (4 * feed.n_features))
    for start in range(0, len(rows), block):
        out[start : start + block] = feed.joined_rows(scaled, rows[start : start + block])
    out.flush()
    del out


def write_inputs(feed, task, params: dict, trial_dir: Path, objective: str) -> CommandInputs:
    """Fill ``trial_dir/command_input`` (emptied first) with the resolved hyperparameters, the
    task, and the role's rows scaled by a scaler fitted on the training rows only (saved as
    ``trial_dir/scaler.json``, as a Keras trial saves it)."""
    folder = trial_dir / INPUT_DIR
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    write_json(folder / "params.json", params)
    write_json(folder / "task.json", _task_description(feed, task, params, objective))
    _rows_table(feed).to_csv(folder / "rows.csv", index=False)
    eval_samples = feed.samples.iloc[feed.eval_rows]
    if isinstance(feed, DrugResponseFeed):
        scaled = feed.scaled_blocks(trial_dir)
        y_train = feed.training_targets(task, None)
        for name, rows in (("train", feed.train_rows), ("eval", feed.eval_rows), ("predict", feed.predicted_rows)):
            _save_joined(folder / f"x_{name}.npy", feed, scaled, np.asarray(rows))
        del scaled
    else:
        feed.scale(task, trial_dir)  # NumPy/scikit-learn for expression rows; the feature noise of the role
        y_train = feed.y_train
        np.save(folder / "x_train.npy", feed.x_train)
        np.save(folder / "x_eval.npy", feed.x_eval)
        np.save(folder / "x_predict.npy", feed.x_pred)
    np.save(folder / "y_train.npy", np.asarray(y_train, dtype=np.float32))
    np.save(folder / "y_eval.npy", np.asarray(task.targets(eval_samples, None), dtype=np.float32))
    return CommandInputs(folder, len(feed.train_rows), len(feed.eval_rows), len(feed.predicted_rows))


@dataclass
class CommandOutputs:
    """What the command left in ``command_output``; ``problem`` says why it is not a result."""

    metrics: dict = field(default_factory=dict)
    predictions: np.ndarray | None = None
    history: pd.DataFrame | None = None
    problem: str | None = None
    notes: list = field(default_factory=list)


def _number(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(type(value).__name__)
    return float(value)


def _read_metrics(path: Path, rename) -> tuple[dict | None, str | None, list]:
    if not path.is_file():
        return None, f"the command wrote no {OUTPUT_DIR}/{path.name}", []
    try:
        loaded = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"{OUTPUT_DIR}/{path.name} is not JSON ({exc})", []
    if not isinstance(loaded, dict):
        return None, f"{OUTPUT_DIR}/{path.name} is not a JSON object of metric name -> number", []
    metrics, notes = {}, []
    for name, value in loaded.items():
        try:
            metrics[rename(str(name))] = _number(value)
        except TypeError as exc:
            notes.append(f"{OUTPUT_DIR}/{path.name}: {name} is a {exc}, not a number: left out")
    return metrics, None, notes


def improve_name(name: str, prefix: str) -> str:
    """An IMPROVE score's name as a metric of this project: ``val_loss`` -> ``<prefix>_loss``,
    ``mse`` -> ``<prefix>_mse`` (the scores are of the rows the trial evaluates on)."""
    return f"{prefix}_{name.removeprefix('val_')}"


def _read_predictions(path: Path, n_rows: int, n_outputs: int):
    if not path.is_file():
        return None, None
    try:
        values = np.load(path, allow_pickle=False)
    except ValueError as exc:
        return None, f"{OUTPUT_DIR}/{PREDICTIONS_FILE} is not a NumPy array file ({exc})"
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1 and n_outputs == 1:
        values = values[:, None]
    if values.shape != (n_rows, n_outputs):
        return None, (
            f"{OUTPUT_DIR}/{PREDICTIONS_FILE} has shape {values.shape}, expected ({n_rows}, {n_outputs}): "
            "one row per row of x_predict.npy, one column per output (task.json n_outputs)"
        )
    if not np.all(np.isfinite(values)):
        return None, "predictions are not finite"
    return values, None


def _read_history(path: Path):
    if not path.is_file():
        return None, None
    try:
        history = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        return None, f"{OUTPUT_DIR}/{HISTORY_FILE} is not a CSV table ({exc})"
    if "epoch" not in history.columns:
        history.insert(0, "epoch", np.arange(1, len(history) + 1))
    return history, None


def read_outputs(trial_dir: Path, form: str, prefix: str, inputs: CommandInputs, n_outputs: int) -> CommandOutputs:
    """The metrics, predictions and history the command wrote (see the contract)."""
    folder = trial_dir / OUTPUT_DIR
    if form == "improve":
        metrics, problem, notes = _read_metrics(folder / IMPROVE_SCORES_FILE, lambda n: improve_name(n, prefix))
    else:
        metrics, problem, notes = _read_metrics(folder / METRICS_FILE, lambda n: n)
    predictions, bad_predictions = _read_predictions(folder / PREDICTIONS_FILE, inputs.n_predict, n_outputs)
    history, bad_history = _read_history(folder / HISTORY_FILE)
    return CommandOutputs(metrics or {}, predictions, history, problem or bad_predictions or bad_history, notes)


def finite(value) -> bool:
    return value is not None and math.isfinite(value)
