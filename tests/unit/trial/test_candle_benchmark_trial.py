"""Trials of an unmodified CANDLE benchmark module (model: candle_benchmark), run by
candle_benchmark_runner.py as CANDLE Supervisor's model runner runs one: the search's values
override the defaults of its parameter file, the objective is the History's last val_loss."""

from __future__ import annotations

import ast
import json
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from candle_lib.params.declared import benchmark_declarations
from candle_lib.params.specs import BUILTIN_SPECS
from candle_lib.trial.spec import HOLDOUT, trial_spec

REPO = Path(__file__).resolve().parents[3]
RUNNER = REPO / "candle_lib" / "trial" / "candle_benchmark_runner.py"

DEFAULTS = """
[Global_Params]
model_name = 'rec'
dense = [8, 4]
my_units = 3
epochs = 2
learning_rate = 0.5
model = 'ignored'
"""

# records what it is given; its History is a plain object with a history dict, as Keras' is
RECORDING = """
import json, os, sys
import rec_helper

def initialize_parameters():
    return {"model_name": "rec", "dense": [8, 4], "my_units": 3, "epochs": 2, "learning_rate": 0.5,
            "only_mine": "kept", "argv": list(sys.argv), "cwd": os.getcwd()}

class History:
    def __init__(self, history):
        self.history = history

def run(params):
    json.dump(params, open("received.json", "w"))
    return History(rec_helper.HISTORIES[os.environ.get("REC_CASE", "ok")])
"""

HELPER = """
HISTORIES = {
    "ok": {"loss": [1.0, 0.5], "val_loss": [0.9, 0.7], "val_acc": [0.5, 0.75]},
    "nan": {"loss": [1.0, float("nan")], "val_loss": [0.9, float("nan")]},
    "no_val_loss": {"loss": [1.0, 0.5]},
}
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = tmp_path / "bench" / "rec_baseline_keras2.py"
    module.parent.mkdir()
    module.write_text(textwrap.dedent(RECORDING))
    (module.parent / "rec_helper.py").write_text(textwrap.dedent(HELPER))
    (module.parent / "rec_default_model.txt").write_text(textwrap.dedent(DEFAULTS))
    return tmp_path


def benchmark_spec(benchmark: str, **changes) -> dict:
    specs = BUILTIN_SPECS.with_declared(benchmark_declarations(Path(benchmark).with_name(_params_name(benchmark))))
    layer = {"model": "candle_benchmark", "benchmark": benchmark, "timeout": 120.0} | changes
    return trial_spec(specs.resolve(layer), role=HOLDOUT, data="prep-00000000")


def _params_name(benchmark: str) -> str:
    return Path(benchmark).name.split("_")[0] + "_default_model.txt"


def run(prepared, out: Path, spec: dict) -> dict:
    from candle_lib.trial.run import run_trial

    return run_trial(prepared, spec, out, threads=1, log=lambda message: None)


def test_the_benchmark_gets_the_trials_values_of_its_own_keys(tiny_prepared, workdir):
    spec = benchmark_spec("bench/rec_baseline_keras2.py", my_units=9, dense=[5])
    result = run(tiny_prepared, workdir / "trial", spec)
    assert result["status"] == "ok", result["failure_reason"]
    trial = (workdir / "trial").absolute()
    received = json.loads((trial / "received.json").read_text())
    assert received == {
        "model_name": "rec",
        "dense": [5],  # the trial's values of the keys of rec_default_model.txt ...
        "my_units": 9,
        "epochs": 2,
        "learning_rate": 0.5,
        "only_mine": "kept",  # ... and what initialize_parameters() gave for the others
        "argv": [str(workdir / "bench" / "rec_baseline_keras2.py")],
        "cwd": str(trial),
        "output_dir": f"{trial}/command_output",
        "save_path": f"{trial}/command_output",
    }


def test_the_objective_is_the_last_val_loss_of_the_history(tiny_prepared, workdir):
    result = run(tiny_prepared, workdir / "trial", benchmark_spec("bench/rec_baseline_keras2.py"))
    assert result["objective"] == {"metric": "val_loss", "direction": "minimize", "value": 0.7}
    assert result["metrics"] == {"train_loss": 0.5, "val_loss": 0.7, "val_acc": 0.75}
    history = pd.read_csv(workdir / "trial" / "history.csv")
    assert history.to_dict("list") == {
        "epoch": [1, 2],
        "loss": [1.0, 0.5],
        "val_loss": [0.9, 0.7],
        "val_acc": [0.5, 0.75],
    }
    assert result["epochs_run"] == 2
    assert len(pd.read_parquet(workdir / "trial" / "predictions.parquet")) == 0  # a benchmark predicts nothing here


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("nan", "the objective val_loss is nan"),
        ("no_val_loss", "the command failed (exit status 2); last lines of stderr:\n"),
    ],
)
def test_a_bad_history_fails_the_trial(tiny_prepared, workdir, monkeypatch, case, reason):
    monkeypatch.setenv("REC_CASE", case)
    result = run(tiny_prepared, workdir / "trial", benchmark_spec("bench/rec_baseline_keras2.py"))
    assert result["status"] == "failed"
    assert result["failure_reason"].startswith(reason)
    if case == "no_val_loss":
        assert result["failure_reason"].endswith("the History has no val_loss (it has ['loss'])")


def test_an_error_in_the_benchmark_fails_the_trial_with_its_traceback(tiny_prepared, workdir):
    module = workdir / "bench" / "rec_baseline_keras2.py"
    module.write_text(module.read_text() + "\ndef run(params):\n    raise ValueError('boom in run')\n")
    result = run(tiny_prepared, workdir / "trial", benchmark_spec("bench/rec_baseline_keras2.py"))
    assert result["status"] == "failed"
    assert result["failure_reason"].startswith("the command failed (exit status 1)")
    assert result["failure_reason"].endswith("ValueError: boom in run")


def test_the_runner_imports_only_the_standard_library():
    tree = ast.parse(RUNNER.read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0
    }
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported


def test_the_example_toy_benchmark_trains_under_keras(tiny_prepared, workdir):
    example = REPO / "config" / "examples" / "models" / "benchmark_module" / "toy_baseline_keras.py"
    result = run(tiny_prepared, workdir / "trial", benchmark_spec(str(example), epochs=2, dense=[4]))
    assert result["status"] == "ok", result["failure_reason"]
    history = json.loads((workdir / "trial" / "command_output" / "history.json").read_text())
    assert len(history["val_loss"]) == 2
    assert result["objective"]["value"] == pytest.approx(history["val_loss"][-1], rel=1e-12)
