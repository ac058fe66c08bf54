"""Resolve hyperparameters from their layers, in CANDLE's order of precedence:

    command line (``--set key=value``)  >  parameter file  >  a config's ``model:`` section  >  defaults

The parameter file is a CANDLE ``*_default_model.txt`` INI file (``.txt``, ``.ini``, ``.cfg``;
see :mod:`candle_lib.params.candle_ini`), or a YAML/JSON mapping of hyperparameters (``.yaml``,
``.yml``, ``.json``), such as the ``model:`` block of a config or a trial's ``params.json``.
Every layer but the config's accepts this project's names and CANDLE's (``drop``, ``out_act``,
...); command-line values follow the INI rules (a Python literal, or a bare word as a string).
The hyperparameters known are those of ``specs``: the built-in ones, and those a model of the
user's declares (:func:`candle_lib.params.declared.config_specs`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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
from candle_lib.params.specs import BUILTIN_SPECS, ParamSpecs

INI_SUFFIXES = (".txt", ".ini", ".cfg")
MAPPING_SUFFIXES = (".yaml", ".yml", ".json")
OVERRIDES_SOURCE = "--set"
DEFAULTS_SOURCE = "default"
TRIAL_SPEC_KEYS = {"params", "role", "data"}  # a trial's params.json (candle_lib.trial.spec.trial_spec)


@dataclass(frozen=True)
class ResolvedParams:
    """The final hyperparameters, the recognised keys of any layer that were ignored, and the
    layer that set each hyperparameter (:data:`DEFAULTS_SOURCE` when none did)."""

    params: dict
    ignored: tuple[IgnoredKey, ...]
    set_by: dict = field(default_factory=dict)


def _read_mapping(path: Path, specs: ParamSpecs) -> ImportedParams:
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
    return translate_entries((("", str(key), value) for key, value in data.items()), source=str(path), specs=specs)


def read_params_file(path, specs: ParamSpecs = BUILTIN_SPECS) -> ImportedParams:
    """One parameter layer from a CANDLE INI, YAML or JSON file, chosen by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in INI_SUFFIXES:
        return read_candle_ini(path, specs=specs)
    if suffix in MAPPING_SUFFIXES:
        return _read_mapping(path, specs)
    raise CandleInputError(
        f"unknown parameter file type '{suffix}'; use {', '.join(INI_SUFFIXES + MAPPING_SUFFIXES)}", source=str(path)
    )


def parse_overrides(items: Iterable[str], specs: ParamSpecs = BUILTIN_SPECS) -> ImportedParams:
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
    return translate_entries(entries, source=OVERRIDES_SOURCE, specs=specs)


def resolve_layers(
    params_file=None,
    overrides: Iterable[str] = (),
    specs: ParamSpecs = BUILTIN_SPECS,
    base: Mapping | None = None,
    base_source: str = "config",
) -> ResolvedParams:
    """Defaults, overridden by ``base`` (a config's ``model:`` section, this project's names only),
    by ``params_file`` (if any), then by ``overrides``."""
    layers = [ImportedParams(dict(base or {}), (), base_source)]
    if params_file is not None:
        layers.append(read_params_file(params_file, specs=specs))
    layers.append(parse_overrides(overrides, specs=specs))
    params = specs.resolve(*(layer.params for layer in layers))
    set_by = {name: DEFAULTS_SOURCE for name in params}
    for layer in layers:
        set_by.update({name: layer.source for name in layer.params if name in params})
    return ResolvedParams(params, tuple(key for layer in layers for key in layer.ignored), set_by)
