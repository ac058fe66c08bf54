"""``candle params --config``: a workflow config's model section as the base layer, the
hyperparameters its model declares (config section, builder module), each shown with who declared
it and which layer set it, and the one warning line of ignored CANDLE keys."""

from __future__ import annotations

import json

import pytest
from conftest import NT3_DEFAULTS, tiny_config, write_config

from candle_lib.cli import commands as cli

MODULE = '''"""A builder of these tests; read for its HYPERPARAMETERS, never imported here."""

HYPERPARAMETERS = {
    "gate": {"type": "str", "default": "softmax", "choices": ["softmax", "sigmoid"], "help": "how features are weighted"},
}


def build(params, input_width, output_width, output_activation):
    raise AssertionError("not called by candle params")
'''

INI = """# a CANDLE-style file for the model of these tests
[Global_Params]
data_url = 'http://example.org/data/'
attention_units = 24
drop = 0.3
momentum = 0.9

[Monitor_Params]
timeout = 120
"""


@pytest.fixture
def study(tmp_path, monkeypatch):
    """A config whose model is a builder file with one declared hyperparameter (gate), plus one
    declared in the config (attention_units), and a CANDLE INI file; cwd is its folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_model.py").write_text(MODULE)
    (tmp_path / "mine_default_model.txt").write_text(INI)
    config = tiny_config(
        hyperparameters={
            "attention_units": {"type": "int", "default": 16, "range": [1, 512], "help": "units of the gate"}
        }
    )
    config["model"].update({"model": "my_model.py:build", "attention_units": 32, "epochs": 4})
    write_config(tmp_path / "config.yaml", config)
    return tmp_path


def test_params_with_a_config(study, capsys):
    argv = ["params", "--config", "config.yaml", "--params", "mine_default_model.txt", "--set", "gate=sigmoid"]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    params = json.loads(out)
    assert params == {
        **NT3_DEFAULTS,
        # the config's model section (tiny_config's, then this test's)
        "model": "my_model.py:build",
        "conv": [4, 10, 1],
        "pool": [5],
        "dense": [8],
        "batch_size": 16,
        "epochs": 4,
        "optimizer": "adam",
        "scaling": "standard",
        # the INI file over it, then --set
        "attention_units": 24,
        "dropout": 0.3,
        "timeout": 120.0,
        "gate": "sigmoid",
    }
    lines = err.splitlines()
    header, rows, warning = lines[0], lines[1:-1], lines[-1]
    assert header.split() == ["hyperparameter", "value", "declared", "by", "set", "by", "help"]
    assert [row.split()[0] for row in rows] == list(params)
    assert [
        " ".join(row.split())
        for row in rows
        if row.split()[0] in ("gate", "epochs", "dropout", "l2", "attention_units")
    ] == [
        "dropout 0.3 built-in mine_default_model.txt dropout rate after each dense layer (0 = none)",
        "l2 0.0 built-in default L2 weight decay on dense/conv kernels (0 = none)",
        "epochs 4 built-in config.yaml (model) maximum number of epochs",
        'gate "sigmoid" my_model.py --set how features are weighted',
        "attention_units 24 the config's hyperparameters mine_default_model.txt units of the gate",
    ]
    assert warning == (
        "candle: warning: 2 CANDLE keys ignored (no effect here: data_url; "
        "not implemented here, so the training differs from CANDLE's: momentum=0.9)"
    )


def test_the_table_columns_line_up(study, capsys):
    assert cli.main(["params", "--config", "config.yaml"]) == 0
    rows = capsys.readouterr().err.splitlines()
    starts = {row.index("built-in") for row in rows[1:] if " built-in " in row}
    assert starts == {rows[0].index("declared by")}


def test_without_a_config_a_declared_key_is_unknown(study, capsys):
    assert cli.main(["params", "--params", "mine_default_model.txt"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("candle: error: mine_default_model.txt: [Global_Params]: unknown key 'attention_units': ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["params", "--config", "config.yaml", "--set", "gate=tanh"],
            "candle: error: --set: gate: 'tanh' is not one of ['softmax', 'sigmoid']",
        ),
        (
            ["params", "--config", "config.yaml", "--set", "attention_unit=3"],
            "candle: error: --set: unknown key 'attention_unit': ",
        ),
        (["params", "--config", "absent.yaml"], "candle: error: absent.yaml: no such config file"),
    ],
)
def test_bad_input_with_a_config(study, capsys, argv, message):
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_a_typo_under_a_config_suggests_the_declared_name(study, capsys):
    assert cli.main(["params", "--config", "config.yaml", "--set", "attention_unit=3"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'attention_units'? " in err
    assert "; declared for your model: attention_units, gate; " in err


def test_without_a_config_no_table(capsys):
    assert cli.main(["params", "--set", "add_noise=True"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == NT3_DEFAULTS
    assert err == (
        "candle: warning: 1 CANDLE key ignored (not implemented here, so the training differs from CANDLE's: "
        "add_noise=True)\n"
    )
