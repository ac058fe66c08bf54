"""Import CANDLE ``*_default_model.txt`` files (INI) as a layer of this project's hyperparameters.

A CANDLE Benchmarks model file is an INI file, usually with one ``[Global_Params]`` section and
sometimes others (``[Monitor_Params]``); every section is read, keys lower-cased as CANDLE's own
reader does. Each value is parsed with :func:`parse_literal`: a Python literal by
:func:`ast.literal_eval` (never ``eval``), or, for a bare word such as ``activation=relu``, that
word as a string.

Every key of CANDLE's Pilot1 parameter files (NT3, TC1, P1B1, P1B2, P1B3, Uno, UnoMT, Combo, ST1,
T29, Attn) falls into exactly one of these cases, so that nothing is dropped silently:

- a hyperparameter the model declares (a model of the user's: its ``specs`` entry, not built-in),
  checked by its declaration and passed on as it is;
- a built-in hyperparameter (:data:`candle_lib.params.specs.PARAM_SPECS`), under its own name
  or a CANDLE name with a translated value (:data:`TRANSLATED`: ``drop``, ``out_act``, ``loss``,
  ``scaling: 'std'``, ``optimizer: 'SGD'``, ``early_stop``/``reduce_lr`` booleans, ...); a value of
  ``None`` leaves it unset, so this project's default applies;
- :data:`IGNORED_KEYS`: CANDLE infrastructure (data locations, splits, outputs, checkpoints,
  logging, ids) that this project's data config, trial directories and workflow replace: no effect
  on the training here;
- :data:`UNIMPLEMENTED_KEYS`: CANDLE features this project does not implement (noise injection,
  batch normalization, momentum, ...): no effect at their "off" value, otherwise the training
  differs from CANDLE's;
- :data:`BENCHMARK_KEYS`: settings of CANDLE's own benchmark models (Uno's feature encoders,
  UnoMT's sub-networks, ST1's transformer, Attn's abstention): a built-in model does not have
  them, so the training differs; declare them for a model of the user's to pass them on.

Ignored keys are returned with the result (:class:`ImportedParams`) and reported in one line by
:func:`ignored_warning`. Any other key raises :class:`~candle_lib.errors.CandleInputError` naming
the key, the section and the file (typos stay caught).
"""

from __future__ import annotations

import ast
import configparser
import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import BUILTIN, BUILTIN_SPECS, ParamSpecs, coerce_value

MODEL_FAMILIES = ("nt3", "tc1", "p1b1")
BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.+-]*\Z")
_NO_DEFAULT_SECTION = "\0"  # [DEFAULT] is read as an ordinary section, not merged into the others

# what ignoring a key means for the training (IgnoredKey.effect)
NO_EFFECT = "no effect"  # infrastructure this project replaces, or a CANDLE feature at its "off" value
UNSET = "unset"  # None: this project's default applies
DIFFERS = "differs"  # a CANDLE feature not implemented here, not "off": the training is not CANDLE's
OTHER_MODEL = "other model"  # a setting of CANDLE's own benchmark model: the built-in models lack it


class IgnoredKey(NamedTuple):
    """A recognised key that is not passed on as a hyperparameter, and what that means."""

    section: str
    key: str
    value: Any
    reason: str
    effect: str = NO_EFFECT

    def __str__(self) -> str:
        where = f"[{self.section}] " if self.section else ""
        return f"{where}{self.key} = {self.value!r} is ignored: {self.reason}"


class Ignored(NamedTuple):
    """What a translation returns for a value it cannot pass on."""

    reason: str
    effect: str = NO_EFFECT


@dataclass(frozen=True)
class ImportedParams:
    """One parameter layer for :func:`candle_lib.params.specs.resolve_params`, with what was ignored."""

    params: dict
    ignored: tuple[IgnoredKey, ...]
    source: str


# --------------------------------------------------------------------------- value translation

LOSSES = {
    "categorical_crossentropy": "auto",
    "sparse_categorical_crossentropy": "auto",  # the same loss on integer labels; trials one-hot encode them
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
}
SCALINGS = {"std": "standard", None: "none"}  # CANDLE's scale_array: None = no scaling


def _loss(value) -> dict:
    return {"loss": LOSSES.get(value, value) if isinstance(value, str) else value}


def _scaling(value) -> dict:
    return {"scaling": SCALINGS.get(value, value) if isinstance(value, (str, type(None))) else value}


def _optimizer(value) -> dict:
    """CANDLE names optimizers in any case (UnoMT: 'SGD'); Keras' defaults apply to both, as here."""
    return {"optimizer": value.lower() if isinstance(value, str) else value}


def _activation(value) -> dict | Ignored:
    """One activation for every hidden layer; Attn's per-layer list only when all entries agree."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        if len(set(value)) == 1:
            return {"activation": value[0]}
        return Ignored("per-layer activations are not implemented: every hidden layer uses `activation`", DIFFERS)
    return {"activation": value}


def _model(value) -> dict:
    """CANDLE P1B1's ``model`` is ae/vae; this project's own names pass through."""
    autoencoders = {"ae": {"model": "p1b1", "vae": False}, "vae": {"model": "p1b1", "vae": True}}
    return autoencoders.get(value, {"model": value}) if isinstance(value, str) else {"model": value}


def _model_name(value) -> dict | Ignored:
    """A family name selects the model; any other name only labels CANDLE's outputs."""
    if value in MODEL_FAMILIES:
        return {"model": value}
    return Ignored(f"names CANDLE's output files; only {'/'.join(MODEL_FAMILIES)} select a model family")


def _conv(value) -> dict:
    """Flat [filters, kernel, stride, ...] as is; nested [[filters, kernel, stride], ...] flattened."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(layer, (list, tuple)) for layer in value):
        if any(len(layer) != 3 for layer in value):
            raise ValueError(f"{value!r}: each nested conv layer must be [filters, kernel, stride]")
        return {"conv": [number for layer in value for number in layer]}
    return {"conv": value}


def _patience(name: str, candle_key: str, example: str) -> Callable[[Any], dict | Ignored]:
    """CANDLE's early_stop / reduce_lr are switches whose patience is each benchmark's own: False
    is this project's 0 (off); True is not translated (set ``name`` to a number of epochs)."""

    def translate(value) -> dict | Ignored:
        if value is False:
            return {name: 0}
        if value is True:
            return Ignored(
                f"CANDLE's {candle_key}=True uses each benchmark's own monitor and patience ({example}); "
                f"set {name} to a number of epochs instead",
                DIFFERS,
            )
        if candle_key == name:
            return {name: value}  # this project's own integer
        raise ValueError(f"{value!r}: {candle_key} is True or False")

    return translate


def _renamed(name: str) -> Callable[[Any], dict]:
    return lambda value: {name: value}


# CANDLE key -> function of its value giving this project's hyperparameters, or Ignored.
TRANSLATED: dict[str, Callable[[Any], dict | Ignored]] = {
    "drop": _renamed("dropout"),
    "out_act": _renamed("out_activation"),
    "lr": _renamed("learning_rate"),
    "trn_batch_size": _renamed("batch_size"),  # UnoMT: the training mini-batch size
    "loss": _loss,
    "scaling": _scaling,
    "optimizer": _optimizer,
    "activation": _activation,
    "model": _model,
    "model_name": _model_name,
    "conv": _conv,
    "early_stop": _patience("early_stopping", "early_stop", "Attn: val_tf_auc, 200 epochs"),
    "reduce_lr": _patience("reduce_lr", "reduce_lr", "Attn: val_tf_auc, x0.2 after 40 epochs; Uno: x0.5 after 5"),
}
# keys whose None has a CANDLE meaning, so it is translated rather than left unset
NONE_TRANSLATED = ("scaling",)

_DATA = "the data config chooses the data (source, files, samples, features)"
_SPLITS = "splits and folds come from the data config (data.splits) and the cv workflow"
_OUTPUTS = "each trial writes its own content-addressed directory"
_CHECKPOINTS = "each trial saves a checkpoint every checkpoint_every epochs and resumes from its own"
_LOGS = "each trial writes its own log and history.csv; progress is in candle status"
_NOISE = "used only with add_noise=True"
_KEYS_OF_IGNORED = {
    _DATA: (
        "data_url",
        "url_p1b1",
        "train_data",
        "test_data",
        "val_data",
        "train_path",
        "test_path",
        "file_train",
        "file_test",
        "train_sources",
        "test_sources",
        "val_sources",
        "cell_types",
        "cell_features",
        "drug_features",
        "rnaseq_feature_usage",
        "drug_feature_usage",
        "dscptr_nan_threshold",
        "min_logconc",
        "max_logconc",
        "use_combo_score",
    ),
    _SPLITS: (
        "val_split",
        "validation_split",
        "shuffle",
        "cv",
        "cv_partition",
        "test_cell_split",
        "disjoint_drugs",
        "disjoint_cells",
    ),
    _OUTPUTS: ("output_dir", "save_path", "save_dir", "save", "model_prefix"),
    "trial ids are derived from the hyperparameters": ("experiment_id", "run_id"),
    _CHECKPOINTS: (
        "restart",
        "ckpt_restart_mode",
        "ckpt_save_interval",
        "ckpt_checksum",
        "ckpt_skip_epochs",
        "ckpt_save_best",
        "ckpt_save_best_metric",
        "ckpt_keep_limit",
        "ckpt_keep_mode",
        "ckpt_directory",
        "ckpt_save_weights_only",
        "use_cp",
        "cp",
    ),
    _LOGS: ("verbose", "logfile", "batch_log", "solr_root", "use_tb", "tb", "profiling"),
    _NOISE: (
        "label_noise",
        "noise_correlated",
        "noise_cluster",
        "noise_column",
        "noise_gaussian",
        "noise_type",
        "std_dev",
        "feature_col",
        "feature_threshold",
    ),
    "every metric of the task is computed": ("metrics", "category_cutoffs"),
    "the number of classes and outputs comes from the prepared dataset's labels": (
        "classes",
        "nb_classes",
        "out_layer",
    ),
    "GPUs come from the workflow's GPU slots": ("gpus",),
    "trials always stream batches from the prepared matrix": ("gen", "no_gen"),
    "the evaluation batch size does not change results; the trial chooses it": ("val_batch_size",),
    "used only with cv > 1 (CANDLE's own cross-validation, replaced by the cv workflow)": ("max_val_loss",),
    "not read by CANDLE's T29 code": ("check",),
}
# Recognised CANDLE infrastructure keys with no effect on the training here, any value, and why.
IGNORED_KEYS: dict[str, str] = {key: reason for reason, keys in _KEYS_OF_IGNORED.items() for key in keys}

# CANDLE features not implemented here: their "off" values, and what they do. At another value the
# key is still ignored, but the training differs from CANDLE's (reported as such).
UNIMPLEMENTED_KEYS: dict[str, tuple[tuple, str]] = {
    "add_noise": ((False,), "CANDLE's noise injection into the training data is not implemented here"),
    "noise_injection": ((False,), "CANDLE's noise injection into the training data is not implemented here"),
    "noise_factor": ((0,), "denoising autoencoders (noise on P1B1's inputs) are not implemented here"),
    "cell_noise_sigma": ((0,), "P1B3's Gaussian noise on cell features is not implemented here"),
    "feature_subsample": (
        (0, None),
        "random feature subsampling is not implemented; the data config's filters select features",
    ),
    "subsample": ((None, "none"), "P1B3's balanced subsampling of responses is not implemented here"),
    "batch_normalization": ((False,), "batch normalization is not implemented here"),
    "alpha_dropout": ((False,), "alpha dropout is not implemented here"),
    "residual": ((False,), "skip connections are not implemented in the built-in models"),
    "warmup_lr": ((False,), "learning-rate warm-up is not implemented here"),
    "base_lr": ((None,), "the base learning rate of CANDLE's warm-up is not used; set learning_rate"),
    "momentum": ((0, None), "SGD momentum is not implemented here (SGD runs without momentum)"),
    "epsilon_std": ((1.0,), "the VAE samples its latent noise from N(0, 1)"),
    "initialization": (("glorot_uniform",), "weights use Keras' default glorot_uniform initializer"),
    "reg_l2": ((0,), "P1B2's reg_l2 also penalises activations; l2 is a kernel-only weight decay"),
    "autoencoder_init": ((False,), "UnoMT's autoencoder initialization of its encoders is not implemented here"),
}

_BENCHMARK_MODELS = {
    "Uno/Combo": ("dense_feature_layers",),
    "UnoMT": (
        "grth_scaling",
        "dscptr_scaling",
        "rnaseq_scaling",
        "qed_scaling",
        "gene_layer_dim",
        "gene_num_layers",
        "gene_latent_dim",
        "drug_layer_dim",
        "drug_num_layers",
        "drug_latent_dim",
        "resp_layer_dim",
        "resp_num_layers_per_block",
        "resp_num_blocks",
        "resp_num_layers",
        "resp_activation",
        "cl_clf_layer_dim",
        "cl_clf_num_layers",
        "drug_target_layer_dim",
        "drug_target_num_layers",
        "drug_qed_layer_dim",
        "drug_qed_num_layers",
        "drug_qed_activation",
        "resp_loss_func",
        "resp_opt",
        "resp_lr",
        "cl_clf_opt",
        "cl_clf_lr",
        "drug_target_opt",
        "drug_target_lr",
        "drug_qed_loss_func",
        "drug_qed_opt",
        "drug_qed_lr",
        "resp_val_start_epoch",
        "early_stop_patience",
        "l2_regularization",
        "lr_decay_factor",
        "max_num_batches",
    ),
    "ST1": ("transformer_depth", "embed_dim", "ff_dim", "maxlen", "num_heads", "vocab_size"),
    "Attn": ("min_abs_acc", "max_abs_frac", "target_abs_acc"),
}
# Settings of CANDLE's own benchmark models, which the built-in models do not have: always
# ignored as a difference (a model of the user's that declares them gets them).
BENCHMARK_KEYS: dict[str, str] = {
    key: f"a setting of CANDLE's {model} model, not of the built-in ones: declare it for a model of your own"
    for model, keys in _BENCHMARK_MODELS.items()
    for key in keys
}


def known_candle_keys() -> set[str]:
    """Every CANDLE key this module recognises, whatever it does with it."""
    return set(TRANSLATED) | set(IGNORED_KEYS) | set(UNIMPLEMENTED_KEYS) | set(BENCHMARK_KEYS)


# --------------------------------------------------------------------------- parsing


def parse_literal(text: str) -> Any:
    """A Python literal (``ast.literal_eval``), or a bare word as a string; nothing is executed.

    Raises ValueError for anything else (expressions, calls, unbalanced brackets).
    """
    text = text.strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        if BARE_WORD.match(text):
            return text
    raise ValueError(f"{text!r} is neither a Python literal (number, 'text', [list], True/False/None) nor a bare word")


def _checked(specs: ParamSpecs, name: str, value, *, key: str, where: str | None, source: str):
    try:
        return coerce_value(specs.by_name[name], value, name)
    except CandleInputError as exc:
        shown = key if key == name else f"{key} (as {name})"
        raise CandleInputError(f"{shown}: {exc.message}", source=source, where=where) from None


def _unknown_key_message(key: str, specs: ParamSpecs) -> str:
    declared = sorted(spec.name for spec in specs.declared)
    builtin = sorted(name for name in specs.by_name if name not in declared)
    close = difflib.get_close_matches(key, [*specs.by_name, *known_candle_keys()], n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    mine = f"; declared for your model: {', '.join(declared)}" if declared else ""
    return (
        f"unknown key '{key}': not a hyperparameter of this project, a CANDLE key it knows, or one declared for your "
        f"model; {hint}hyperparameters: {', '.join(builtin)}{mine}; CANDLE names it maps: "
        f"{', '.join(sorted(set(TRANSLATED) - set(specs.by_name)))}. A model of your own declares its keys in the "
        "config's hyperparameters section (or HYPERPARAMETERS in its module)"
    )


def _translated(key: str, value) -> dict | Ignored:
    """A built-in or CANDLE-named key's value as this project's hyperparameters, or Ignored."""
    if value is None and key not in NONE_TRANSLATED:
        return Ignored("None leaves it unset, so this project's default applies", UNSET)
    return TRANSLATED.get(key, _renamed(key))(value)


def _recognised(key: str, value) -> Ignored:
    """A CANDLE key of IGNORED_KEYS, UNIMPLEMENTED_KEYS or BENCHMARK_KEYS, as an Ignored."""
    if key in UNIMPLEMENTED_KEYS:
        neutral, reason = UNIMPLEMENTED_KEYS[key]
        off = any(value == v and isinstance(value, bool) == isinstance(v, bool) for v in neutral)
        return Ignored(reason, NO_EFFECT if off else DIFFERS)
    if key in BENCHMARK_KEYS:
        return Ignored(BENCHMARK_KEYS[key], OTHER_MODEL)
    return Ignored(IGNORED_KEYS[key])


def _translate(section: str, key: str, value, *, source: str, specs: ParamSpecs) -> tuple[dict, IgnoredKey | None]:
    """One entry as this project's hyperparameters (checked), or as an ignored key."""
    where = f"[{section}]" if section else None
    spec = specs.by_name.get(key)
    if spec is not None and spec.source != BUILTIN:  # declared by the user's model: passed on as it is
        if value is None and spec.type != "literal":
            return {}, IgnoredKey(section, key, value, "None leaves it unset, so its declared default applies", UNSET)
        return {key: _checked(specs, key, value, key=key, where=where, source=source)}, None
    if key in TRANSLATED or spec is not None:
        try:
            layer = _translated(key, value)
        except ValueError as exc:
            raise CandleInputError(str(exc), source=source, where=f"{where} {key}" if where else key) from None
    elif key in IGNORED_KEYS or key in UNIMPLEMENTED_KEYS or key in BENCHMARK_KEYS:
        layer = _recognised(key, value)
    else:
        raise CandleInputError(_unknown_key_message(key, specs), source=source, where=where)
    if isinstance(layer, Ignored):
        return {}, IgnoredKey(section, key, value, layer.reason, layer.effect)
    return {name: _checked(specs, name, raw, key=key, where=where, source=source) for name, raw in layer.items()}, None


def translate_entries(
    entries: Iterable[tuple[str, str, Any]], *, source: str, specs: ParamSpecs = BUILTIN_SPECS
) -> ImportedParams:
    """Map (section, key, value) entries onto the hyperparameters of ``specs`` (the built-in ones
    and those the user's model declares), checking each value.

    Two keys that set one hyperparameter to different values (``drop`` and ``dropout``) are an
    error naming both.
    """
    params: dict = {}
    set_by: dict[str, str] = {}
    ignored: list[IgnoredKey] = []
    for section, key, value in entries:
        layer, ignored_key = _translate(section, key, value, source=source, specs=specs)
        if ignored_key:
            ignored.append(ignored_key)
        for name, checked in layer.items():
            if name in params and params[name] != checked:
                raise CandleInputError(
                    f"{set_by[name]} and {key} both set {name}, to {params[name]!r} and {checked!r}",
                    source=source,
                    where=f"[{section}]" if section else None,
                )
            params[name], set_by[name] = checked, key
    return ImportedParams(params, tuple(ignored), source)


# --------------------------------------------------------------------------- the warning line


def _shown(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def ignored_warning(ignored: Iterable[IgnoredKey]) -> str | None:
    """One line naming every ignored key, grouped by what ignoring it means; None when there are none.

    A key given in several layers (the file and ``--set``) is named once, with its last value.
    """
    last: dict[str, IgnoredKey] = {}
    for item in ignored:
        last.pop(item.key, None)
        last[item.key] = item
    if not last:
        return None
    groups = {
        effect: [item for item in last.values() if item.effect == effect]
        for effect in (NO_EFFECT, UNSET, DIFFERS, OTHER_MODEL)
    }
    parts = []
    if groups[NO_EFFECT]:
        parts.append(f"no effect here: {', '.join(item.key for item in groups[NO_EFFECT])}")
    if groups[UNSET]:
        parts.append(f"None, so the default applies: {', '.join(item.key for item in groups[UNSET])}")
    if groups[DIFFERS]:
        shown = ", ".join(f"{item.key}={_shown(item.value)}" for item in groups[DIFFERS])
        parts.append(f"not implemented here, so the training differs from CANDLE's: {shown}")
    if groups[OTHER_MODEL]:
        names = ", ".join(item.key for item in groups[OTHER_MODEL])
        parts.append(f"settings of CANDLE's own models that the built-in ones lack (declare them for yours): {names}")
    count = len(last)
    return f"{count} CANDLE key{'s' if count > 1 else ''} ignored ({'; '.join(parts)})"


# --------------------------------------------------------------------------- files


def read_text_file(path: Path, what: str) -> str:
    """The text of a UTF-8 file; a binary file (a NUL byte, or bytes that are not UTF-8) is a
    CandleInputError naming the file and the offset of the first such byte."""
    data = path.read_bytes()
    problem = None
    if bytes(1) in data:
        problem = f"a NUL byte at offset {data.index(bytes(1))}"
    else:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            problem = f"byte {data[exc.start]:#04x} at offset {exc.start} is not UTF-8 text"
    raise CandleInputError(f"not a text {what} ({problem}): is it a binary file?", source=str(path))


def read_ini_entries(path, *, lenient_keys=()) -> list[tuple[str, str, Any]]:
    """The (section, key, value) entries of a CANDLE INI file, each value parsed by
    :func:`parse_literal`; a key of ``lenient_keys`` whose text is no literal keeps its text."""
    path = Path(path)
    parser = configparser.ConfigParser(interpolation=None, default_section=_NO_DEFAULT_SECTION)
    try:
        parser.read_string(read_text_file(path, "CANDLE parameter file"), source=str(path))
    except OSError as exc:
        raise CandleInputError(f"cannot read CANDLE parameter file: {exc.strerror}", source=str(path)) from None
    except configparser.Error as exc:
        one_line = " ".join(str(exc).split())
        raise CandleInputError(f"not a valid CANDLE INI file: {one_line}", source=str(path)) from None
    entries = []
    for section in parser.sections():
        for key, text in parser.items(section):
            try:
                value = parse_literal(text)
            except ValueError as exc:
                if key not in lenient_keys:
                    raise CandleInputError(f"{key}: {exc}", source=str(path), where=f"[{section}]") from None
                value = text  # an ignored key's text is only reported, so it need not parse
            entries.append((section, key, value))
    return entries


def read_candle_ini(path, specs: ParamSpecs = BUILTIN_SPECS) -> ImportedParams:
    """Read a CANDLE ``*_default_model.txt`` file into a parameter layer (see the module doc)."""
    lenient = set(IGNORED_KEYS) - set(specs.by_name)
    return translate_entries(read_ini_entries(path, lenient_keys=lenient), source=str(path), specs=specs)
