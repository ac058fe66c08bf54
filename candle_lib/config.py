"""Load and validate a workflow config against its JSON schema, with messages naming the key.

Values are parsed by YAML's safe loader (strictly: a syntax error names the file and line, a key
given twice in one mapping is an error naming both lines) and checked by type; nothing here
evaluates a config value as code. (Snakemake itself, before this module sees the config,
evaluates the ``?`` expressions of a config file that starts with ``__use_yte__``: a YTE
template.) Every section given in part gets the schema's defaults for the keys it leaves out,
before it is validated.
"""

from __future__ import annotations

import copy
import io
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from candle_lib.data.config_checks import check_data_config, check_model_for_data, width_bound
from candle_lib.errors import CandleInputError
from candle_lib.models.shapes import check_conv_fits
from candle_lib.params.declared import config_specs
from candle_lib.params.model_code import builder_file, builder_reference
from candle_lib.params.specs import model_form, resolve_params
from candle_lib.search.data_variants import with_data_settings
from candle_lib.search.methods import check_hpo, parameter_settings
from candle_lib.search.objective import check_metrics, fill_objective_direction


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
    """Fill, in place, every key the schema gives a default and ``instance`` leaves out, in
    sections given whole, in part or not at all (an absent section whose keys have defaults)."""
    for name, sub in schema.get("properties", {}).items():
        if "default" in sub and name not in instance:
            instance[name] = copy.deepcopy(sub["default"])
        if sub.get("type") == "object" and name not in instance and _has_defaults(sub) and not sub.get("required"):
            instance[name] = {}  # an absent section whose keys have defaults gets them all
        if sub.get("type") == "object" and isinstance(instance.get(name), dict):
            _fill_defaults(sub, instance[name])


def config_schema_text() -> str:
    """The config schema that ships with the package (``candle_lib/schema/config.schema.yaml``;
    ``config/schema/config.schema.yaml`` in the workflow is the same file)."""
    return resources.files("candle_lib").joinpath("schema", "config.schema.yaml").read_text()


WIDTH_NAMES = ("model", "conv", "pool", "data.filters.top_variance", "data.filters.gene_list")


def check_input_width(config: dict) -> None:
    """Every conv/pool stack a trial may build must fit the input width, where a bound on it is
    known at parse time (:func:`candle_lib.data.config_checks.width_bound`): the model section
    with each setting of the search's space, and with cv.overrides, uq.model and tda.params."""
    settings = parameter_settings(config, WIDTH_NAMES)
    specs = config_specs(config)
    base = specs.resolve(config["model"], where="model")
    layers = {"cv.overrides": config["cv"].get("overrides"), "uq.model": config["uq"].get("model")}
    layers["tda.params"] = config["tda"].get("params")
    settings = [(params, "hpo.space" if params != {**base, **_data_keys(params)} else "model") for params in settings]
    for where, overrides in layers.items():
        if overrides:
            settings.append((resolve_params(base, overrides, where=where, specs=specs), where))
    for params, where in settings:
        data = with_data_settings(config["data"], _data_keys(params))
        bound = width_bound(data)
        if bound is not None and params["model"] in ("nt3", "tc1") and len(params["pool"]) * 3 == len(params["conv"]):
            check_conv_fits(params, bound[0], width_says=bound[1], where=where)


def merge_parameter_file(config: dict) -> None:
    """``parameter_file`` (a CANDLE ``*_default_model.txt``, or YAML/JSON hyperparameters) under the
    model section, in place: the model section's own keys win, then the file's, then the
    defaults. The keys that do not change the training here are named in one warning line on
    stderr (:func:`candle_lib.params.candle_ini.ignored_warning`)."""
    from candle_lib.params.candle_ini import ignored_warning
    from candle_lib.params.layers import read_params_file

    path = config.get("parameter_file")
    if not path:
        return
    if not Path(path).is_file():
        raise CandleInputError(f"config key 'parameter_file': {path} does not exist")
    imported = read_params_file(path, specs=config_specs(config))
    config["model"] = {**imported.params, **config["model"]}
    warning = ignored_warning(imported.ignored)
    if warning:
        print(f"candle: warning: {path}: {warning}", file=sys.stderr, flush=True)


def check_builder(model: dict) -> None:
    """A Keras builder of the user's must be defined in its file with the builder's signature
    (read from the file's syntax tree: the module is not imported while the config is checked)."""
    from candle_lib.models.plugin import builder_problem

    name = model.get("model")
    if not isinstance(name, str) or model_form(name) != "keras":
        return
    path = builder_file(name)
    problem = builder_problem(path, builder_reference(name)[1])
    if problem:
        raise CandleInputError(f"config key 'model.model': {problem}", source=str(path))


def _data_keys(params: dict) -> dict:
    return {k: v for k, v in params.items() if k.startswith("data.")}


def validate_config(config: dict, schema_path=None) -> dict:
    """Return a validated copy of ``config`` with schema defaults filled in.

    Raises CandleInputError naming the first offending key (e.g. ``data.normalisation``).
    The model section is checked by :func:`candle_lib.params.specs.resolve_params`.
    """
    schema = yaml.safe_load(Path(schema_path).read_text() if schema_path else config_schema_text())
    if not isinstance(config, dict):
        raise CandleInputError(
            f"config: expected a mapping of sections (data, model, hpo, ...), got {type(config).__name__}"
        )
    checked = copy.deepcopy(config)
    _fill_defaults(schema, checked)  # first, so that a section given in part is complete when validated
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(checked), key=lambda e: (len(list(e.absolute_path)), list(map(str, e.absolute_path)))
    )
    if errors:
        raise CandleInputError(_describe(errors[0]))
    merge_parameter_file(checked)
    fill_objective_direction(checked["hpo"])
    check_data_config(checked["data"])
    check_model_for_data(checked["data"], config_specs(checked).resolve(checked["model"], where="model"))
    check_builder(checked["model"])
    check_hpo(checked)
    check_metrics(checked)
    check_input_width(checked)
    check_workers(checked)
    return checked


def check_workers(config: dict) -> None:
    """A multi-worker trial needs a job of its own: a bundle trains its trials in one process."""
    workers, bundle = config["resources"]["workers_per_trial"], config["hpo"].get("trials_per_job", 1)
    if workers > 1 and bundle > 1:
        raise CandleInputError(
            f"config key 'resources.workers_per_trial': {workers} workers per trial cannot train in a bundle "
            f"(hpo.trials_per_job: {bundle} trains its trials one after another in one process); "
            "set hpo.trials_per_job: 1"
        )


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain PyYAML keeps the
    last value silently). Keys starting with ``?`` are YTE's directives (a file that starts with
    ``__use_yte__``, which Snakemake evaluates), which may repeat."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            first_line: dict = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = first_line.get(key)
                except TypeError:  # an unhashable key: the base loader reports it
                    continue
                line = key_node.start_mark.line + 1
                if seen is not None and not str(key).startswith("?"):  # ?if/?else: YTE's directives
                    raise CandleInputError(
                        f"key '{key}' is given twice in one mapping (lines {seen} and {line}); "
                        "YAML would silently keep the second: remove one",
                        source=key_node.start_mark.name,
                    )
                first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path) -> object:
    """A YAML file parsed strictly (see :class:`_StrictLoader`). A syntax error, a duplicated
    key, an unreadable or binary file is a CandleInputError naming the file and the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CandleInputError(
            f"not a text (UTF-8) file: byte {exc.object[exc.start]:#04x} at offset {exc.start}; is it a binary file?",
            source=str(path),
        ) from None
    except OSError as exc:
        raise CandleInputError(f"cannot read config: {exc.strerror or exc}", source=str(path)) from None
    try:
        stream = io.StringIO(text)
        stream.name = str(path)  # PyYAML names the file in its marks
        return yaml.load(stream, Loader=_StrictLoader)  # a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        what = " ".join(filter(None, [exc.context, exc.problem]))
        raise CandleInputError(f"YAML syntax error: {what}", source=str(path), where=where) from None
    except yaml.YAMLError as exc:
        raise CandleInputError(f"not valid YAML: {' '.join(str(exc).split())}", source=str(path)) from None


def load_config(path, schema_path=None) -> dict:
    """Read a config file strictly (:func:`read_yaml`) and validate it (:func:`validate_config`)."""
    config = read_yaml(path)
    try:
        return validate_config(config or {}, schema_path)
    except CandleInputError as exc:
        if exc.source:
            raise
        raise CandleInputError(str(exc), source=str(path)) from None
