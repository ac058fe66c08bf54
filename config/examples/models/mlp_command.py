"""A training command of your own, outside Keras: scikit-learn's multi-layer perceptron, trained
one epoch at a time on the rows the trial gives it (the contract: docs/plugins.md).

Use it with::

    model:
      model: command
      command: python config/examples/models/mlp_command.py
      hidden_units: 32
    hyperparameters:
      hidden_units: {type: int, default: 16, range: [0, 1024], help: units of the hidden layer}

It reads ``$CANDLE_INPUT_DIR`` (params.json, task.json, x_train/y_train, x_eval/y_eval,
x_predict), trains ``epochs`` epochs of mini-batches (``batch_size``, ``learning_rate``,
``rng_seed``), and writes into ``$CANDLE_OUTPUT_DIR`` ``history.csv`` (one row per epoch),
``predictions.npy`` (one row per x_predict row) and ``metrics.json`` (the objective task.json
names). After each epoch it saves its state in ``$CANDLE_CHECKPOINT_DIR``; a re-run of a
stopped trial goes on from there. ``hidden_units: 0`` is refused by scikit-learn: the trial is
then recorded as failed, with the error in its failure reason.
"""

import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np
from sklearn.neural_network import MLPClassifier, MLPRegressor

INPUT = Path(os.environ.get("CANDLE_INPUT_DIR", "command_input"))
OUTPUT = Path(os.environ.get("CANDLE_OUTPUT_DIR", "command_output"))
CHECKPOINT = Path(os.environ.get("CANDLE_CHECKPOINT_DIR", "command_checkpoint")) / "mlp.pickle"


def new_model(params: dict, classify: bool, n_train: int):
    options = {
        "hidden_layer_sizes": (params.get("hidden_units", 16),),
        "learning_rate_init": params["learning_rate"],
        "batch_size": min(params["batch_size"], n_train),
        "random_state": params["rng_seed"],
    }
    return MLPClassifier(**options) if classify else MLPRegressor(**options)


def class_probabilities(model, x, n_classes: int) -> np.ndarray:
    """predict_proba's columns are the classes seen in training: put them in task.json's order."""
    out = np.zeros((len(x), n_classes))
    out[:, model.classes_] = model.predict_proba(x)
    return out


def evaluate(model, task: dict, x, y) -> dict:
    prefix = task["eval_prefix"]
    if task["task"] == "classification":
        p = np.clip(class_probabilities(model, x, task["n_outputs"]), 1e-7, 1 - 1e-7)
        p /= p.sum(axis=1, keepdims=True)
        codes = y.argmax(axis=1)
        return {
            f"{prefix}_loss": float(-np.mean(np.log(p[np.arange(len(codes)), codes]))),
            f"{prefix}_accuracy": float(np.mean(p.argmax(axis=1) == codes)),
        }
    return {f"{prefix}_mse": float(np.mean((model.predict(x) - y[:, 0]) ** 2))}


def main() -> int:
    params = json.loads((INPUT / "params.json").read_text())
    task = json.loads((INPUT / "task.json").read_text())
    x_train, y_train = np.load(INPUT / "x_train.npy"), np.load(INPUT / "y_train.npy")
    x_eval, y_eval = np.load(INPUT / "x_eval.npy"), np.load(INPUT / "y_eval.npy")
    classify = task["task"] == "classification"
    targets = y_train.argmax(axis=1) if classify else y_train[:, 0]

    if CHECKPOINT.exists():
        state = pickle.loads(CHECKPOINT.read_bytes())
        print(f"resuming after epoch {state['epoch']}", flush=True)
    else:
        state = {"epoch": 0, "model": new_model(params, classify, len(x_train)), "history": []}
    model = state["model"]
    for epoch in range(state["epoch"] + 1, params["epochs"] + 1):
        if classify:
            model.partial_fit(x_train, targets, classes=np.arange(task["n_outputs"]))
        else:
            model.partial_fit(x_train, targets)
        row = {"epoch": epoch, "loss": float(model.loss_), **evaluate(model, task, x_eval, y_eval)}
        state["history"].append(row)
        print(json.dumps(row), flush=True)
        state["epoch"] = epoch
        CHECKPOINT.parent.mkdir(parents=True, exist_ok=True)
        partial = CHECKPOINT.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(state))
        partial.replace(CHECKPOINT)

    x_predict = np.load(INPUT / "x_predict.npy")
    predictions = class_probabilities(model, x_predict, task["n_outputs"]) if classify else model.predict(x_predict)
    np.save(OUTPUT / "predictions.npy", predictions)
    history = state["history"]
    columns = list(history[0]) if history else ["epoch"]
    lines = [",".join(columns)] + [",".join(repr(row[c]) for c in columns) for row in history]
    (OUTPUT / "history.csv").write_text("\n".join(lines) + "\n")
    (OUTPUT / "metrics.json").write_text(json.dumps(evaluate(model, task, x_eval, y_eval)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
