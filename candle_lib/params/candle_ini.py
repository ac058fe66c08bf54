"""Import CANDLE ``*_default_model.txt`` files (INI) as a layer of this project's hyperparameters.

A CANDLE Benchmarks model file is an INI file, usually with one ``[Global_Params]`` section and
sometimes others (``[Monitor_Params]``); every section is read. Each value is parsed with
:func:`parse_literal`: a Python literal by :func:`ast.literal_eval` (never ``eval``), or, for a bare
word such as ``activation=relu``, that word as a string.

Every key falls into exactly one of these tables, so that nothing is dropped silently:

- a hyperparameter of :data:`candle_lib.params.specs.PARAM_SPECS`, under its own name or a CANDLE
  name with a translated value (:data:`TRANSLATED`: ``drop``, ``out_act``, ``loss``, ``model``,
  ``model_name``, ``conv``);
- :data:`IGNORED_KEYS`: keys that describe CANDLE's data locations, outputs or bookkeeping and
  have no meaning here (this project's data config and trial directories replace them);
- :data:`NEUTRAL_ONLY_KEYS`: CANDLE features this project does not implement (noise injection,
  batch normalization, ...); accepted and ignored at their "off" value, rejected otherwise, since
  ignoring them would silently train a different model.

Any other key raises :class:`~candle_lib.errors.CandleInputError` naming the key, the section and
the file. Ignored keys are returned with the result (:class:`ImportedParams`) so callers can log
them. A value of ``None`` for a hyperparameter (``learning_rate=None`` in P1B1) leaves it unset,
so the next layer below (the defaults) applies; it is reported as ignored too.
"""

from __future__ import annotations

import ast
import configparser
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import SPECS_BY_NAME, resolve_params

MODEL_FAMILIES = ("nt3", "tc1", "p1b1")
BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.+-]*\Z")
_NO_DEFAULT_SECTION = "\0"  # [DEFAULT] is read as an ordinary section, not merged into the others


class IgnoredKey(NamedTuple):
    """A recognised key that does not change the training here."""

    section: str
    key: str
    value: Any
    reason: str

    def __str__(self) -> str:
        where = f"[{self.section}] " if self.section else ""
        return f"{where}{self.key} = {self.value!r} is ignored: {self.reason}"


@dataclass(frozen=True)
class ImportedParams:
    """One parameter layer for :func:`candle_lib.params.specs.resolve_params`, with what was ignored."""

    params: dict
    ignored: tuple[IgnoredKey, ...]
    source: str


# --------------------------------------------------------------------------- value translation


def _loss(value) -> dict:
    names = {"categorical_crossentropy": "auto", "mean_squared_error": "mse", "mean_absolute_error": "mae"}
    return {"loss": names.get(value, value) if isinstance(value, str) else value}


def _model(value) -> dict:
    """CANDLE P1B1's ``model`` is ae/vae; this project's own family names pass through."""
    autoencoders = {"ae": {"model": "p1b1", "vae": False}, "vae": {"model": "p1b1", "vae": True}}
    return autoencoders.get(value, {"model": value}) if isinstance(value, str) else {"model": value}


def _model_name(value) -> dict:
    """A family name selects the model; any other name only labels CANDLE's outputs."""
    return {"model": value} if value in MODEL_FAMILIES else {}


def _conv(value) -> dict:
    """Flat [filters, kernel, stride, ...] as is; nested [[filters, kernel, stride], ...] flattened."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(layer, (list, tuple)) for layer in value):
        if any(len(layer) != 3 for layer in value):
            raise ValueError(f"{value!r}: each nested conv layer must be [filters, kernel, stride]")
        return {"conv": [number for layer in value for number in layer]}
    return {"conv": value}


def _renamed(name: str) -> Callable[[Any], dict]:
    return lambda value: {name: value}


# CANDLE key -> function of its value giving this project's hyperparameters ({} = ignored).
TRANSLATED: dict[str, Callable[[Any], dict]] = {
    "drop": _renamed("dropout"),
    "out_act": _renamed("out_activation"),
    "loss": _loss,
    "model": _model,
    "model_name": _model_name,
    "conv": _conv,
}

# Recognised CANDLE keys with no meaning here, any value, and why.
IGNORED_KEYS: dict[str, str] = {
    "data_url": "data locations come from the data config",
    "url_p1b1": "data locations come from the data config",
    "train_data": "data locations come from the data config",
    "test_data": "data locations come from the data config",
    "val_data": "data locations come from the data config",
    "file_train": "data locations come from the data config",
    "file_test": "data locations come from the data config",
    "output_dir": "each trial writes to its own content-addressed directory",
    "save_dir": "each trial writes to its own content-addressed directory",
    "save_path": "each trial writes to its own content-addressed directory",
    "model_name": "names CANDLE's output files; only nt3/tc1/p1b1 select a model family",
    "experiment_id": "trial ids are derived from the parameters",
    "run_id": "trial ids are derived from the parameters",
    "metrics": "every metric of the task is computed",
    "classes": "the number of classes comes from the prepared dataset's labels",
    "validation_split": "splits come from the data config (train/val/test assignment)",
    "label_noise": "used only with add_noise=True, which is not supported",
    "std_dev": "used only with noise_gaussian=True, which is not supported",
    "feature_col": "used only with add_noise=True, which is not supported",
    "feature_threshold": "used only with add_noise=True, which is not supported",
    "restart": "trials always resume from their own checkpoint",
    "ckpt_checksum": "checkpoints are matched to their trial by its content-addressed id",
    "solr_root": "CANDLE's Solr monitoring; progress is in trial logs and Snakemake",
    "verbose": "per-epoch lines always go to the trial log",
    "logfile": "each trial writes its own log",
}

# CANDLE features not implemented here: accepted only at their "off" value.
NEUTRAL_ONLY_KEYS: dict[str, tuple[Any, str]] = {
    "add_noise": (False, "CANDLE's noise injection is not implemented here"),
    "noise_correlated": (False, "CANDLE's noise injection is not implemented here"),
    "noise_gaussian": (False, "CANDLE's noise injection is not implemented here"),
    "noise_factor": (0, "denoising autoencoders are not implemented here"),
    "feature_subsample": (0, "features are selected by the data config's filters, e.g. top_variance"),
    "batch_normalization": (False, "batch normalization is not implemented here"),
    "alpha_dropout": (False, "alpha dropout is not implemented here"),
    "base_lr": (None, "CANDLE's base learning rate is not used; set learning_rate"),
    "epsilon_std": (1.0, "the VAE's prior is N(0, I)"),
    "initialization": ("glorot_uniform", "weights use Keras' default glorot_uniform initializer"),
}


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


def _value_message(exc: CandleInputError) -> str:
    """The message of a resolve_params error without its ``where:`` prefix."""
    return str(exc)[len(exc.where) + 2 :] if exc.where else str(exc)


def _checked(name: str, value, *, key: str, where: str, source: str):
    try:
        return resolve_params({name: value}, where=name)[name]
    except CandleInputError as exc:
        shown = key if key == name else f"{key} (as {name})"
        raise CandleInputError(f"{shown}: {_value_message(exc)}", source=source, where=where) from None


def _unknown_key_message(key: str) -> str:
    return (
        f"unknown key '{key}': not a hyperparameter of this project, a CANDLE name it maps, or a CANDLE key it "
        f"ignores; hyperparameters: {', '.join(sorted(SPECS_BY_NAME))}; CANDLE names: {', '.join(sorted(set(TRANSLATED) - set(SPECS_BY_NAME)))}"
    )


def _translate(section: str, key: str, value, *, source: str) -> tuple[dict, IgnoredKey | None]:
    """One entry as this project's hyperparameters (checked), or as an ignored key."""
    where = f"[{section}]" if section else None
    if key in NEUTRAL_ONLY_KEYS:
        neutral, reason = NEUTRAL_ONLY_KEYS[key]
        if value != neutral:
            raise CandleInputError(
                f"{key} = {value!r} is not supported: {reason}; remove it or set {key} = {neutral!r}",
                source=source,
                where=where,
            )
        return {}, IgnoredKey(section, key, value, f"{reason} ({neutral!r} is the only value accepted)")
    if key not in TRANSLATED and key not in SPECS_BY_NAME:
        if key not in IGNORED_KEYS:
            raise CandleInputError(_unknown_key_message(key), source=source, where=where)
        return {}, IgnoredKey(section, key, value, IGNORED_KEYS[key])
    if value is None:
        return {}, IgnoredKey(section, key, value, "None leaves it unset, so the default applies")
    try:
        layer = TRANSLATED.get(key, _renamed(key))(value)
    except ValueError as exc:
        raise CandleInputError(str(exc), source=source, where=f"{where} {key}" if where else key) from None
    if not layer:
        return {}, IgnoredKey(section, key, value, IGNORED_KEYS[key])
    return {name: _checked(name, raw, key=key, where=where, source=source) for name, raw in layer.items()}, None


def translate_entries(entries: Iterable[tuple[str, str, Any]], *, source: str) -> ImportedParams:
    """Map (section, key, value) entries onto this project's hyperparameters, checking each value.

    Two keys that set one hyperparameter to different values (``drop`` and ``dropout``) are an
    error naming both.
    """
    params: dict = {}
    set_by: dict[str, str] = {}
    ignored: list[IgnoredKey] = []
    for section, key, value in entries:
        layer, ignored_key = _translate(section, key, value, source=source)
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


def read_candle_ini(path) -> ImportedParams:
    """Read a CANDLE ``*_default_model.txt`` file into a parameter layer (see the module doc)."""
    return translate_entries(read_ini_entries(path, lenient_keys=IGNORED_KEYS), source=str(path))
