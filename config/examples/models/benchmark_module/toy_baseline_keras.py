"""A small CANDLE-style benchmark module: ``initialize_parameters()`` reads the defaults of
``toy_default_model.txt`` (command-line ``--name value`` overrides them), ``run(params)``
trains a dense Keras classifier or regressor and returns its History, as CANDLE's Pilot1
benchmarks do.

Its data: the rows the trial prepared, when run as a trial (``$CANDLE_INPUT_DIR``: x_train,
y_train, x_eval, y_eval and task.json, see docs/plugins.md), else a synthetic two-class problem
drawn from ``rng_seed``. Use it with::

    model:
      model: candle_benchmark
      benchmark: config/examples/models/benchmark_module/toy_baseline_keras.py

Its hyperparameters are the keys of toy_default_model.txt (dense, dropout, learning_rate, ...).
"""

import argparse
import ast
import configparser
import json
import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULTS = HERE / "toy_default_model.txt"


def initialize_parameters() -> dict:
    """The defaults of toy_default_model.txt, overridden by ``--name value`` on the command line."""
    parser = configparser.ConfigParser()
    parser.read(DEFAULTS)
    params = {key: ast.literal_eval(value) for section in parser.sections() for key, value in parser[section].items()}
    cli = argparse.ArgumentParser()
    for key, value in params.items():
        cli.add_argument(f"--{key}", type=type(value) if not isinstance(value, list) else ast.literal_eval)
    given, _ = cli.parse_known_args()
    params.update({key: value for key, value in vars(given).items() if value is not None})
    return params


def load_data(params: dict):
    """(x_train, y_train, x_val, y_val, classify)."""
    source = os.environ.get("CANDLE_INPUT_DIR")
    if source:
        folder = Path(source)
        task = json.loads((folder / "task.json").read_text())
        arrays = [np.load(folder / f"{name}.npy") for name in ("x_train", "y_train", "x_eval", "y_eval")]
        return (*arrays, task["task"] == "classification")
    rng = np.random.default_rng(params["rng_seed"])
    x = rng.normal(size=(120, 10)).astype(np.float32)
    labels = (x[:, 0] + x[:, 1] > 0).astype(int)
    y = np.eye(2, dtype=np.float32)[labels]
    return x[:90], y[:90], x[90:], y[90:], True


def run(params: dict):
    import keras

    keras.utils.set_random_seed(params["rng_seed"])
    x_train, y_train, x_val, y_val, classify = load_data(params)
    layers = [keras.Input((x_train.shape[1],))]
    for units in params["dense"]:
        layers.append(keras.layers.Dense(units, activation=params["activation"]))
        if params["dropout"]:
            layers.append(keras.layers.Dropout(params["dropout"]))
    layers.append(keras.layers.Dense(y_train.shape[1], activation="softmax" if classify else "linear"))
    model = keras.Sequential(layers)
    optimizer = keras.optimizers.get(
        {"class_name": params["optimizer"], "config": {"learning_rate": params["learning_rate"]}}
    )
    model.compile(optimizer=optimizer, loss="categorical_crossentropy" if classify else "mse")
    return model.fit(
        x_train,
        y_train,
        batch_size=params["batch_size"],
        epochs=params["epochs"],
        validation_data=(x_val, y_val),
        verbose=0,
    )


def main():
    history = run(initialize_parameters())
    print("val_loss:", history.history["val_loss"][-1])


if __name__ == "__main__":
    main()
