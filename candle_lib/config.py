"""Load and validate a workflow config against its JSON schema, with messages naming the key.

Values are parsed by YAML's safe loader and checked by type; nothing in a config is ever
evaluated as code.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from candle_lib.data.config_checks import check_data_config, check_model_for_data
from candle_lib.errors import CandleInputError
from candle_lib.params.specs import resolve_params
from candle_lib.search.methods import check_hpo


def _key_path(parts) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in allowed)
        if unknown and allowed:
            return f"config key '{_key_path(path + [unknown[0]])}': unknown key; allowed here: {sorted(allowed)}"
    return f"config key '{_key_path(path)}': {error.message}"


def _has_defaults(schema: dict) -> bool:
    return any("default" in sub or _has_defaults(sub) for sub in schema.get("properties", {}).values())


def _fill_defaults(schema: dict, instance: dict) -> None:
    for name, sub in schema.get("properties", {}).items():
        if "default" in sub and name not in instance:
            instance[name] = copy.deepcopy(sub["default"])
        if sub.get("type") == "object" and name not in instance and _has_defaults(sub):
            instance[name] = {}  # an absent section whose keys have defaults gets them all
        if sub.get("type") == "object" and isinstance(instance.get(name), dict):
            _fill_defaults(sub, instance[name])


def config_schema_text() -> str:
    """The config schema that ships with the package (``candle_lib/schema/config.schema.yaml``;
    ``config/schema/config.schema.yaml`` in the workflow is the same file)."""
    return resources.files("candle_lib").joinpath("schema", "config.schema.yaml").read_text()


def validate_config(config: dict, schema_path=None) -> dict:
    """Return a validated copy of ``config`` with schema defaults filled in.

    Raises CandleInputError naming the first offending key (e.g. ``data.normalisation``).
    The model section is checked by :func:`candle_lib.params.specs.resolve_params`.
    """
    schema = yaml.safe_load(Path(schema_path).read_text() if schema_path else config_schema_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(config), key=lambda e: (len(list(e.absolute_path)), list(map(str, e.absolute_path)))
    )
    if errors:
        raise CandleInputError(_describe(errors[0]))
    checked = copy.deepcopy(config)
    _fill_defaults(schema, checked)
    check_data_config(checked["data"])
    check_model_for_data(checked["data"], resolve_params(checked["model"], where="model"))
    check_hpo(checked)
    return checked


def load_config(path, schema_path=None) -> dict:
    try:
        config = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CandleInputError(f"cannot read config ({exc})", source=str(path)) from exc
    return validate_config(config or {}, schema_path)
