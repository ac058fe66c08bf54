"""Hyperparameters: typed specs with CANDLE's defaults, their layers, and CANDLE INI import.

- :mod:`.specs`: every hyperparameter with its type and default (``PARAM_SPECS``), a set of them
  (:class:`ParamSpecs`), coercion (:func:`resolve_params`), the model's form (:func:`model_form`)
  and the canonical JSON that trial ids hash;
- :mod:`.declared`: the hyperparameters a model of the user's declares (:func:`config_specs`);
- :mod:`.model_code`: where a model of the user's lives, and the hash of its code (:func:`model_code`);
- :mod:`.layers`: command line > parameter file > defaults, CANDLE's order of precedence;
- :mod:`.candle_ini`: CANDLE ``*_default_model.txt`` files read as a layer, nothing dropped
  silently.
"""

from candle_lib.params.candle_ini import IgnoredKey, ImportedParams, read_candle_ini
from candle_lib.params.declared import config_specs, parse_declarations
from candle_lib.params.layers import ResolvedParams, parse_overrides, read_params_file, resolve_layers
from candle_lib.params.specs import PARAM_SPECS, ParamSpec, ParamSpecs, canonical_json, model_form, resolve_params

__all__ = [
    "PARAM_SPECS",
    "ParamSpec",
    "ParamSpecs",
    "config_specs",
    "parse_declarations",
    "model_form",
    "resolve_params",
    "canonical_json",
    "resolve_layers",
    "ResolvedParams",
    "read_params_file",
    "parse_overrides",
    "read_candle_ini",
    "ImportedParams",
    "IgnoredKey",
]
