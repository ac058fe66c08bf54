"""Typed hyperparameters, their canonical form, and content-addressed trial ids.

Defaults are CANDLE's NT3 defaults (``nt3_default_model.txt``); a config overrides them, and a
search point overrides the config (precedence: search/command line > config file > defaults).
Values are coerced to their declared type, so ``1`` and ``1.0`` for a float give one trial id.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from candle_lib.errors import CandleInputError

BUILTIN = "built-in"
TYPES = ("int", "float", "str", "bool", "int_list", "float_list", "str_list", "literal")

BUILTIN_MODELS = ("nt3", "tc1", "p1b1", "dense")
# models run out of process (candle_lib.trial.command): a training command in any framework, an
# IMPROVE-style model script, an unmodified CANDLE benchmark module
COMMAND_MODELS = ("command", "improve", "candle_benchmark")
# a Keras builder: "package.module:function" (found on the workflow's directory) or "path/file.py:function"
MODEL_REFERENCE = re.compile(
    r"(?P<target>(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)|(?:[^:]+\.py)):(?P<function>[A-Za-z_]\w*)\Z"
)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str  # one of TYPES; "literal" = any value YAML/JSON can hold, taken as it is
    default: Any
    help: str
    choices: tuple | None = None
    bounds: tuple | None = None  # (low, high), inclusive; None = unbounded on that side
    optional: bool = False  # in the resolved params only when set to another value than the default
    source: str = BUILTIN  # who declared it: built-in, or the config / file of a user's model


PARAM_SPECS: tuple[ParamSpec, ...] = (
    # model family and architecture
    ParamSpec(
        "model",
        "str",
        "nt3",
        "the model: a built-in family (nt3/tc1 1D-CNN classifiers, p1b1 autoencoder, dense DNN); a Keras "
        "builder of your own (module:function or file.py:function); or command, improve, candle_benchmark "
        "(a training command, an IMPROVE-style script, a CANDLE benchmark module: see command, benchmark)",
    ),
    ParamSpec(
        "task",
        "str",
        "classification",
        "what the dense model or a model of your own predicts (nt3/tc1 classify, p1b1 reconstructs)",
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
    ParamSpec(
        "mixed_precision",
        "literal",
        False,
        "mixed precision compute: auto = bfloat16 on A100/H100/MI250X-class GPUs, float16 on V100/T4, none on CPU; "
        "float16 or bfloat16 as asked; true = float16 on a GPU (none on CPU); false or off = none",
        choices=(False, True, "auto", "float16", "bfloat16", "off"),
    ),
    ParamSpec(
        "strategy",
        "str",
        "default",
        "mirrored = data-parallel over all visible GPUs of the node; multi_worker = data-parallel over "
        "resources.workers_per_trial worker processes, on one node or many (docs/clusters.md)",
        ("default", "mirrored", "multi_worker"),
    ),
    # models run out of process (absent from a trial's params unless set)
    ParamSpec(
        "command",
        "str",
        "",
        "model command / improve: the command line that trains one trial (e.g. python train.py), run in the "
        "trial directory under the contract of docs/plugins.md",
        optional=True,
    ),
    ParamSpec(
        "benchmark",
        "str",
        "",
        "model candle_benchmark: the CANDLE benchmark module (a .py file with initialize_parameters and run)",
        optional=True,
    ),
    ParamSpec(
        "benchmark_params",
        "str",
        "",
        "model candle_benchmark: its *_default_model.txt (default: the one file of that name beside the module)",
        optional=True,
    ),
    ParamSpec(
        "interpreter",
        "str",
        "",
        "command / improve / candle_benchmark: the Python that runs python in the command and the benchmark "
        "(empty = the workflow's own)",
        optional=True,
    ),
    ParamSpec(
        "environment",
        "str_list",
        [],
        "command / improve / candle_benchmark: extra environment variables, as NAME=value (e.g. TF_USE_LEGACY_KERAS=1)",
        optional=True,
    ),
)
SPECS_BY_NAME = {spec.name: spec for spec in PARAM_SPECS}


def model_form(name: str) -> str:
    """builtin, keras (a builder of the user's), or one of COMMAND_MODELS."""
    if name in BUILTIN_MODELS:
        return "builtin"
    if name in COMMAND_MODELS:
        return name
    return "keras"


def task_kind(params: dict) -> str:
    """autoencoder (p1b1), regression (dense or a model of the user's with task: regression) or
    classification (nt3/tc1 always; the others with task: classification)."""
    if params["model"] == "p1b1":
        return "autoencoder"
    if params["model"] not in ("nt3", "tc1") and params["task"] == "regression":
        return "regression"
    return "classification"


def coerce_value(spec: ParamSpec, value, where: str):
    """``value`` as ``spec`` declares it (type, choices, range), or a CandleInputError at ``where``."""
    if spec.name == "mixed_precision" and spec.source == BUILTIN:
        return _mixed_precision(spec, value, where)

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
        if spec.name == "model" and spec.source == BUILTIN:
            _check_model_name(value, where)
    elif spec.type == "str_list":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            fail()
        value = list(value)
    elif spec.type == "literal":
        try:
            canonical_json(value)
        except (TypeError, ValueError):
            fail()
        return copy.deepcopy(value)
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


def _mixed_precision(spec: ParamSpec, value, where: str):
    """true/false as before (false keeps the ids of existing trials); off is false; auto,
    float16, bfloat16 as they are."""
    if value == "off":
        return False
    if not any(value == choice and isinstance(value, bool) == isinstance(choice, bool) for choice in spec.choices):
        raise CandleInputError(f"{value!r} is not one of {[*spec.choices]} ({spec.help})", where=where)
    return value


def _check_model_name(value: str, where: str) -> None:
    if value in BUILTIN_MODELS or value in COMMAND_MODELS or MODEL_REFERENCE.match(value):
        return
    raise CandleInputError(
        f"{value!r} is not a model: use a built-in family ({', '.join(BUILTIN_MODELS)}), a Keras builder of your "
        f"own as module:function or path/file.py:function, or one of {', '.join(COMMAND_MODELS)}",
        where=where,
    )


class ParamSpecs:
    """A set of hyperparameters: the built-in ones (:data:`PARAM_SPECS`) and those a model of the
    user's declares (:mod:`candle_lib.params.declared`)."""

    def __init__(self, specs: Iterable[ParamSpec]):
        self.specs = tuple(specs)
        self.by_name = {spec.name: spec for spec in self.specs}

    def __contains__(self, name) -> bool:
        return name in self.by_name

    def __eq__(self, other) -> bool:
        return isinstance(other, ParamSpecs) and self.specs == other.specs

    def __hash__(self) -> int:
        return hash(tuple(spec.name for spec in self.specs))

    @property
    def declared(self) -> tuple[ParamSpec, ...]:
        """The hyperparameters a model of the user's adds."""
        return tuple(spec for spec in self.specs if spec.source != BUILTIN)

    def with_declared(self, extra: Iterable[ParamSpec]) -> ParamSpecs:
        """These specs and ``extra``; an extra spec replaces a built-in one of its name (a
        CANDLE benchmark's own ``epochs``) or an earlier declared one."""
        extra = tuple(extra)
        names = {spec.name for spec in extra}
        return ParamSpecs(tuple(spec for spec in self.specs if spec.name not in names) + extra)

    def unknown(self, where: str, what: str = "hyperparameter") -> CandleInputError:
        declared = [spec.name for spec in self.declared]
        mine = f"; declared for your model: {declared}" if declared else ""
        close = difflib.get_close_matches(where.rsplit(".", 1)[-1], self.by_name, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return CandleInputError(
            f"unknown {what}; {hint}known: {sorted(n for n in self.by_name if n not in declared)}{mine}. "
            "A model of your own declares its hyperparameters in the config's hyperparameters section "
            "(or HYPERPARAMETERS in its module)",
            where=where,
        )

    def resolve(self, *layers: dict, where: str = "params") -> dict:
        """Merge layers over the defaults (later layers win), checking names and types."""
        resolved = {spec.name: copy.deepcopy(spec.default) for spec in self.specs if not spec.optional}
        for layer in layers:
            for name, value in (layer or {}).items():
                spec = self.by_name.get(name)
                if spec is None:
                    raise self.unknown(f"{where}.{name}")
                resolved[name] = coerce_value(spec, value, f"{where}.{name}")
        for spec in self.specs:
            if spec.optional and resolved.get(spec.name, spec.default) == spec.default:
                resolved.pop(spec.name, None)
        _check_head(resolved, where)
        _check_form(resolved, where)
        return resolved


BUILTIN_SPECS = ParamSpecs(PARAM_SPECS)


def resolve_params(*layers: dict, where: str = "params", specs: ParamSpecs | None = None) -> dict:
    """Merge layers over the defaults (later layers win), checking names and types against
    ``specs`` (the built-in hyperparameters unless given)."""
    return (specs or BUILTIN_SPECS).resolve(*layers, where=where)


def _check_form(params: dict, where: str) -> None:
    """command/improve need a command, candle_benchmark a benchmark; neither key goes with another model."""
    form = model_form(params["model"])
    needs = {"command": "command", "improve": "command", "candle_benchmark": "benchmark"}.get(form)
    if needs and not params.get(needs):
        raise CandleInputError(f"model {params['model']} needs {needs}: set {where}.{needs}", where=f"{where}.{needs}")
    for key, models in (("command", ("command", "improve")), ("benchmark", ("candle_benchmark",))):
        if params.get(key) and form not in models:
            raise CandleInputError(
                f"{key} is set, but model is {params['model']}: set model: {' or '.join(models)} to run it",
                where=f"{where}.model",
            )


def _check_head(params: dict, where: str) -> None:
    """A gaussian or quantile head belongs to a dense regressor, and brings its own loss."""
    head = params.get("regression_head", "mean")
    if head == "mean":
        return
    if (params["model"], params["task"]) != ("dense", "regression"):
        raise CandleInputError(
            f"regression_head {head} needs model: dense and task: regression", where=f"{where}.regression_head"
        )
    if params.get("loss") != "auto":
        raise CandleInputError(
            f"regression_head {head} trains with its own loss (Gaussian NLL or pinball); leave loss: auto",
            where=f"{where}.loss",
        )


def canonical_json(obj) -> str:
    """One text for one value: sorted keys, no whitespace, floats in repr form."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
