"""Trials of an IMPROVE-style model script (model: improve): hyperparameters and the input/output
directories on its command line, its val_scores.json read back under this project's names."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from candle_lib.params.declared import parse_declarations
from candle_lib.params.specs import BUILTIN_SPECS, resolve_params
from candle_lib.trial.spec import FINAL, HOLDOUT, trial_spec

REPO = Path(__file__).resolve().parents[3]
SPECS = BUILTIN_SPECS.with_declared(
    parse_declarations({"l2_penalty": {"type": "float", "default": 1.0}}, source="test", where="hyperparameters")
)

# an IMPROVE-style script that records its command line and writes fixed scores
RECORDING = """
import argparse, json, os, sys
parser = argparse.ArgumentParser()
for name in ("input_dir", "output_dir"):
    parser.add_argument(f"--{name}", required=True)
parser.add_argument("--epochs", type=int)
parser.add_argument("--batch_size", type=int)
parser.add_argument("--learning_rate", type=float)
parser.add_argument("--l2_penalty", type=float)
args = parser.parse_args()
json.dump({"argv": sys.argv[1:], "inputs": sorted(os.listdir(args.input_dir))}, open("recorded.json", "w"))
scores = {"val_loss": 0.25, "mse": 0.5, "r2": 0.1, "pcc": None}
json.dump(scores, open(os.path.join(args.output_dir, "val_scores.json"), "w"))
"""


def improve_spec(command: str, role=HOLDOUT, **changes) -> dict:
    layer = {"model": "improve", "command": command, "scaling": "standard", "timeout": 60.0} | changes
    return trial_spec(resolve_params(layer, specs=SPECS), role=role, data="prep-00000000")


def run(prepared, out: Path, spec: dict) -> dict:
    from candle_lib.trial.run import run_trial

    return run_trial(prepared, spec, out, threads=1, log=lambda message: None)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train_improve.py").write_text(textwrap.dedent(RECORDING))
    return tmp_path


def test_the_script_gets_its_hyperparameters_and_directories_on_the_command_line(tiny_prepared, workdir):
    spec = improve_spec("python train_improve.py", epochs=5, batch_size=8, learning_rate=0.01, l2_penalty=2.5)
    result = run(tiny_prepared, workdir / "trial", spec)
    trial = workdir / "trial"
    recorded = json.loads((trial / "recorded.json").read_text())  # written in its current directory
    assert recorded["argv"] == [
        "--epochs", "5", "--batch_size", "8", "--learning_rate", "0.01", "--l2_penalty", "2.5",
        "--input_dir", f"{trial}/command_input", "--output_dir", f"{trial}/command_output",
    ]  # fmt: skip
    assert recorded["inputs"] == [
        "params.json", "rows.csv", "task.json", "x_eval.npy", "x_predict.npy", "x_train.npy", "y_eval.npy", "y_train.npy"
    ]  # fmt: skip
    # val_scores.json under this project's names; null kept as null; no predictions: nothing scored
    assert result["metrics"] == {"val_loss": 0.25, "val_mse": 0.5, "val_r2": 0.1, "val_pcc": None}
    assert result["status"] == "ok" and result["objective"]["value"] == 0.25


def test_scores_of_a_final_model_are_named_for_the_test_split(tiny_prepared, workdir):
    result = run(tiny_prepared, workdir / "trial", improve_spec("python train_improve.py", role=FINAL))
    assert result["metrics"] == {"test_loss": 0.25, "test_mse": 0.5, "test_r2": 0.1, "test_pcc": None}
    assert result["objective"] == {"metric": "test_loss", "direction": "minimize", "value": 0.25}


def test_a_script_without_val_scores_fails_the_trial(tiny_prepared, workdir):
    (workdir / "silent.py").write_text("import sys\nprint('no scores today', file=sys.stderr)\n")
    result = run(tiny_prepared, workdir / "trial", improve_spec("python silent.py"))
    assert result["status"] == "failed"
    assert result["failure_reason"] == (
        "the command wrote no command_output/val_scores.json; last lines of stderr:\nno scores today"
    )


def test_the_example_improve_script_scores_agree_with_the_trials(tiny_prepared, workdir):
    example = REPO / "config" / "examples" / "models" / "improve_style_train.py"
    result = run(tiny_prepared, workdir / "trial", improve_spec(f"python {example}", l2_penalty=10.0))
    assert result["status"] == "ok", result["failure_reason"]
    metrics = result["metrics"]
    # its own accuracy ("acc" -> val_acc) and the trial's scoring of its predictions agree
    assert metrics["val_acc"] == pytest.approx(metrics["val_accuracy"], abs=1e-12)
    assert 0.0 < metrics["val_loss"] < 10.0
