"""Importing CANDLE *_default_model.txt INI files, and the precedence of parameter layers.

The fixtures in tests/data/ carry the keys of the real CANDLE Benchmarks files (Pilot1 NT3, TC1,
P1B1). Expected dicts are written out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import NT3_DEFAULTS

from candle_lib.errors import CandleInputError
from candle_lib.params.candle_ini import DIFFERS, NO_EFFECT, IgnoredKey, parse_literal, read_candle_ini
from candle_lib.params.layers import parse_overrides, read_params_file, resolve_layers

DATA = Path(__file__).resolve().parents[2] / "data"  # tests/data
NT3_INI = DATA / "nt3_default_model.txt"
TC1_INI = DATA / "tc1_default_model.txt"
P1B1_INI = DATA / "p1b1_default_model.txt"


def write_ini(tmp_path: Path, text: str, name: str = "model.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    "text, expected",
    [
        ("400", 400),
        (" 0.001 ", 0.001),
        ("1e-3", 0.001),
        ("[128, 20, 1, 128, 10, 1]", [128, 20, 1, 128, 10, 1]),
        ("'relu'", "relu"),
        ('"sgd"', "sgd"),
        ("relu", "relu"),
        ("glorot_uniform", "glorot_uniform"),
        ("True", True),
        ("None", None),
        ("''", ""),
    ],
)
def test_parse_literal(text, expected):
    value = parse_literal(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    "text", ["__import__('os')", "__import__('os').system('true')", "open('x')", "1 + 2", "[1, 2", "", "a b"]
)
def test_parse_literal_rejects_expressions(text):
    with pytest.raises(ValueError, match="neither a Python literal"):
        parse_literal(text)


def test_code_in_a_value_is_never_executed(tmp_path):
    marker = tmp_path / "executed"
    path = write_ini(tmp_path, f"[Global_Params]\nepochs = __import__('os').system('touch {marker}')\n")
    with pytest.raises(CandleInputError) as info:
        read_candle_ini(path)
    assert not marker.exists()
    assert str(path) in str(info.value)
    assert "[Global_Params]" in str(info.value)
    assert "epochs" in str(info.value)


# --------------------------------------------------------------------------- the three CANDLE files


NT3_IGNORED = [
    "data_url",
    "train_data",
    "test_data",
    "metrics",
    "classes",
    "output_dir",
    "add_noise",
    "label_noise",
    "noise_correlated",
    "feature_col",
    "feature_threshold",
    "noise_gaussian",
    "std_dev",
    "restart",
    "ckpt_checksum",
]


def test_nt3_file_layer():
    imported = read_candle_ini(NT3_INI)
    assert imported.params == {
        "model": "nt3",
        "conv": [128, 20, 1, 128, 10, 1],
        "dense": [200, 20],
        "activation": "relu",
        "out_activation": "softmax",
        "loss": "auto",
        "optimizer": "sgd",
        "epochs": 400,
        "batch_size": 20,
        "learning_rate": 0.001,
        "dropout": 0.1,
        "pool": [1, 10],
        "timeout": 3600.0,
    }
    assert [key.key for key in imported.ignored] == NT3_IGNORED
    assert imported.ignored[0] == IgnoredKey(
        "Global_Params",
        "data_url",
        "http://ftp.mcs.anl.gov/pub/candle/public/benchmarks/Pilot1/normal-tumor/",
        "the data config chooses the data (source, files, samples, features)",
        NO_EFFECT,
    )
    assert imported.source == str(NT3_INI)


def test_nt3_file_resolves_to_the_nt3_defaults():
    # the project's defaults are CANDLE NT3's, so the file changes nothing
    resolved = resolve_layers(NT3_INI)
    assert resolved.params == {
        "model": "nt3",
        "task": "classification",
        "conv": [128, 20, 1, 128, 10, 1],
        "pool": [1, 10],
        "dense": [200, 20],
        "latent_dim": 2,
        "vae": False,
        "activation": "relu",
        "out_activation": "softmax",
        "dropout": 0.1,
        "input_dropout": 0.0,
        "l2": 0.0,
        "loss": "auto",
        "regression_head": "mean",  # this project's: the regression heads of UQ
        "quantiles": [0.05, 0.5, 0.95],
        "optimizer": "sgd",
        "learning_rate": 0.001,
        "batch_size": 20,
        "epochs": 400,
        "early_stopping": 0,
        "reduce_lr": 0,
        "class_weight": "none",
        "scaling": "maxabs",
        "rng_seed": 7102,
        "timeout": 3600.0,
        "checkpoint_every": 1,
        "jit_compile": False,
        "mixed_precision": False,
        "strategy": "default",
    }
    assert [key.key for key in resolved.ignored] == NT3_IGNORED


def test_tc1_file():
    resolved = resolve_layers(TC1_INI)
    assert resolved.params == {**NT3_DEFAULTS, "model": "tc1"}
    assert [key.key for key in resolved.ignored] == [
        "data_url",
        "train_data",
        "test_data",
        "metrics",
        "classes",
        "feature_subsample",
        "output_dir",
    ]


def test_p1b1_file_with_monitor_section():
    imported = read_candle_ini(P1B1_INI)
    assert imported.params == {
        "model": "p1b1",
        "vae": False,
        "dense": [2000, 600],
        "batch_size": 100,
        "epochs": 100,
        "activation": "relu",
        "loss": "mse",
        "optimizer": "adam",
        "dropout": 0.0,
        "scaling": "minmax",
        "rng_seed": 2017,
        "latent_dim": 2,
        "timeout": 3600.0,  # from [Monitor_Params]
    }
    ignored = {key.key: key for key in imported.ignored}
    assert list(ignored) == [
        "url_p1b1",
        "file_train",
        "file_test",
        "learning_rate",
        "base_lr",
        "noise_factor",
        "validation_split",
        "epsilon_std",
        "initialization",
        "feature_subsample",
        "batch_normalization",
        "alpha_dropout",
        "save_path",
        "solr_root",
    ]
    assert ignored["solr_root"].section == "Monitor_Params"
    assert ignored["learning_rate"].value is None
    assert (
        str(ignored["learning_rate"])
        == "[Global_Params] learning_rate = None is ignored: None leaves it unset, so this project's default applies"
    )
    # learning_rate=None leaves the default
    assert resolve_layers(P1B1_INI).params["learning_rate"] == 0.001


# --------------------------------------------------------------------------- names and values


@pytest.mark.parametrize(
    "line, expected",
    [
        ("drop = 0.25", {"dropout": 0.25}),
        ("out_act = 'sigmoid'", {"out_activation": "sigmoid"}),
        ("activation=relu", {"activation": "relu"}),
        ("optimizer = adam", {"optimizer": "adam"}),
        ("loss = 'categorical_crossentropy'", {"loss": "auto"}),
        ("loss = mean_squared_error", {"loss": "mse"}),
        ("loss = 'mae'", {"loss": "mae"}),
        ("model = 'vae'", {"model": "p1b1", "vae": True}),
        ("model = ae", {"model": "p1b1", "vae": False}),
        ("model = 'dense'", {"model": "dense"}),
        ("model_name = 'tc1'", {"model": "tc1"}),
        ("model_name = 'my_nt3_run'", {}),
        ("conv = [[64, 10, 1], [32, 5, 2]]", {"conv": [64, 10, 1, 32, 5, 2]}),
        ("conv = [64, 10, 1]", {"conv": [64, 10, 1]}),
        ("pool = [2, 5]", {"pool": [2, 5]}),
        ("rng_seed = 1", {"rng_seed": 1}),
        ("timeout = 60", {"timeout": 60.0}),
        ("latent_dim = 8", {"latent_dim": 8}),
        ("early_stopping = 5", {"early_stopping": 5}),
        ("learning_rate = 1e-2", {"learning_rate": 0.01}),
        ("lr = 0.02", {"learning_rate": 0.02}),
        ("scaling = 'std'", {"scaling": "standard"}),
        ("scaling = 'maxabs'", {"scaling": "maxabs"}),
        ("scaling = None", {"scaling": "none"}),
        ("optimizer = 'SGD'", {"optimizer": "sgd"}),
        ("optimizer = 'RMSprop'", {"optimizer": "rmsprop"}),
        ("loss = 'sparse_categorical_crossentropy'", {"loss": "auto"}),
        ("activation = ['tanh', 'tanh']", {"activation": "tanh"}),
        ("early_stop = False", {"early_stopping": 0}),
        ("reduce_lr = False", {"reduce_lr": 0}),
        ("reduce_lr = 4", {"reduce_lr": 4}),
        ("trn_batch_size = 64", {"batch_size": 64}),
    ],
)
def test_key_translation(tmp_path, line, expected):
    imported = read_candle_ini(write_ini(tmp_path, f"[Global_Params]\n{line}\n"))
    assert imported.params == expected
    assert [type(v) for v in imported.params.values()] == [type(v) for v in expected.values()]


def test_a_model_name_that_is_no_family_is_ignored(tmp_path):
    imported = read_candle_ini(write_ini(tmp_path, "[Global_Params]\nmodel_name = 'my_nt3_run'\n"))
    assert imported.ignored == (
        IgnoredKey(
            "Global_Params",
            "model_name",
            "my_nt3_run",
            "names CANDLE's output files; only nt3/tc1/p1b1 select a model family",
            NO_EFFECT,
        ),
    )


def test_unknown_key_names_key_section_and_file(tmp_path):
    path = write_ini(tmp_path, "[Global_Params]\nepochs = 3\n\n[Monitor_Params]\nwarmup_lrate = True\n")
    with pytest.raises(CandleInputError) as info:
        read_candle_ini(path)
    message = str(info.value)
    assert message.startswith(f"{path}: [Monitor_Params]: unknown key 'warmup_lrate'")
    assert "did you mean 'warmup_lr'? " in message
    assert "dropout" in message  # lists the known names


@pytest.mark.parametrize(
    "line, key, value, effect",
    [
        ("add_noise = True", "add_noise", True, DIFFERS),
        ("add_noise = False", "add_noise", False, NO_EFFECT),
        ("batch_normalization = True", "batch_normalization", True, DIFFERS),
        ("feature_subsample = 500", "feature_subsample", 500, DIFFERS),
        ("feature_subsample = 0", "feature_subsample", 0, NO_EFFECT),
        ("initialization = 'he_normal'", "initialization", "he_normal", DIFFERS),
        ("momentum = 0.9", "momentum", 0.9, DIFFERS),
        ("momentum = 0.0", "momentum", 0.0, NO_EFFECT),
        ("early_stop = True", "early_stop", True, DIFFERS),
        ("reduce_lr = True", "reduce_lr", True, DIFFERS),
        ("activation = ['relu', 'softmax']", "activation", ["relu", "softmax"], DIFFERS),
        ("epsilon_std = 1", "epsilon_std", 1, NO_EFFECT),
        ("epsilon_std = 0.5", "epsilon_std", 0.5, DIFFERS),
    ],
)
def test_unimplemented_features_are_ignored_and_differ_unless_off(tmp_path, line, key, value, effect):
    imported = read_candle_ini(write_ini(tmp_path, f"[Global_Params]\n{line}\n"))
    assert imported.params == {}
    assert [(i.section, i.key, i.value, i.effect) for i in imported.ignored] == [("Global_Params", key, value, effect)]


@pytest.mark.parametrize(
    "line, fragment",
    [
        ("epochs = 'ten'", "epochs: 'ten' is not a valid int"),
        ("drop = 1.5", "drop (as dropout): 1.5 is outside [0.0, 0.99]"),
        ("optimizer = 'adagrad'", "optimizer: 'adagrad' is not one of ['sgd', 'adam', 'rmsprop']"),
        ("loss = 'binary_crossentropy'", "loss: 'binary_crossentropy' is not one of ['auto', 'mse', 'mae']"),
        ("model = 'cvae'", "model: 'cvae' is not a model: use a built-in family (nt3, tc1, p1b1, dense)"),
        ("dense = [200, 'x']", "dense: [200, 'x'] is not a valid int_list"),
        (
            "conv = [[64, 10], [32, 5, 1]]",
            "conv: [[64, 10], [32, 5, 1]]: each nested conv layer must be [filters, kernel, stride]",
        ),
        ("vae = true", "vae: 'true' is not a valid bool"),
        ("early_stop = 3", "early_stop: 3: early_stop is True or False"),
        ("scaling = 'minabs'", "scaling: 'minabs' is not one of ['standard', 'minmax', 'maxabs'"),
    ],
)
def test_bad_values_name_the_key(tmp_path, line, fragment):
    path = write_ini(tmp_path, f"[Global_Params]\n{line}\n")
    with pytest.raises(CandleInputError) as info:
        read_candle_ini(path)
    assert str(info.value).startswith(f"{path}: [Global_Params]")
    assert fragment in str(info.value)


def test_two_keys_setting_one_parameter_differently(tmp_path):
    path = write_ini(tmp_path, "[Global_Params]\ndrop = 0.1\ndropout = 0.2\n")
    with pytest.raises(CandleInputError, match="drop and dropout both set dropout, to 0.1 and 0.2"):
        read_candle_ini(path)


def test_two_keys_setting_one_parameter_alike(tmp_path):
    path = write_ini(tmp_path, "[Global_Params]\nmodel_name = 'p1b1'\nmodel = 'ae'\n")
    assert read_candle_ini(path).params == {"model": "p1b1", "vae": False}


def test_an_ignored_key_need_not_parse(tmp_path):
    path = write_ini(tmp_path, "[Global_Params]\ndata_url = http://ftp.mcs.anl.gov/pub/candle/\n")
    imported = read_candle_ini(path)
    assert imported.params == {}
    assert imported.ignored[0].value == "http://ftp.mcs.anl.gov/pub/candle/"


def test_default_section_is_not_merged_into_others(tmp_path):
    path = write_ini(tmp_path, "[DEFAULT]\nepochs = 3\n\n[Global_Params]\nbatch_size = 8\n")
    assert read_candle_ini(path).params == {"epochs": 3, "batch_size": 8}


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("epochs = 3\n", "not a valid CANDLE INI file: File contains no section headers."),
        ("[Global_Params]\nepochs = 3\nepochs = 4\n", "option 'epochs' in section 'Global_Params' already exists"),
    ],
)
def test_malformed_ini(tmp_path, text, fragment):
    path = write_ini(tmp_path, text)
    with pytest.raises(CandleInputError) as info:
        read_candle_ini(path)
    assert str(info.value).startswith(f"{path}: ")
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(CandleInputError, match="cannot read CANDLE parameter file: No such file or directory"):
        read_candle_ini(tmp_path / "absent.txt")


# --------------------------------------------------------------------------- other file types and overrides


def test_yaml_params_file(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("epochs: 12\ndrop: 0.3\nconv: [16, 5, 1]\npool: [2]\n")
    assert read_params_file(path).params == {"epochs": 12, "dropout": 0.3, "conv": [16, 5, 1], "pool": [2]}


def test_json_params_file_and_a_trial_spec(tmp_path):
    plain = tmp_path / "p.json"
    plain.write_text(json.dumps({"epochs": 7, "optimizer": "adam"}))
    assert read_params_file(plain).params == {"epochs": 7, "optimizer": "adam"}
    spec = tmp_path / "params.json"
    spec.write_text(json.dumps({"params": NT3_DEFAULTS, "role": {"kind": "holdout"}, "data": "prep-00000000"}))
    assert resolve_layers(spec).params == NT3_DEFAULTS


@pytest.mark.parametrize(
    "name, text, fragment",
    [
        ("p.yaml", "epochs: 3\nfoo: 1\n", "unknown key 'foo'"),
        ("p.yaml", "- 1\n- 2\n", "expected a mapping of hyperparameters, got list"),
        ("p.yaml", "epochs: [1\n", "not valid YAML"),
        ("p.json", '{"epochs": }', "not valid JSON"),
        ("p.toml", "epochs = 3", "unknown parameter file type '.toml'"),
    ],
)
def test_bad_params_files(tmp_path, name, text, fragment):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(CandleInputError) as info:
        read_params_file(path)
    assert str(info.value).startswith(f"{path}: ")
    assert fragment in str(info.value)


def test_overrides_follow_the_ini_rules():
    layer = parse_overrides(
        ["epochs=5", "conv=[4, 5, 1]", "activation=tanh", "drop=0.2", "learning_rate = 0.01", "data_url=x"]
    )
    assert layer.params == {"epochs": 5, "conv": [4, 5, 1], "activation": "tanh", "dropout": 0.2, "learning_rate": 0.01}
    assert layer.ignored == (
        IgnoredKey("", "data_url", "x", "the data config chooses the data (source, files, samples, features)"),
    )
    assert layer.source == "--set"


@pytest.mark.parametrize(
    "items, message",
    [
        (["epochs"], "--set: expected key=value, got 'epochs'"),
        (["=3"], "--set: expected key=value, got '=3'"),
        (["epochs=__import__('os')"], "--set: epochs: \"__import__('os')\" is neither a Python literal"),
        (["epoch=3"], "--set: unknown key 'epoch'"),
        (["epochs=3", "epochs=4"], "--set: epochs and epochs both set epochs, to 3 and 4"),
    ],
)
def test_bad_overrides(items, message):
    with pytest.raises(CandleInputError) as info:
        parse_overrides(items)
    assert str(info.value).startswith(message)


# --------------------------------------------------------------------------- precedence


def test_command_line_over_file_over_defaults(tmp_path):
    path = write_ini(tmp_path, "[Global_Params]\nepochs = 50\nlearning_rate = 0.01\ndrop = 0.3\n")
    resolved = resolve_layers(path, ["epochs=5", "dropout=0.4"])
    assert resolved.params == {**NT3_DEFAULTS, "epochs": 5, "learning_rate": 0.01, "dropout": 0.4}
    assert resolve_layers(path).params == {**NT3_DEFAULTS, "epochs": 50, "learning_rate": 0.01, "dropout": 0.3}
    assert resolve_layers(None, ["epochs=5"]).params == {**NT3_DEFAULTS, "epochs": 5}
    assert resolve_layers().params == NT3_DEFAULTS


def test_ignored_keys_of_every_layer_are_reported(tmp_path):
    path = write_ini(tmp_path, "[Global_Params]\nclasses = 2\n")
    resolved = resolve_layers(path, ["metrics=accuracy"])
    assert [(key.section, key.key) for key in resolved.ignored] == [("Global_Params", "classes"), ("", "metrics")]
