"""Hyperparameters a model of the user's declares: in the config, in the builder's module (read
without importing it), or a CANDLE benchmark's parameter file; and the hash of a model's code in
its trial ids."""

from __future__ import annotations

import hashlib
import json

import pytest

from candle_lib.errors import CandleInputError
from candle_lib.params.declared import benchmark_declarations, config_specs, module_declarations, parse_declarations
from candle_lib.params.model_code import model_code
from candle_lib.params.specs import BUILTIN_SPECS, resolve_params
from candle_lib.search.bindings import SpaceBinding
from candle_lib.search.space import parse_space
from candle_lib.search.trial_ids import TrialIdHasher
from candle_lib.trial.spec import HOLDOUT, trial_id, trial_spec

DECLARED = {
    "heads": {"type": "int", "default": 4, "range": [1, 16], "help": "attention heads"},
    "pooling": {"type": "str", "default": "mean", "choices": ["mean", "max"]},
    "widths": {"type": "float_list", "default": [0.5, 1.0]},
}

BUILDER = '''"""A builder the tests never import: importing it would fail."""
import this_package_does_not_exist

HYPERPARAMETERS = {
    "heads": {"type": "int", "default": 2, "range": [1, 8], "help": "from the module"},
    "gate": {"type": "bool", "default": True},
}


def build(params, input_width, output_width, output_activation):
    raise AssertionError("not called")
'''


@pytest.fixture
def workflow(tmp_path, monkeypatch):
    """A workflow directory holding models/attention.py; the current directory."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "attention.py").write_text(BUILDER)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_declared_hyperparameters_resolve_with_their_types_and_defaults():
    specs = BUILTIN_SPECS.with_declared(parse_declarations(DECLARED, source="cfg", where="hyperparameters"))
    params = specs.resolve({"heads": 8, "widths": [1, 2]})
    assert (params["heads"], params["pooling"], params["widths"]) == (8, "mean", [1.0, 2.0])
    assert params["epochs"] == resolve_params()["epochs"]  # the built-in ones are all there
    assert [spec.name for spec in specs.declared] == ["heads", "pooling", "widths"]


@pytest.mark.parametrize(
    "layer, message",
    [
        ({"heads": 17}, "model.heads: 17 is outside [1, 16]"),
        ({"heads": 2.5}, "model.heads: 2.5 is not a valid int"),
        ({"pooling": "sum"}, "model.pooling: 'sum' is not one of ['mean', 'max']"),
        ({"head": 2}, "model.head: unknown hyperparameter; did you mean 'heads'?"),
    ],
)
def test_declared_values_are_checked_like_built_in_ones(layer, message):
    specs = BUILTIN_SPECS.with_declared(parse_declarations(DECLARED, source="cfg", where="hyperparameters"))
    with pytest.raises(CandleInputError) as info:
        specs.resolve(layer, where="model")
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    "declaration, message",
    [
        (
            {"type": "int", "default": 40, "range": [1, 16]},
            "hyperparameters.x.default: the declared default is wrong: 40 is outside",
        ),
        (
            {"type": "int", "default": "4"},
            "hyperparameters.x.default: the declared default is wrong: '4' is not a valid int",
        ),
        ({"type": "integer", "default": 4}, "hyperparameters.x.type: type 'integer' is not one of"),
        ({"type": "int"}, "hyperparameters.x.default: a declared hyperparameter needs a default"),
        (
            {"type": "str", "default": "a", "range": [1, 2]},
            "hyperparameters.x.range: range: [low, high] of a number type",
        ),
        ({"type": "int", "default": 1, "range": [5, 1]}, "hyperparameters.x.range: range [5, 1]"),
        ({"type": "int", "default": 1, "choices": [1, "b"]}, "hyperparameters.x.choices[1]: 'b' is not a valid int"),
        ({"type": "int", "default": 1, "step": 2}, "hyperparameters.x: unknown key 'step'"),
    ],
)
def test_a_bad_declaration_names_its_key(declaration, message):
    with pytest.raises(CandleInputError) as info:
        parse_declarations({"x": declaration}, source="cfg", where="hyperparameters")
    assert str(info.value).startswith(message)


def test_a_declaration_may_not_shadow_a_built_in_hyperparameter():
    with pytest.raises(CandleInputError, match=r"hyperparameters.dropout: 'dropout' is a built-in hyperparameter"):
        parse_declarations({"dropout": {"type": "float", "default": 0.1}}, source="cfg", where="hyperparameters")


def test_the_module_declarations_are_read_without_importing_it(workflow):
    assert module_declarations(workflow / "models" / "attention.py")["heads"]["default"] == 2
    specs = config_specs({"model": {"model": "models/attention.py:build"}})
    assert {spec.name: spec.default for spec in specs.declared} == {"heads": 2, "gate": True}
    assert specs.by_name["heads"].source == "models/attention.py"


def test_a_module_found_on_the_workflow_directory_declares_too(workflow):
    specs = config_specs({"model": {"model": "models.attention:build"}})
    assert specs.by_name["gate"].default is True


def test_the_config_declarations_win_over_the_module(workflow):
    config = {"model": {"model": "models/attention.py:build"}, "hyperparameters": {"heads": DECLARED["heads"]}}
    specs = config_specs(config)
    assert (specs.by_name["heads"].default, specs.by_name["heads"].bounds) == (4, (1, 16))
    assert specs.by_name["gate"].default is True


def test_a_module_whose_declarations_are_no_literal_names_the_line(workflow):
    (workflow / "m.py").write_text("N = 3\nHYPERPARAMETERS = {'a': {'type': 'int', 'default': N}}\n")
    with pytest.raises(CandleInputError, match=r"m.py: line 2: HYPERPARAMETERS must be a literal dict"):
        config_specs({"model": {"model": "m.py:build"}})


def test_a_missing_builder_file_or_module_names_model_model(workflow):
    with pytest.raises(CandleInputError, match=r"model.model: the builder's file nowhere.py does not exist"):
        config_specs({"model": {"model": "nowhere.py:build"}})
    with pytest.raises(CandleInputError, match=r"model.model: module no_such.module not found"):
        config_specs({"model": {"model": "no_such.module:build"}})


def test_a_benchmark_parameter_file_declares_its_keys_with_their_values(tmp_path):
    ini = tmp_path / "toy_default_model.txt"
    ini.write_text(
        "[Global_Params]\nmodel_name = 'toy'\nepochs = 400\nlearning_rate = 0.001\ndense = [500, 100]\n"
        "drop = 0.1\nwarmup = True\noptimizer = 'sgd'\nconv = [[32, 5, 1], [16, 3, 1]]\nbase_lr = None\n"
        "[Monitor_Params]\ntimeout = 3600\nmodel = 'ae'\n"
    )
    specs = {spec.name: spec for spec in benchmark_declarations(ini)}
    assert {name: (spec.type, spec.default) for name, spec in specs.items()} == {
        "model_name": ("str", "toy"),
        "epochs": ("int", 400),
        "learning_rate": ("float", 0.001),
        "dense": ("int_list", [500, 100]),
        "drop": ("float", 0.1),
        "warmup": ("bool", True),
        "optimizer": ("str", "sgd"),
        "conv": ("literal", [[32, 5, 1], [16, 3, 1]]),
        "base_lr": ("literal", None),
    }  # timeout and model stay this project's own
    module = tmp_path / "toy_baseline_keras.py"
    module.write_text("def initialize_parameters(): ...\ndef run(params): ...\n")
    config = {"model": {"model": "candle_benchmark", "benchmark": str(module)}}
    resolved = config_specs(config).resolve(config["model"], {"epochs": 2, "optimizer": "adam"})
    # the benchmark's own defaults replace the built-in ones of the same name
    assert (resolved["epochs"], resolved["optimizer"], resolved["dense"], resolved["drop"]) == (
        2,
        "adam",
        [500, 100],
        0.1,
    )


def test_a_benchmark_without_its_parameter_file_is_an_error(tmp_path):
    module = tmp_path / "toy_baseline_keras.py"
    module.write_text("")
    with pytest.raises(CandleInputError, match=r"model.benchmark_params: no \*_default_model.txt beside"):
        config_specs({"model": {"model": "candle_benchmark", "benchmark": str(module)}})


def test_a_search_over_a_declared_hyperparameter_binds_and_an_undeclared_one_does_not(workflow):
    specs = config_specs({"model": {"model": "models/attention.py:build"}})
    binding = SpaceBinding(parse_space({"heads": [1, 4]}), {}, specs=specs)
    assert binding.overrides({"heads": 4}) == ({"heads": 4}, {})
    with pytest.raises(CandleInputError, match=r"hpo.space.headz: unknown hyperparameter; did you mean 'heads'"):
        SpaceBinding(parse_space({"headz": [1, 4]}), {}, specs=specs)
    with pytest.raises(CandleInputError, match=r"hpo.space.heads: 9 is outside \[1, 8\]"):
        SpaceBinding(parse_space({"heads": [9]}), {}, specs=specs).overrides({"heads": 9})


def test_a_builder_file_is_hashed_into_its_trial_ids(workflow):
    builder = workflow / "models" / "attention.py"
    specs = config_specs({"model": {"model": "models/attention.py:build"}})
    params = specs.resolve({"model": "models/attention.py:build"})
    spec = trial_spec(params, role=HOLDOUT, data="prep")
    expected = hashlib.sha256(builder.read_bytes()).hexdigest()[:16]
    assert spec["code"] == {"models/attention.py": expected}
    literal = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    assert trial_id(spec) == hashlib.sha256(literal.encode()).hexdigest()[:12]
    # the planner's fast hasher gives the same id
    assert TrialIdHasher(params, HOLDOUT)({"heads": 3}, "prep") == trial_id(
        trial_spec({**params, "heads": 3}, role=HOLDOUT, data="prep")
    )
    before = trial_id(spec)
    builtin_before = trial_id(trial_spec(resolve_params(), role=HOLDOUT, data="prep"))
    builder.write_text(BUILDER + "\n# changed\n")
    after = trial_spec(params, role=HOLDOUT, data="prep")
    assert trial_id(after) != before  # its trials are stale
    assert trial_id(trial_spec(resolve_params(), role=HOLDOUT, data="prep")) == builtin_before  # only those


def test_a_command_model_hashes_the_files_its_command_names(workflow):
    (workflow / "train.py").write_text("print('hi')\n")
    params = resolve_params({"model": "command", "command": "python train.py --fast"})
    assert model_code(params) == {"train.py": hashlib.sha256(b"print('hi')\n").hexdigest()[:16]}
    assert model_code(resolve_params({"model": "dense"})) is None


@pytest.mark.parametrize(
    "layer, message",
    [
        ({"model": "command"}, "model.command: model command needs command"),
        ({"model": "candle_benchmark"}, "model.benchmark: model candle_benchmark needs benchmark"),
        ({"command": "python x.py"}, "model.model: command is set, but model is nt3: set model: command or improve"),
    ],
)
def test_out_of_process_models_need_their_command_or_module(layer, message):
    with pytest.raises(CandleInputError) as info:
        resolve_params(layer, where="model")
    assert str(info.value).startswith(message)


def test_settings_of_out_of_process_models_are_absent_unless_set():
    assert "command" not in resolve_params()
    assert resolve_params({"model": "command", "command": "x", "environment": []})["command"] == "x"
    assert "environment" not in resolve_params({"model": "command", "command": "x", "environment": []})


@pytest.mark.parametrize(
    "source, reference, message",
    [
        (
            "def build(params, width):\n    pass\n",
            "m.py:build",
            "build() takes 2 positional parameter(s); it must take 4",
        ),
        ("def build(p, i, o, a):\n    pass\n", "m.py:bild", "no function bild() defined at the top level"),
    ],
)
def test_the_config_check_reads_the_builders_signature_without_importing_it(
    tmp_path, monkeypatch, source, reference, message
):
    from conftest import tiny_config

    from candle_lib.config import validate_config

    (tmp_path / "m.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CandleInputError) as info:
        validate_config(tiny_config(model={"model": reference}))
    assert str(info.value).startswith(f"m.py: config key 'model.model': {message}")


def test_a_builder_with_a_syntax_error_names_the_file_and_line(tmp_path, monkeypatch):
    from conftest import tiny_config

    from candle_lib.config import validate_config

    (tmp_path / "m.py").write_text("def build(p, i, o, a)\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CandleInputError, match=r"^m.py: line 1: Python syntax error: expected ':'"):
        validate_config(tiny_config(model={"model": "m.py:build"}))


def test_a_candle_parameter_file_is_the_layer_under_the_model_section(tmp_path, capsys):
    from conftest import tiny_config

    from candle_lib.config import validate_config

    ini = tmp_path / "nt3_default_model.txt"
    ini.write_text(
        "[Global_Params]\nmodel_name = 'nt3'\nconv = [[8, 10, 1]]\npool = [5]\ndense = [16]\ndrop = 0.25\n"
        "scaling = 'std'\nepochs = 400\ndata_url = 'https://example.org/nt3/'\nval_split = 0.1\n"
    )
    config = tiny_config(parameter_file=str(ini))
    config["model"] = {"epochs": 2, "dense": [4]}
    checked = validate_config(config)
    # the model section wins over the file, the file over the defaults
    assert checked["model"] == {
        "model": "nt3",
        "conv": [8, 10, 1],
        "pool": [5],
        "dense": [4],
        "dropout": 0.25,
        "scaling": "standard",
        "epochs": 2,
    }
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith(f"candle: warning: {ini}: ")
    assert "data_url" in warning[0] and "val_split" in warning[0] and "drop" not in warning[0].split(":", 2)[2]
    with pytest.raises(CandleInputError, match=r"config key 'parameter_file': .*nowhere.txt does not exist"):
        validate_config(tiny_config(parameter_file=str(tmp_path / "nowhere.txt")))


def test_a_conditional_search_over_declared_hyperparameters(workflow):
    from conftest import tiny_config

    from candle_lib.config import validate_config
    from candle_lib.search.methods import plan_search

    space = {"gate": [False, True], "heads": {"values": [1, 3], "when": {"gate": True}}}
    config = validate_config(tiny_config(model={"model": "models/attention.py:build"}, hpo={"space": space}))
    points = [(spec["params"]["gate"], spec["params"]["heads"]) for spec in plan_search(config).trials.values()]
    assert points == [(False, 2), (True, 1), (True, 3)]  # heads keeps the module's default where gate is off
