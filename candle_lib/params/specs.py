"""Typed hyperparameters, their canonical form, and content-addressed trial ids.

Defaults are CANDLE's NT3 defaults (``nt3_default_model.txt``); a config overrides them, and a
search point overrides the config (precedence: search/command line > config file > defaults).
Values are coerced to their declared type, so ``1`` and ``1.0`` for a float give one trial id.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from typing import Any

from candle_lib.errors import CandleInputError


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str  # "int", "float", "str", "bool", "int_list", "float_list"
    default: Any
    help: str
    choices: tuple | None = None
    bounds: tuple | None = None  # (low, high), inclusive; None = unbounded on that side


PARAM_SPECS: tuple[ParamSpec, ...] = (
    # model family and architecture
    ParamSpec(
        "model",
        "str",
        "nt3",
        "model family: nt3/tc1 1D-CNN classifiers, p1b1 autoencoder, dense DNN",
        ("nt3", "tc1", "p1b1", "dense"),
    ),
    ParamSpec(
        "task",
        "str",
        "classification",
        "what the dense model predicts (nt3/tc1 classify, p1b1 reconstructs)",
        ("classification", "regression"),
    ),
    ParamSpec("conv", "int_list", [128, 20, 1, 128, 10, 1], "Conv1D layers as flat [filters, kernel, stride] triples"),
    ParamSpec("pool", "int_list", [1, 10], "MaxPooling1D size after each conv layer (1 = no pooling)"),
    ParamSpec(
        "dense",
        "int_list",
        [200, 20],
        "units of each hidden dense layer (p1b1: the encoder's; the decoder mirrors them)",
    ),
    ParamSpec("latent_dim", "int", 2, "p1b1: size of the latent code", bounds=(1, None)),
    ParamSpec("vae", "bool", False, "p1b1: variational autoencoder instead of a plain one"),
    ParamSpec("activation", "str", "relu", "activation of hidden layers"),
    ParamSpec("out_activation", "str", "softmax", "activation of the classifier's output layer"),
    ParamSpec("dropout", "float", 0.1, "dropout rate after each dense layer (0 = none)", bounds=(0.0, 0.99)),
    ParamSpec("input_dropout", "float", 0.0, "dense: dropout rate on the inputs (0 = none)", bounds=(0.0, 0.99)),
    ParamSpec("l2", "float", 0.0, "L2 weight decay on dense/conv kernels (0 = none)", bounds=(0.0, None)),
    ParamSpec(
        "loss",
        "str",
        "auto",
        "auto = categorical cross-entropy for classifiers, mse for regressors/autoencoders",
        ("auto", "mse", "mae"),
    ),
    ParamSpec(
        "regression_head",
        "str",
        "mean",
        "dense regression: mean = one output (loss mse/mae); gaussian = mean and log-variance, Gaussian NLL loss; "
        "quantile = one output per entry of quantiles, pinball loss (both need loss: auto)",
        ("mean", "gaussian", "quantile"),
    ),
    ParamSpec(
        "quantiles",
        "float_list",
        [0.05, 0.5, 0.95],
        "regression_head quantile: the quantile levels predicted, strictly increasing",
        bounds=(0.001, 0.999),
    ),
    # optimization
    ParamSpec("optimizer", "str", "sgd", "optimizer", ("sgd", "adam", "rmsprop")),
    ParamSpec("learning_rate", "float", 0.001, "learning rate of the optimizer", bounds=(0.0, None)),
    ParamSpec("batch_size", "int", 20, "mini-batch size", bounds=(1, None)),
    ParamSpec("epochs", "int", 400, "maximum number of epochs", bounds=(1, None)),
    ParamSpec(
        "early_stopping",
        "int",
        0,
        "stop after this many epochs without val_loss improvement (0 = off)",
        bounds=(0, None),
    ),
    ParamSpec(
        "reduce_lr",
        "int",
        0,
        "ReduceLROnPlateau: halve the learning rate after this many flat epochs (0 = off)",
        bounds=(0, None),
    ),
    ParamSpec("class_weight", "str", "none", "imbalanced labels: balanced = weights n/(k*n_c)", ("none", "balanced")),
    ParamSpec(
        "scaling",
        "str",
        "maxabs",
        "feature scaling fitted on training rows",
        ("standard", "minmax", "maxabs", "robust", "percent", "none"),
    ),
    ParamSpec("rng_seed", "int", 7102, "seed of weights, shuffling and dropout"),
    ParamSpec(
        "timeout",
        "float",
        3600.0,
        "wall-clock limit of training in seconds; training stops cleanly and the trial records it",
        bounds=(0.0, None),
    ),
    # execution (do not change results on CPU, but are recorded with the trial)
    ParamSpec(
        "checkpoint_every",
        "int",
        1,
        "save weights, optimizer, epoch and RNG state every N epochs (0 = never)",
        bounds=(0, None),
    ),
    ParamSpec(
        "jit_compile",
        "bool",
        False,
        "XLA-compile the training step (seeded, but not bit-reproducible: XLA needs op determinism off)",
    ),
    ParamSpec("mixed_precision", "bool", False, "float16 compute on GPUs (ignored on CPU)"),
    ParamSpec(
        "strategy",
        "str",
        "default",
        "mirrored = data-parallel over all visible GPUs of the node",
        ("default", "mirrored"),
    ),
)
SPECS_BY_NAME = {spec.name: spec for spec in PARAM_SPECS}


def _coerce(spec: ParamSpec, value, where: str):
    def fail():
        hint = ""
        if spec.type in ("float", "int") and isinstance(value, str):
            hint = "; YAML reads numbers such as 1e-3 as text: write 1.0e-3 or 0.001"
        raise CandleInputError(f"{value!r} is not a valid {spec.type} ({spec.help}){hint}", where=where)

    if spec.type == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            fail()
        value = float(value)
    elif spec.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            fail()
    elif spec.type == "str":
        if not isinstance(value, str):
            fail()
    elif spec.type == "bool":
        if not isinstance(value, bool):
            fail()
    elif spec.type == "int_list":
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            fail()
        value = list(value)
    elif spec.type == "float_list":
        if (
            not isinstance(value, (list, tuple))
            or not value
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
        ):
            fail()
        value = [float(v) for v in value]
        if any(b <= a for a, b in zip(value, value[1:])):
            raise CandleInputError(f"{value!r} is not strictly increasing ({spec.help})", where=where)
        low, high = spec.bounds or (None, None)
        if any((low is not None and v < low) or (high is not None and v > high) for v in value):
            raise CandleInputError(f"{value!r} has values outside [{low}, {high}] ({spec.help})", where=where)
        return value
    if spec.choices and value not in spec.choices:
        raise CandleInputError(f"{value!r} is not one of {list(spec.choices)}", where=where)
    if spec.bounds:
        low, high = spec.bounds
        if (low is not None and value < low) or (high is not None and value > high):
            raise CandleInputError(
                f"{value!r} is outside [{low}, {'inf' if high is None else high}] ({spec.help})", where=where
            )
    return value


def resolve_params(*layers: dict, where: str = "params") -> dict:
    """Merge layers over the defaults (later layers win), checking names and types."""
    resolved = {spec.name: copy.deepcopy(spec.default) for spec in PARAM_SPECS}
    for layer in layers:
        for name, value in (layer or {}).items():
            if name not in SPECS_BY_NAME:
                raise CandleInputError(
                    f"unknown hyperparameter; known: {sorted(SPECS_BY_NAME)}", where=f"{where}.{name}"
                )
            resolved[name] = _coerce(SPECS_BY_NAME[name], value, f"{where}.{name}")
    _check_head(resolved, where)
    return resolved


def _check_head(params: dict, where: str) -> None:
    """A gaussian or quantile head belongs to a dense regressor, and brings its own loss."""
    head = params["regression_head"]
    if head == "mean":
        return
    if (params["model"], params["task"]) != ("dense", "regression"):
        raise CandleInputError(
            f"regression_head {head} needs model: dense and task: regression", where=f"{where}.regression_head"
        )
    if params["loss"] != "auto":
        raise CandleInputError(
            f"regression_head {head} trains with its own loss (Gaussian NLL or pinball); leave loss: auto",
            where=f"{where}.loss",
        )


def canonical_json(obj) -> str:
    """One text for one value: sorted keys, no whitespace, floats in repr form."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
