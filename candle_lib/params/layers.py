"""Resolve hyperparameters from their three layers, in CANDLE's order of precedence:

    command line (``--set key=value``)  >  parameter file  >  defaults (candle_lib.params.specs)

The parameter file is a CANDLE ``*_default_model.txt`` INI file (``.txt``, ``.ini``, ``.cfg``;
see :mod:`candle_lib.params.candle_ini`), or a YAML/JSON mapping of hyperparameters (``.yaml``,
``.yml``, ``.json``), such as the ``model:`` block of a config or a trial's ``params.json``.
Every layer accepts this project's names and CANDLE's (``drop``, ``out_act``, ...); command-line
values follow the INI rules (a Python literal, or a bare word as a string).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from candle_lib.errors import CandleInputError
from candle_lib.params.candle_ini import (
    IgnoredKey,
    ImportedParams,
    parse_literal,
    read_candle_ini,
    read_text_file,
    translate_entries,
)
from candle_lib.params.specs import resolve_params

INI_SUFFIXES = (".txt", ".ini", ".cfg")
MAPPING_SUFFIXES = (".yaml", ".yml", ".json")
OVERRIDES_SOURCE = "--set"
TRIAL_SPEC_KEYS = {"params", "role", "data"}  # a trial's params.json (candle_lib.trial.spec.trial_spec)


@dataclass(frozen=True)
class ResolvedParams:
    """The final hyperparameters, and the recognised keys of any layer that were ignored."""

    params: dict
    ignored: tuple[IgnoredKey, ...]


def _read_mapping(path: Path) -> ImportedParams:
    try:
        text = read_text_file(path, "parameter file")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except OSError as exc:
        raise CandleInputError(f"cannot read parameter file: {exc.strerror}", source=str(path)) from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CandleInputError(
            f"not valid {path.suffix[1:].upper()}: {' '.join(str(exc).split())}", source=str(path)
        ) from None
    if isinstance(data, dict) and TRIAL_SPEC_KEYS <= set(data) <= TRIAL_SPEC_KEYS | {"code"}:
        data = data["params"]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CandleInputError(f"expected a mapping of hyperparameters, got {type(data).__name__}", source=str(path))
    return translate_entries((("", str(key), value) for key, value in data.items()), source=str(path))


def read_params_file(path) -> ImportedParams:
    """One parameter layer from a CANDLE INI, YAML or JSON file, chosen by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in INI_SUFFIXES:
        return read_candle_ini(path)
    if suffix in MAPPING_SUFFIXES:
        return _read_mapping(path)
    raise CandleInputError(
        f"unknown parameter file type '{suffix}'; use {', '.join(INI_SUFFIXES + MAPPING_SUFFIXES)}", source=str(path)
    )


def parse_overrides(items: Iterable[str]) -> ImportedParams:
    """The command-line layer from ``key=value`` strings."""
    entries = []
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CandleInputError(f"expected key=value, got {item!r}", source=OVERRIDES_SOURCE)
        try:
            entries.append(("", key, parse_literal(text)))
        except ValueError as exc:
            raise CandleInputError(f"{key}: {exc}", source=OVERRIDES_SOURCE) from None
    return translate_entries(entries, source=OVERRIDES_SOURCE)


def resolve_layers(params_file=None, overrides: Iterable[str] = ()) -> ResolvedParams:
    """Defaults, overridden by ``params_file`` (if any), overridden by ``overrides``."""
    layers = [read_params_file(params_file)] if params_file is not None else []
    layers.append(parse_overrides(overrides))
    params = resolve_params(*(layer.params for layer in layers))
    return ResolvedParams(params, tuple(key for layer in layers for key in layer.ignored))
