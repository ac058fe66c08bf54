"""Hyperparameters a model of the user's adds, and the set of hyperparameters of a config.

A declaration names a hyperparameter's type, default, allowed values or range, and help::

    hyperparameters:                 # in the config, or HYPERPARAMETERS = {...} in the builder's module
      attention_heads: {type: int, default: 4, range: [1, 16], help: heads of the attention block}
      pooling: {type: str, default: mean, choices: [mean, max]}

Types: int, float, str, bool, int_list, float_list, str_list, literal (any YAML value, taken as
it is). A declared hyperparameter is validated like a built-in one, is part of the trial id, can
be searched in ``hpo.space`` and is a column of trials.tsv. The builder's module is not imported
to read its declarations: ``HYPERPARAMETERS`` must be a literal (a dict of dicts), read by
:func:`ast.literal_eval`. The config's declarations win over the module's of the same name.

A CANDLE benchmark module's hyperparameters are the keys of its ``*_default_model.txt``, with its
values as their defaults (:func:`benchmark_declarations`): the search's values override the
benchmark's defaults, and the benchmark gets the rest as they are.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import Path

from candle_lib.errors import CandleInputError
from candle_lib.params.candle_ini import read_ini_entries, read_text_file
from candle_lib.params.model_code import benchmark_params_file, builder_file
from candle_lib.params.specs import BUILTIN_SPECS, SPECS_BY_NAME, TYPES, ParamSpec, ParamSpecs, coerce_value, model_form

DECLARATION_KEYS = ("type", "default", "choices", "range", "help")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MODULE_VARIABLE = "HYPERPARAMETERS"
# keys of a benchmark's parameter file that are not its searchable hyperparameters: this project's
# own (the benchmark keeps its value of them), and the output folders the runner sets to the trial's
RUNNER_KEYS = (
    "model", "task", "command", "benchmark", "benchmark_params", "interpreter", "environment", "timeout",
    "output_dir", "save_path",
)  # fmt: skip


def _declared_spec(name, entry, *, source: str, where: str) -> ParamSpec:
    at = f"{where}.{name}"
    if not isinstance(name, str) or not NAME.match(name):
        raise CandleInputError("a hyperparameter's name is letters, digits and _ (not starting with a digit)", where=at)
    if name in SPECS_BY_NAME:
        raise CandleInputError(
            f"'{name}' is a built-in hyperparameter ({SPECS_BY_NAME[name].help}); use it as it is, or give yours "
            "another name",
            where=at,
        )
    if not isinstance(entry, Mapping):
        raise CandleInputError(f"expected a mapping with keys {list(DECLARATION_KEYS)}", where=at)
    unknown = sorted(set(entry) - set(DECLARATION_KEYS))
    if unknown:
        raise CandleInputError(f"unknown key '{unknown[0]}'; allowed: {list(DECLARATION_KEYS)}", where=at)
    kind = entry.get("type")
    if kind not in TYPES:
        raise CandleInputError(f"type {kind!r} is not one of {list(TYPES)}", where=f"{at}.type")
    if "default" not in entry:
        raise CandleInputError("a declared hyperparameter needs a default", where=f"{at}.default")
    choices = entry.get("choices")
    if choices is not None and (not isinstance(choices, list) or not choices):
        raise CandleInputError("choices: a non-empty list of the allowed values", where=f"{at}.choices")
    bounds = entry.get("range")
    if bounds is not None:
        numbers = all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in bounds or [])
        if kind not in ("int", "float", "int_list", "float_list") or not isinstance(bounds, list) or len(bounds) != 2:
            raise CandleInputError(
                "range: [low, high] of a number type (int, float, or their lists)", where=f"{at}.range"
            )
        if not numbers or (None not in bounds and bounds[0] > bounds[1]):
            raise CandleInputError(
                f"range {bounds!r}: [low, high] numbers, low <= high (null = open)", where=f"{at}.range"
            )
    help_text = entry.get("help", "")
    if not isinstance(help_text, str):
        raise CandleInputError("help: a text", where=f"{at}.help")
    spec = ParamSpec(
        name,
        kind,
        entry["default"],
        help_text or f"declared by {source}",
        choices=tuple(choices) if choices else None,
        bounds=tuple(bounds) if bounds else None,
        source=source,
    )
    if choices and kind != "literal":
        for number, choice in enumerate(choices):
            coerce_value(ParamSpec(name, kind, None, spec.help, bounds=spec.bounds), choice, f"{at}.choices[{number}]")
    try:
        default = coerce_value(spec, entry["default"], f"{at}.default")
    except CandleInputError as exc:
        raise CandleInputError(f"the declared default is wrong: {exc.message}", where=exc.where) from None
    return ParamSpec(**{**spec.__dict__, "default": default})


def parse_declarations(declarations, *, source: str, where: str) -> tuple[ParamSpec, ...]:
    """ParamSpecs of a mapping of declarations (see the module doc); errors name ``where``."""
    if declarations is None:
        return ()
    if not isinstance(declarations, Mapping):
        raise CandleInputError("expected a mapping of hyperparameter name -> declaration", where=where)
    return tuple(_declared_spec(name, entry, source=source, where=where) for name, entry in declarations.items())


def module_declarations(path: Path) -> dict | None:
    """The literal ``HYPERPARAMETERS = {...}`` of a Python file, read without importing it; None
    when it has none. A syntax error or a value that is no literal names the file and line."""
    text = read_text_file(Path(path), "Python module")
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise CandleInputError(
            f"Python syntax error: {exc.msg}", source=str(path), where=f"line {exc.lineno}"
        ) from None
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        if any(isinstance(t, ast.Name) and t.id == MODULE_VARIABLE for t in targets) and node.value is not None:
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                raise CandleInputError(
                    f"{MODULE_VARIABLE} must be a literal dict (no names or calls), read without importing the module",
                    source=str(path),
                    where=f"line {node.lineno}",
                ) from None
    return None


def _inferred_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list) and value:
        for kind, types in (("int_list", int), ("float_list", (int, float)), ("str_list", str)):
            if all(isinstance(v, types) and not isinstance(v, bool) for v in value):
                if kind != "float_list" or all(b > a for a, b in zip(value, value[1:])):
                    return kind
    return "literal"


def benchmark_declarations(path: Path) -> tuple[ParamSpec, ...]:
    """Every key of a CANDLE benchmark's parameter file as a hyperparameter whose default is the
    file's value (type from the value), except this project's own :data:`RUNNER_KEYS`. A key given
    in two sections keeps the last."""
    specs: dict[str, ParamSpec] = {}
    for section, key, value in read_ini_entries(path):
        if key in RUNNER_KEYS:
            continue
        kind = _inferred_type(value)
        specs[key] = ParamSpec(
            key, kind, list(value) if isinstance(value, tuple) else value, f"[{section}] of {path}", source=str(path)
        )
    return tuple(specs.values())


def model_declarations(model: Mapping) -> tuple[ParamSpec, ...]:
    """What the model of a ``model:`` section declares itself: a builder module's
    HYPERPARAMETERS, a CANDLE benchmark's parameter file; nothing for the others."""
    name = model.get("model", SPECS_BY_NAME["model"].default)
    if not isinstance(name, str):
        return ()
    form = model_form(name)
    if form == "keras":
        coerce_value(SPECS_BY_NAME["model"], name, "model.model")
        path = builder_file(name)
        return parse_declarations(module_declarations(path), source=str(path), where=f"{path}: {MODULE_VARIABLE}")
    if form == "candle_benchmark" and model.get("benchmark"):
        return benchmark_declarations(benchmark_params_file(dict(model)))
    return ()


def config_specs(config: Mapping) -> ParamSpecs:
    """The hyperparameters of a config: the built-in ones, those its model declares and those of
    its ``hyperparameters`` section (which win over the model's)."""
    model = config.get("model") or {}
    declared = model_declarations(model) + parse_declarations(
        config.get("hyperparameters"), source="the config's hyperparameters", where="hyperparameters"
    )
    return BUILTIN_SPECS.with_declared(declared) if declared else BUILTIN_SPECS
